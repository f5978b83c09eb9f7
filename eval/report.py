"""The eval report: one self-contained HTML page (inline SVG, no plotting library, no
script) from report.json's dict, and the summary table printed by `tutor eval` (rich).

Sections: per-metric bars (tutor beside baseline, the difference's 95% bootstrap interval
as a whisker on a zero line), per-stage and per-part breakdowns, the support scorer's
check on hand labels (score distributions of both classes and the thresholds), and the
worst answers with the sources they cite.
"""

from __future__ import annotations

from html import escape

from rich.table import Table

TUTOR_COLOUR, BASELINE_COLOUR = "#0f766e", "#9ca3af"
SHORT = {"hit_at_5": "recall@5", "recall_at_5": "doc recall@5", "mrr": "MRR", "ndcg_at_10": "nDCG@10",
         "key_fact_recall": "key-fact recall", "groundedness": "groundedness",
         "citation_validity": "citation validity", "citation_precision": "citation precision",
         "refusal_accuracy": "refusal accuracy", "false_refusal": "false-refusal rate", "held_back": "held back (tutor)",
         "judge_groundedness": "judge groundedness", "judge_p_yes": "judge mean P(yes)",
         "prompt_fact_coverage": "prompt key-fact coverage", "malformed": "malformed answers",
         "next_step": "next step right"}
WORST = 8


def _fmt(value) -> str:
    return "N/A" if value is None else f"{value:.3f}"


def _mean(aggregates: dict, name: str):
    entry = aggregates.get(name)
    return entry["mean"] if entry else None


def _ci(diff: dict | None) -> str:
    if not diff:
        return "N/A"
    return f"{diff['diff']:+.3f} [{diff['lo']:+.3f}, {diff['hi']:+.3f}]"


# -- terminal -----------------------------------------------------------------------------

def summary_table(report: dict, names=None) -> Table:
    from eval.metrics import SUMMARY

    tutor, baseline = report["metrics"]["tutor"], report["metrics"]["baseline"]
    diffs = report["differences"]
    table = Table(title=f"tutor eval ({report['mode']}, {report['items']['total']} items, "
                        f"backend {report['backend']})")
    table.add_column("metric")
    table.add_column("tutor", justify="right")
    table.add_column("n", justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("tutor - baseline [95% CI]", justify="right")
    for name in names or SUMMARY:
        t, d = tutor.get(name), diffs.get(name)
        if d:  # both columns over the same (paired) items, so they match the difference
            table.add_row(SHORT[name], _fmt(d["a"]), str(d["n"]), _fmt(d["b"]), _ci(d))
        else:
            table.add_row(SHORT[name], _fmt(t and t["mean"]), str(t["n"] if t else 0),
                          _fmt(_mean(baseline, name)) if report["options"]["baseline"] else "-", "N/A")
    table.caption = ("n: items the metric applies to; with a baseline, both columns are means over "
                     "the items where both have a value (paired)") if diffs else None
    return table


# -- SVG ----------------------------------------------------------------------------------

def bars_svg(report: dict) -> str:
    """One row per metric: tutor and baseline bars on 0..1, and the difference's interval."""
    from eval.metrics import LOWER_IS_BETTER, METRICS

    tutor, baseline = report["metrics"]["tutor"], report["metrics"]["baseline"]
    names = [n for n in METRICS if n in tutor or n in baseline]
    row, left, width, dleft, dwidth = 34, 150, 300, 500, 240
    height = row * len(names) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{dleft + dwidth + 20}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<text x="{left}" y="14">0</text><text x="{left + width - 8}" y="14">1</text>',
             f'<text x="{dleft}" y="14">tutor - baseline (95% CI), -1 .. +1</text>',
             f'<line x1="{dleft + dwidth / 2}" y1="20" x2="{dleft + dwidth / 2}" y2="{height - 10}" stroke="#444"/>']
    for i, name in enumerate(names):
        y = 24 + i * row
        label = SHORT[name] + (" (lower is better)" if name in LOWER_IS_BETTER else "")
        parts.append(f'<text x="0" y="{y + 14}">{escape(label)}</text>')
        for j, (agg, colour) in enumerate(((tutor, TUTOR_COLOUR), (baseline, BASELINE_COLOUR))):
            value = _mean(agg, name)
            if value is None:
                continue
            parts.append(f'<rect x="{left}" y="{y + j * 12}" width="{value * width:.1f}" height="11" fill="{colour}">'
                         f'<title>{"tutor" if j == 0 else "baseline"} {value:.3f}</title></rect>')
            parts.append(f'<text x="{left + value * width + 4:.1f}" y="{y + j * 12 + 10}" font-size="10">{value:.2f}</text>')
        diff = report["differences"].get(name)
        if diff:
            def x(v):
                return dleft + dwidth / 2 + max(-1.0, min(1.0, v)) * dwidth / 2
            cy = y + 11
            parts.append(f'<line x1="{x(diff["lo"]):.1f}" y1="{cy}" x2="{x(diff["hi"]):.1f}" y2="{cy}" '
                         f'stroke="#111" stroke-width="2"/>')
            parts.append(f'<circle cx="{x(diff["diff"]):.1f}" cy="{cy}" r="4" fill="#b91c1c">'
                         f'<title>{_ci(diff)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def histogram_svg(scores: list[float], labels: list[bool], thresholds: dict[str, float]) -> str:
    """Support scores of supported (up) and unsupported (down) labelled sentences, 20 bins
    on 0..1, with vertical lines at the given thresholds."""
    bins, width, half = 20, 500, 80
    up, down = [0] * bins, [0] * bins
    for s, lab in zip(scores, labels):
        (up if lab else down)[min(bins - 1, max(0, int(s * bins)))] += 1
    top = max(up + down + [1])
    bw = width / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 160}" height="{2 * half + 40}" '
             f'font-family="sans-serif" font-size="11">',
             f'<line x1="0" y1="{half + 10}" x2="{width}" y2="{half + 10}" stroke="#444"/>']
    for i in range(bins):
        h_up, h_down = up[i] / top * half, down[i] / top * half
        parts.append(f'<rect x="{i * bw + 1:.1f}" y="{half + 10 - h_up:.1f}" width="{bw - 2:.1f}" height="{h_up:.1f}" '
                     f'fill="{TUTOR_COLOUR}"><title>supported {up[i]}</title></rect>')
        parts.append(f'<rect x="{i * bw + 1:.1f}" y="{half + 10}" width="{bw - 2:.1f}" height="{h_down:.1f}" '
                     f'fill="#b91c1c"><title>unsupported {down[i]}</title></rect>')
    for k, (name, t) in enumerate(thresholds.items()):
        parts.append(f'<line x1="{t * width:.1f}" y1="0" x2="{t * width:.1f}" y2="{2 * half + 20}" '
                     f'stroke="#111" stroke-dasharray="{4 + 3 * k},3"/>')
        parts.append(f'<text x="{width + 8}" y="{16 + 14 * k}">{escape(name)} {t:.3f}</text>')
    parts.append(f'<text x="{width + 8}" y="{half}" fill="{TUTOR_COLOUR}">supported</text>'
                 f'<text x="{width + 8}" y="{half + 30}" fill="#b91c1c">unsupported</text>'
                 f'<text x="0" y="{2 * half + 36}">0</text><text x="{width - 8}" y="{2 * half + 36}">1</text></svg>')
    return "".join(parts)


# -- HTML ---------------------------------------------------------------------------------

def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _breakdown(report: dict, key: str) -> str:
    from eval.metrics import METRICS

    tutor, baseline = report[key]["tutor"], report[key]["baseline"]
    names = [n for n in METRICS if any(n in g for g in tutor.values())]
    rows = []
    for group in tutor:
        cells = [escape(group)]
        for n in names:
            t, b = _mean(tutor[group], n), _mean(baseline.get(group, {}), n)
            cells.append(_fmt(t) + (f" <span class=b>/ {_fmt(b)}</span>" if baseline else ""))
        rows.append(cells)
    return _table([key.removeprefix("by_")] + [SHORT[n] for n in names], rows)


def _worst(report: dict) -> str:
    baseline = {r["id"]: r for r in report["records"]["baseline"]}
    answered = [r for r in report["records"]["tutor"] if r["kind"] != "unanswerable"]

    def badness(r):
        m = r["metrics"]
        g = m.get("groundedness")
        return ((0 if r["refused"] else 1), g if g is not None else 0.0, m.get("key_fact_recall") or 0.0)

    out = []
    for r in sorted(answered, key=badness)[:WORST]:
        m = r["metrics"]
        sentences = "".join(f'<li class="{"ok" if s["supported"] else "bad"}">{escape(s["sentence"])} '
                            f'<small>support {s["score"]:.2f}'
                            + (f', judge {s["judge_p_yes"]:.2f}' if "judge_p_yes" in s else "")
                            + "</small></li>" for s in r["sentences"])
        sentences += "".join(f'<li class="cut">held back: {escape(s)}</li>' for s in r.get("held_back", []))
        sources = "".join(f"<li>[{s['n']}] <b>{escape(s['chunk_id'])}</b> {escape(s['title'])}<br>"
                          f"<small>{escape(s.get('text', '')[:600])}</small></li>" for s in r.get("sources", []))
        b = baseline.get(r["id"])
        out.append(
            f"<div class=item><h3>{escape(r['id'])}: {escape(r['question'])}</h3>"
            f"<p><small>understood as: {escape(r['standalone'])} · refused {r['refused']} · groundedness "
            f"{_fmt(m.get('groundedness'))} · key facts {_fmt(m.get('key_fact_recall'))} · retrieved docs "
            f"{escape(', '.join(dict.fromkeys(r['ranked_docs'][:4])))}</small></p>"
            f"<p>{escape(r['answer'])}</p><ul>{sentences}</ul><p>Sources cited:</p><ul>{sources or '<li>none</li>'}</ul>"
            + (f"<details><summary>baseline answer (groundedness {_fmt(b['metrics'].get('groundedness'))})</summary>"
               f"<p>{escape(b['answer'])}</p></details>" if b else "") + "</div>")
    return "".join(out)


def write_html(report: dict) -> str:
    scorer = report["scorer"]
    thresholds = {"current": scorer["threshold"], "calibrated": scorer["calibrated_threshold"]}
    from eval.metrics import METRICS

    legend = "".join(f"<li><b>{escape(SHORT[n])}</b>: {escape(d.split(': ', 1)[-1])}</li>" for n, d in METRICS.items())
    summary_rows = []
    for n in METRICS:
        t = report["metrics"]["tutor"].get(n)
        if not t:
            continue
        summary_rows.append([escape(SHORT[n]), _fmt(t["mean"]), str(t["n"]),
                             _fmt(_mean(report["metrics"]["baseline"], n)), _ci(report["differences"].get(n))])
    gates = ""
    if report.get("thresholds"):
        gates = "<h2>Thresholds (eval/thresholds.yaml)</h2>" + _table(
            ["key", "metric", "kind", "bound", "value", "ok"],
            [[escape(r["key"]), escape(r["metric"]), r["kind"], str(r["bound"]), _fmt(r["value"]),
              "yes" if r["ok"] else "<b>NO</b>"] for r in report["thresholds"]])
    quiz = report.get("quiz", {})
    judge = report.get("judge_labels")
    wrong = "".join(f"<li>{'supported' if w['supported'] else 'unsupported'} ({escape(w['why'])}), score "
                    f"{w['score']:.2f}: {escape(w['sentence'])}</li>" for w in scorer["misclassified"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Roadmap Tutor eval {escape(report['created'])}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #111; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}
th, td {{ border: 1px solid #ddd; padding: 3px 8px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.b {{ color: #6b7280; }} .ok {{ color: #065f46; }} .bad {{ color: #b91c1c; }} .cut {{ color: #9ca3af; text-decoration: line-through; }}
.item {{ border-top: 1px solid #ddd; margin-top: 1em; }}
small {{ color: #555; }}
</style></head><body>
<h1>Roadmap Tutor eval</h1>
<p>{escape(report['created'])} · mode <b>{report['mode']}</b> · backend {escape(str(report['backend']))} ·
index {escape(str(report['index_version']))} · {report['items']['total']} items ({report['items']['answerable']}
answerable, {report['items']['unanswerable']} unanswerable, {report['items']['multi_turn']} multi-turn) · seed
{report['options']['seed']}, {report['options']['resamples']} paired bootstrap resamples · {report['seconds']} s</p>
<h2>Metrics</h2>
{_table(["metric", "tutor", "n", "baseline", "tutor - baseline [95% CI]"], summary_rows)}
<p><span style="color:{TUTOR_COLOUR}">■ tutor</span> <span style="color:{BASELINE_COLOUR}">■ baseline</span>;
right: the mean paired difference (dot) and its 95% bootstrap interval.</p>
{bars_svg(report)}
<ul>{legend}</ul>
{gates}
<h2>Support scorer on hand labels (eval/gold/support_labels.yaml)</h2>
<p>{scorer['n']} labelled sentences ({scorer['n_supported']} supported). Balanced accuracy at the current
SUPPORT_THRESHOLD {scorer['threshold']}: <b>{scorer['balanced_accuracy']:.3f}</b>; best on these labels
{scorer['calibrated_balanced_accuracy']:.3f} at <b>{scorer['calibrated_threshold']}</b>.</p>
{histogram_svg(scorer['scores'], scorer['labels'], thresholds)}
<details><summary>misclassified at the current threshold ({len(scorer['misclassified'])})</summary><ul>{wrong}</ul></details>
{f"<p>LLM judge on the same labels: balanced accuracy {judge['balanced_accuracy_at_0_5']:.3f} at P(yes) 0.5; best {judge['calibrated_balanced_accuracy']:.3f} at {judge['calibrated_threshold']}.</p>" if judge else ""}
<h2>Quizzes</h2>
<p>{escape(quiz.get('note', '')) or escape(str({k: v for k, v in quiz.items()}))}</p>
<h2>By stage <small>(tutor / baseline)</small></h2>
{_breakdown(report, "by_stage")}
<h2>By part of the corpus</h2>
{_breakdown(report, "by_part")}
<h2>By kind of item</h2>
{_breakdown(report, "by_kind")}
<h2>Worst answers</h2>
{_worst(report)}
</body></html>
"""
