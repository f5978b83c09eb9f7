"""`tutor progress --learner ID`: the learner's roadmap in the terminal (rich), the same
picture as the widget's "My roadmap": the four stages as a path with their weeks, each
concept marked by mastery (a glyph and a colour, so it reads without colour too), the
computed next step with its reason, and each stage's milestone status."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.text import Text

from tutor import coach
from tutor.learners import get_learner, known_concepts
from tutor.mastery import mastery_map
from tutor.next_step import progress
from tutor.roadmap import Roadmap

MARKS = {  # status -> (glyph, rich style, words)
    "mastered": ("✓", "bold green", "mastered"),
    "in_progress": ("◐", "yellow", "in progress"),
    "not_started": ("○", "bright_black", "not started"),
}
MILESTONE = {"ready": "milestone reached", "in_progress": "milestone in progress",
             "not_started": "milestone not started"}


def learner_progress(engine, roadmap: Roadmap, learner_id: str) -> dict:
    """Profile, per-stage progress (tutor.next_step.progress) and the next step, as JSON."""
    from sqlmodel import Session

    with Session(engine) as session:
        learner = get_learner(session, learner_id)
        known = set(known_concepts(learner))
        profile = {"id": learner.id, "display_name": learner.display_name, "track": learner.track,
                   "hours_per_week": learner.hours_per_week}
    rows = mastery_map(engine, learner_id)
    stages = progress(roadmap, {c: (r.p_known, r.attempts) for c, r in rows.items()}, known)
    rec = coach.recommendation_json(coach.recommendation_for(engine, roadmap, [], learner_id))
    return {**profile, "stages": stages, "next": rec["next"], "finished": rec["finished"]}


def render(data: dict, roadmap: Roadmap, width: int = 100) -> Group:
    """`width`: the console's; concepts are packed into lines of the panel's inner width
    by hand, because rich would break a concept's name across lines."""
    names = {c.id: c.name for c in roadmap.concepts}
    next_id = data["next"][0]["concept"] if data["next"] else None
    who = data["display_name"] or data["id"]
    parts = [Text.assemble((f"{roadmap.roadmap.title}", "bold"), f" · {who} · {data['track']} track, "
                           f"{data['hours_per_week']} h/week")]
    if data["next"]:
        first = data["next"][0]
        parts.append(Text.assemble(("▶ Next: ", "bold magenta"), (first["name"], "bold"),
                                   f" (stage {first['stage']}, {first['time']}) — {first['why']}"))
        if len(data["next"]) > 1:
            parts.append(Text("  then: " + ", ".join(s["name"] for s in data["next"][1:]), style="magenta"))
    elif data["finished"]:
        parts.append(Text("Every concept of the roadmap is mastered.", style="bold green"))
    legend = Text("  ")
    for glyph, style, words in MARKS.values():
        legend.append(f"{glyph} {words}   ", style=style)
    legend.append("▶ next step", style="bold magenta")
    parts.append(legend)
    for stage in data["stages"]:
        marks = []
        for status in ("mastered", "in_progress", "not_started"):
            glyph, style, _ = MARKS[status]
            for cid in stage[status]:
                if cid == next_id:
                    marks.append(Text(f"▶ {names.get(cid, cid)}", style="bold magenta reverse"))
                else:
                    marks.append(Text(f"{glyph} {names.get(cid, cid)}", style=style))
        body = _packed(marks, width - 4)
        counts = ", ".join(f"{len(stage[s])} {MARKS[s][2]}" for s in MARKS)
        ms = stage["milestone_status"]
        title = (f"Stage {stage['stage']} · weeks {stage['weeks'][0]}-{stage['weeks'][1]} · {stage['title']}")
        subtitle = f"{MILESTONE[ms]} · {counts}"
        border = {"ready": "green", "in_progress": "yellow", "not_started": "bright_black"}[ms]
        parts.append(Panel(body, title=title, title_align="left", subtitle=subtitle, subtitle_align="left",
                           border_style=border))
        if stage is not data["stages"][-1]:
            parts.append(Text("   │", style="bright_black"))
    return Group(*parts)


def _packed(marks: list[Text], width: int) -> Text:
    body, used = Text(), 0
    for mark in marks:
        if used and used + 2 + len(mark) > width:
            body.append("\n")
            used = 0
        elif used:
            body.append("  ")
            used += 2
        body.append_text(mark)
        used += len(mark)
    return body
