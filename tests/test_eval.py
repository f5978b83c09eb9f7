"""The eval suite: each metric on tiny hand-made inputs, the paired bootstrap on a known
case, the baseline's mapping of roadmap.yaml pieces to document ids, the judge's reading of
log-probabilities, the hand-labelled support set, and `tutor eval --fast` as a user runs it
(a subprocess) on the real corpus index: passing with eval/thresholds.yaml, failing with an
impossible threshold."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eval import metrics as M
from eval.baseline import docs_of_span, roadmap_spans
from eval.judge import p_yes, top_logprobs
from eval.runner import check_thresholds, earlier_baseline, kind_of, load_labels, same_items, scorer_check, stratified
from tutor.errors import ConfigError
from tutor.support import SUPPORT_THRESHOLD

TUTOR = str(Path(sys.executable).with_name("tutor"))


# -- retrieval ------------------------------------------------------------------------------

def test_doc_id():
    assert M.doc_id("stage-2#3") == "stage-2"
    assert M.doc_id("faq-kaggle") == "faq-kaggle"


def test_hit_and_recall_at_k():
    ranked = ["a", "b", "a", "c", "d", "e"]
    assert M.hit_at_k(ranked, ["c"], 5) == 1.0
    assert M.hit_at_k(ranked, ["e"], 5) == 0.0  # rank 6
    assert M.recall_at_k(ranked, ["a", "c", "e"], 5) == pytest.approx(2 / 3)
    assert M.recall_at_k([["x", "a"], "b"], ["a"], 1) == 1.0  # one chunk mapping to several docs


def test_reciprocal_rank():
    assert M.reciprocal_rank(["x", "y", "a"], ["a", "b"]) == pytest.approx(1 / 3)
    assert M.reciprocal_rank(["x", "y"], ["a"]) == 0.0
    assert M.reciprocal_rank([["x"], ["y", "a"]], ["a"]) == 0.5


def test_ndcg_counts_each_document_once():
    assert M.ndcg_at_k(["a", "b"], ["a", "b"]) == pytest.approx(1.0)
    assert M.ndcg_at_k(["x", "a"], ["a"]) == pytest.approx(1 / math.log2(3))
    # repeating a relevant document does not raise the score above one retrieval of it
    assert M.ndcg_at_k(["a", "a", "a"], ["a", "b"]) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert M.ndcg_at_k(["x", "y"], ["a"]) == 0.0


# -- answers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["weeks 9-16", "weeks 9\u201316", "weeks 9 to 16", "Weeks 9 - 16.",
                                     "weeks 9\u201416"])
def test_ranges_are_normalised(written):
    assert M.contains_fact(f"Stage 2 covers {written} [1].", "9-16")


def test_key_facts_match_on_word_boundaries_and_number_words():
    assert not M.contains_fact("It runs weeks 19-160.", "9-16")
    assert M.contains_fact("The roadmap has 4 stages.", "four stages")
    assert M.contains_fact("Use SCIKIT-LEARN!", "scikit-learn")
    assert not M.contains_fact("Use scikit.", "scikit-learn")
    # an enumeration states each of its members; a range does not name the weeks inside it
    assert M.contains_fact("Q2 lines up with stages 2 and 3 of the roadmap.", "stage 3")
    assert M.contains_fact("Q2 lines up with stages 2 and 3 of the roadmap.", "stage 2")
    assert M.contains_fact("Do it in weeks 5, 6 or 7.", "week 6")
    assert not M.contains_fact("Stage 2 runs weeks 9-16.", "week 10")
    assert M.contains_fact("Stage 2 runs weeks 9-16.", "week 16")
    assert not M.contains_fact("Q2 lines up with stage 2.", "stage 3")
    assert M.key_fact_recall("PyTorch, weeks 9 to 16", ["pytorch", "9-16", "TensorFlow"]) == pytest.approx(2 / 3)
    assert M.key_fact_recall("anything", []) is None


def test_key_facts_match_their_inflections_not_other_words():
    assert M.contains_fact("Spark has RDDs and DataFrames.", "RDD")
    assert M.contains_fact("RAG first retrieves documents.", "retriev")
    assert M.contains_fact("Kubernetes handles orchestration.", "orchestrat")
    assert not M.contains_fact("RAG first retrieves documents.", "retr")  # not any longer word
    assert not M.contains_fact("Transformers are encoders.", "Transform")
    assert not M.contains_fact("weeks 9-160", "9-16")  # numbers take no inflection
    assert M.contains_fact("reach Kaggle-style results", "Kaggle")
    assert M.contains_fact("a KL-divergence term", "KL")
    assert not M.contains_fact("weeks 9-16", "16")  # a number is not part of a span


def test_groundedness():
    assert M.groundedness([True, False, True, True]) == 0.75
    assert M.groundedness([]) is None


def test_citation_validity():
    retrieved = ["a#0", "b#1", "c#0"]
    assert M.citation_validity("X [1]. Y [2].", [(1, "a#0"), (2, "b#1")], retrieved) == 1.0
    assert M.citation_validity("X [3].", [(1, "a#0")], retrieved) == 0.0  # marker without a citation
    assert M.citation_validity("X [1].", [(1, "z#9")], retrieved) == 0.0  # citation not retrieved
    assert M.citation_validity("no markers", [], retrieved) is None


def test_citation_precision():
    assert M.citation_precision(["a#0", "b#1", "a#2"], ["a"]) == pytest.approx(2 / 3)
    assert M.citation_precision([], ["a"]) is None


def test_refusal_metrics():
    assert M.refusal_accuracy([True, True, False, True]) == 0.75
    assert M.false_refusal_rate([False, False, True, False]) == 0.25
    assert M.refusal_accuracy([]) is None
    assert M.refusal_correct(refused=True, answerable=False) == 1.0
    assert M.refusal_correct(refused=True, answerable=True) == 0.0


def test_balanced_accuracy_and_calibration():
    actual = [True, True, True, False]
    assert M.balanced_accuracy([True, True, True, True], actual) == 0.5
    assert M.balanced_accuracy([True, True, False, False], actual) == pytest.approx((2 / 3 + 1) / 2)
    threshold, best = M.calibrate_threshold([0.9, 0.8, 0.7, 0.2], actual)
    assert best == 1.0 and 0.2 < threshold <= 0.7
    assert threshold == pytest.approx(0.45)  # the middle of the gap between the classes


# -- bootstrap ------------------------------------------------------------------------------

def test_paired_bootstrap_constant_difference_has_zero_width():
    ci = M.paired_bootstrap_ci([0.8] * 30, [0.5] * 30, seed=1)
    assert ci["diff"] == pytest.approx(0.3) and ci["lo"] == pytest.approx(0.3) and ci["hi"] == pytest.approx(0.3)


def test_paired_bootstrap_matches_the_normal_approximation():
    # differences: half 1, half 0 -> mean 0.5, standard error 0.5/sqrt(400) = 0.025
    a = [1.0] * 200 + [0.0] * 200
    ci = M.paired_bootstrap_ci(a, [0.0] * 400, seed=0, resamples=2000)
    assert ci["diff"] == 0.5 and ci["n"] == 400
    assert ci["lo"] == pytest.approx(0.5 - 1.96 * 0.025, abs=0.01)
    assert ci["hi"] == pytest.approx(0.5 + 1.96 * 0.025, abs=0.01)
    assert M.paired_bootstrap_ci(a, [0.0] * 400, seed=0) == ci  # fixed seed: reproducible


def test_paired_bootstrap_pairs_by_item_and_skips_missing():
    ci = M.paired_bootstrap_ci([1.0, None, 0.5], [0.0, 1.0, None])
    assert ci["n"] == 1 and ci["diff"] == 1.0
    assert M.paired_bootstrap_ci([None], [1.0]) is None


# -- runner pieces --------------------------------------------------------------------------

def test_stratified_limit_keeps_every_kind():
    items = ([{"id": f"a{i}", "question": "q"} for i in range(100)]
             + [{"id": f"u{i}", "question": "q", "answerable": False} for i in range(40)]
             + [{"id": f"m{i}", "question": "q", "turns": [{"role": "user", "content": "x"}]} for i in range(10)])
    chosen = stratified(items, 15)
    kinds = [kind_of(i) for i in chosen]
    assert len(chosen) == 15
    assert kinds.count("answerable") == 10 and kinds.count("unanswerable") == 4 and kinds.count("multi_turn") == 1
    assert stratified(items, None) == items


def test_a_run_takes_the_items_an_earlier_report_answered(tmp_path):
    """Runs 6 to 12 compare "the same 60 items"; the gold set grew and `--limit 60` picked
    other ones, so run 12 had to be restricted by hand (session 22)."""
    gold = [{"id": i, "question": "q"} for i in ("a1", "a2", "u1", "m1")]
    (tmp_path / "report.json").write_text(json.dumps({"records": {"tutor": [{"id": "m1"}, {"id": "a1"}]}}))
    assert [i["id"] for i in same_items(tmp_path, gold)] == ["a1", "m1"]  # gold order
    summary = tmp_path / "run.json"  # an eval/results summary keeps the tutor's records as "answers"
    summary.write_text(json.dumps({"answers": [{"id": "u1"}]}))
    assert [i["id"] for i in same_items(summary, gold)] == ["u1"]
    summary.write_text(json.dumps({"answers": [{"id": "gone"}]}))
    with pytest.raises(ConfigError, match=r"no longer has \(\['gone'\]\)"):
        same_items(summary, gold)
    summary.write_text(json.dumps({"answers": []}))
    with pytest.raises(ConfigError, match="no answered items"):
        same_items(summary, gold)


def test_a_run_can_leave_out_the_items_an_earlier_report_answered(tmp_path):
    from eval.runner import other_items

    gold = [{"id": i, "question": "q"} for i in ("a1", "a2", "u1", "m1")]
    (tmp_path / "report.json").write_text(json.dumps({"records": {"tutor": [{"id": "m1"}, {"id": "a1"}]}}))
    assert [i["id"] for i in other_items([tmp_path], gold)] == ["a2", "u1"]
    summary = tmp_path / "summary.json"  # a second report (an eval/results summary)
    summary.write_text(json.dumps({"answers": [{"id": "u1"}]}))
    assert [i["id"] for i in other_items([tmp_path, summary], gold)] == ["a2"]
    (tmp_path / "report.json").write_text(json.dumps({"records": {"tutor": []}}))
    with pytest.raises(ConfigError, match="no answered items"):
        other_items([tmp_path], gold)


def test_items_from_and_limit_are_one_choice(tmp_path):
    from typer.testing import CliRunner

    from tutor.cli import app

    result = CliRunner().invoke(app, ["eval", "--fast", "--limit", "5", "--items-from", str(tmp_path)])
    assert result.exit_code == 2 and "not both" in result.output
    result = CliRunner().invoke(app, ["eval", "--fast", "--other-than", str(tmp_path), "--items-from", str(tmp_path)])
    assert result.exit_code == 2 and "not both" in result.output


def test_an_earlier_baseline_is_reused_only_for_the_same_items_backend_and_scorer(tmp_path):
    items = [{"id": "a1", "question": "what is stage 1?"}, {"id": "u1", "question": "capital of Peru?"}]
    baseline = [{"id": i["id"], "question": i["question"], "metrics": {"groundedness": 0.5}} for i in items]
    report = {"backend": "llamacpp", "baseline_chunks": 343, "scorer": {"threshold": SUPPORT_THRESHOLD},
              "records": {"tutor": [], "baseline": baseline[::-1]}}
    (tmp_path / "report.json").write_text(json.dumps(report))
    records, chunks = earlier_baseline(tmp_path, items, "llamacpp")
    assert list(records) == ["a1", "u1"] and records["u1"]["question"] == "capital of Peru?" and chunks == 343

    with pytest.raises(ConfigError, match="backend 'llamacpp'.*'openai'"):
        earlier_baseline(tmp_path, items, "openai")
    # an item added to the gold set since is not reused: the run answers it afresh
    records, _ = earlier_baseline(tmp_path, items + [{"id": "m1", "question": "and then?"}], "llamacpp")
    assert list(records) == ["a1", "u1"]
    with pytest.raises(ConfigError, match=r"other questions under the same ids \(\['a1'\]\)"):
        earlier_baseline(tmp_path, [{"id": "a1", "question": "what is stage 2?"}], "llamacpp")
    (tmp_path / "report.json").write_text(json.dumps(report | {"scorer": {"threshold": 0.1}}))
    with pytest.raises(ConfigError, match="support threshold"):
        earlier_baseline(tmp_path, items, "llamacpp")
    (tmp_path / "report.json").write_text(json.dumps(report | {"records": {"tutor": [], "baseline": []}}))
    with pytest.raises(ConfigError, match="no baseline answers"):
        earlier_baseline(tmp_path, items, "llamacpp")
    with pytest.raises(ConfigError, match="cannot read"):
        earlier_baseline(tmp_path / "nowhere", items, "llamacpp")


def test_thresholds_floor_and_ceiling():
    rows = check_thresholds({"hit_at_5": 0.9, "false_refusal": 0.1},
                            {"retrieval_recall_at_5": 0.95, "gate_false_refusal_rate_answerable": 0.2,
                             "citation_validity": 1.0, "unrelated": 3})
    assert [(r["key"], r["ok"]) for r in rows] == [
        ("retrieval_recall_at_5", False), ("gate_false_refusal_rate_answerable", True), ("citation_validity", False)]


def test_baseline_maps_roadmap_yaml_pieces_to_entries():
    text = ("roadmap:\n  id: rm\n  title: T\nstages:\n  - id: 1\n    title: A\n  - id: 2\n    title: B\n"
            "concepts:\n  - id: dropout\n    name: Dropout\n")
    spans = roadmap_spans(text, "rm")
    assert docs_of_span(spans, 0, 10) == ["rm"]
    start = text.index("  - id: 2")
    assert docs_of_span(spans, start - 5, start + 5) == ["stage-1", "stage-2"]
    assert docs_of_span(spans, text.index("Dropout"), len(text)) == ["concept-dropout"]


# -- judge ----------------------------------------------------------------------------------

def test_judge_reads_yes_probability_from_top_logprobs():
    # the shape xllamacpp returns for {"logprobs": true, "top_logprobs": 5, "max_tokens": 1}
    response = {"choices": [{"message": {"content": "Yes"}, "logprobs": {"content": [{
        "token": "Yes", "logprob": math.log(0.6), "top_logprobs": [
            {"token": "Yes", "logprob": math.log(0.6)}, {"token": "No", "logprob": math.log(0.2)},
            {"token": "yes", "logprob": math.log(0.1)}, {"token": "To", "logprob": math.log(0.05)}]}]}}]}
    assert p_yes(top_logprobs(response)) == pytest.approx(0.7 / 0.9)
    assert p_yes({"To": -0.1}) is None
    assert top_logprobs({"completion_probabilities": [{"probs": [{"tok_str": "no", "prob": 0.5}]}]}) == \
        pytest.approx({"no": math.log(0.5)})


def test_judge_prompt_renders_with_a_fixed_system_prefix(repo_root):
    from tutor.prompts import Prompts

    prompts = Prompts(repo_root / "prompts")
    one = prompts.messages("judge", sentence="Stage 2 is weeks 9-16.", sources=["Stage 2 runs weeks 9-16."])
    two = prompts.messages("judge", sentence="Other.", sources=["a", "b"])
    assert one[0] == two[0]
    assert "[1] Stage 2 runs weeks 9-16." in one[1]["content"] and "Claim: Stage 2 is weeks 9-16." in one[1]["content"]


def test_the_judge_reads_a_chunk_under_the_heading_the_answer_prompt_showed():
    """Judged on the bare text, "The freelance track begins with showpiece projects in months
    1 and 2." had no "freelance" to find: that is in the chunk's heading, which the model saw."""
    from eval.judge import SOURCE_CHARS, evidence
    from tutor.types import Chunk

    plan = Chunk("track-freelance#1", "track-freelance", "- Months 1-2: Build showpiece projects.\n" + "x " * 500,
                 "Freelance track (selling ML services) — Freelance track (selling ML services): month-by-month plan",
                 "roadmap", "corpus/roadmap.yaml")
    shown = evidence(plan)
    assert shown.startswith("Freelance track (selling ML services): month-by-month plan\n- Months 1-2 (2 months)")
    assert shown.endswith("x " * 40) and len(shown.split("\n", 1)[1]) == SOURCE_CHARS + len(" (2 months)")
    assert evidence("a label's context " * 100) == ("a label's context " * 100)[:SOURCE_CHARS]


# -- the hand-labelled support set ----------------------------------------------------------

def test_support_labels_are_balanced_and_come_from_the_corpus(corpus_index):
    from tutor.index import load_index

    labels = load_labels()
    assert len(labels) >= 80
    assert 0.4 <= sum(lab["supported"] for lab in labels) / len(labels) <= 0.6
    chunks = {c.id: re.sub(r"\s+", " ", c.text) for c in load_index(corpus_index.index_dir).chunks}
    for lab in labels:
        assert lab["source"] in chunks, lab["source"]
        assert re.sub(r"\s+", " ", lab["context"]).strip() in chunks[lab["source"]], lab["source"]


def test_scorer_check_on_a_few_labels(embedder):
    from tutor.sentence_vectors import SentenceVectors
    from tutor.support import SupportScorer

    context = "Stage 2 (Deep Learning Fundamentals, weeks 9-16) runs 8 weeks with PyTorch and TensorFlow."
    labels = [{"sentence": s, "context": context, "supported": ok, "source": "stage-2#0", "why": ""} for s, ok in (
        ("Stage 2 covers weeks 9-16 with PyTorch and TensorFlow.", True),
        ("Stage 2 runs from week 9 to week 20.", False),
        ("Stage 2 runs eight weeks.", True),
        ("Stage 2 is taught with JAX and Flax.", False))]
    result = scorer_check(SupportScorer(embedder, SentenceVectors(embedder)), labels, 0.55)
    assert result["n"] == 4 and len(result["scores"]) == 4
    assert result["scores"][0] > result["scores"][1]  # the wrong number is penalised
    assert result["calibrated_balanced_accuracy"] >= result["balanced_accuracy"]


# -- `tutor eval --fast` as a user runs it --------------------------------------------------

def _eval(*args, timeout=600):
    return subprocess.run([TUTOR, "eval", "--fast", *args], capture_output=True, text=True, timeout=timeout,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "160"})


def test_fast_eval_passes_on_the_real_index(corpus_index, tmp_path):
    done = _eval("--index", str(corpus_index.index_dir), "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["mode"] == "fast" and report["items"]["total"] >= 200
    assert all(row["ok"] for row in report["thresholds"]) and len(report["thresholds"]) == 6
    assert report["metrics"]["tutor"]["citation_validity"]["mean"] == 1.0
    assert "prompt_fact_coverage" in {row["key"] for row in report["thresholds"]}
    assert set(report["by_split"]["tutor"]) == {"dev", "test"}
    assert "recall@5" in done.stdout and "support scorer" in done.stdout
    html = (tmp_path / "report.html").read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html and "<script" not in html


def test_fast_eval_fails_below_a_threshold(corpus_index, tmp_path):
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(yaml.safe_dump({"retrieval_recall_at_5": 1.01, "citation_validity": 1.0,
                                          "prompt_fact_coverage": 1.01}))
    done = _eval("--index", str(corpus_index.index_dir), "--out", str(tmp_path / "out"), "--limit", "12",
                 "--thresholds", str(thresholds))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL retrieval_recall_at_5" in done.stdout and "FAIL prompt_fact_coverage" in done.stdout
    assert "ok citation_validity" in done.stdout


def test_rejudge_judges_a_stratified_subset_of_both_sides_and_recomputes_the_report():
    """eval.rejudge on a hand-made report with a scripted judge (the real one is the packaged
    model, exercised by `tutor eval --judge`)."""
    from eval.rejudge import judge_report
    from eval.runner import load_gold

    items = [i for i in load_gold() if i.get("answerable", True) and "turns" not in i][:6]

    def record(item, sentence):
        return {"id": item["id"], "kind": "answerable", "stage": item.get("stage"), "part": item["part"],
                "split": "dev", "refused": False, "citations": [{"chunk_id": "c#0"}],
                "sources": [{"chunk_id": "c#0", "text": "Stage 2 runs weeks 9-16."}],
                "sentences": [{"sentence": sentence, "chunk_id": "c#0"}], "metrics": {}}

    report = {"options": {"seed": 0}, "records": {
        "tutor": [record(i, "Stage 2 runs weeks 9-16.") for i in items],
        "baseline": [record(i, "Stage 2 runs weeks 1-99.") for i in items]}}

    class Judge:
        def judge(self, sentence, sources):
            from eval.judge import Verdict
            return Verdict(1.0 if sentence.split()[-1] in " ".join(sources) else 0.0, True)

    judged = judge_report(report, Judge(), lambda cid: "Stage 2 runs weeks 9-16.", limit=4)
    assert judged["options"]["judged_items"] == 4
    assert judged["metrics"]["tutor"]["judge_groundedness"] == {"mean": 1.0, "n": 4}
    assert judged["metrics"]["baseline"]["judge_groundedness"] == {"mean": 0.0, "n": 4}
    assert judged["differences"]["judge_groundedness"]["diff"] == 1.0
    assert sum("judge_p_yes" in r["sentences"][0] for r in judged["records"]["tutor"]) == 4


def test_a_what_next_sentence_is_judged_against_the_whole_recommendation():
    """A sentence naming three computed steps was judged against the one it matched best
    (P(yes) 0.42 for a faithful restatement); it now sees every step, and so does rejudge."""
    from eval.rejudge import judge_report
    from eval.runner import load_gold

    item = next(i for i in load_gold() if i["id"].startswith("a-next"))
    facts = {"recommendation#1": "Study Word embeddings next (stage 3, about 4 days at your pace).",
             "recommendation#2": "Study Tokenisation next (stage 3, about 4 days at your pace)."}
    sentence = "You should study Word embeddings and Tokenisation."
    record = {"id": item["id"], "kind": "answerable", "stage": 3, "part": item["part"], "split": "dev",
              "refused": False, "citations": [], "facts": facts,
              "sentences": [{"sentence": sentence, "chunk_id": "recommendation#1"}], "metrics": {}}

    class Judge:
        def judge(self, sentence, sources):
            from eval.judge import Verdict
            text = " ".join(getattr(s, "text", s) for s in sources)
            return Verdict(float(all(w in text for w in ("Word embeddings", "Tokenisation"))), True)

    report = {"options": {"seed": 0}, "records": {"tutor": [record], "baseline": []}}
    judged = judge_report(report, Judge(), lambda cid: "")
    assert judged["records"]["tutor"][0]["sentences"][0]["judge_p_yes"] == 1.0

