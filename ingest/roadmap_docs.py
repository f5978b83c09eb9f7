"""Turn the curriculum graph (corpus/roadmap.yaml) into documents.

Each stage, concept, quarter, track and specialisation becomes one document whose
sections name their subject, because a chunk is read without its neighbours.
"""

from __future__ import annotations

import re

from tutor.roadmap import Roadmap, Stage
from tutor.text import LINKS_AFTER, LINKS_BEFORE, listed
from tutor.types import Chunk, Document

SOURCE = "roadmap.yaml"


def _weeks(pair) -> str:
    return f"weeks {pair[0]}-{pair[1]}" if pair[0] != pair[1] else f"week {pair[0]}"


def overview_doc(rm: Roadmap) -> Document:
    info = rm.roadmap
    stages = "\n".join(
        f"- Stage {s.id}, {s.title} ({_weeks(s.weeks)}): {s.goal}" for s in rm.stages
    )
    text = (
        f"## {info.title}\n{info.summary}\nDuration: {info.duration}.\n\n"
        f"## Prerequisites before week 1\nBefore starting the {info.title}, a learner needs: "
        + "; ".join(info.prerequisites)
        + ".\n\n"
        f"## The stages of the {info.title}\n{stages}\n"
    )
    return Document(info.id, info.title, text, "roadmap", SOURCE)


def stage_doc(rm: Roadmap, stage: Stage) -> Document:
    name = f"Stage {stage.id} ({stage.title}, {_weeks(stage.weeks)})"
    concepts = [c.name for c in rm.concepts if c.stage == stage.id]
    plan = "\n".join(f"- {_weeks(b.weeks).capitalize()}: {b.focus}" for b in stage.week_plan)
    resources = "\n".join(
        f"- {r.title} ({r.kind})" + (f": {r.note}" if r.note else "") for r in stage.resources
    )
    nxt = rm.stage_by_id.get(stage.id + 1)
    prev = rm.stage_by_id.get(stage.id - 1)
    sections = [
        f"## {name}: goal\n{name} runs {stage.weeks[1] - stage.weeks[0] + 1} weeks. {stage.goal}",
        f"## {name}: week-by-week plan\n{plan}" if plan else "",
        f"## {name}: resources\n{resources}" if resources else "",
        f"## {name}: milestone\nThe milestone that closes stage {stage.id}: {stage.milestone}",
        f"## {name}: concepts covered\n" + ", ".join(concepts) + "." if concepts else "",
    ]
    if nxt:
        sections.append(
            f"## What comes after stage {stage.id}\nAfter finishing stage {stage.id} "
            f"({stage.title}), the next step is stage {nxt.id}, {nxt.title} "
            f"({_weeks(nxt.weeks)}). {nxt.goal}"
        )
    if prev:
        sections.append(
            f"## Before stage {stage.id}\nStage {stage.id} builds on stage {prev.id}, "
            f"{prev.title} ({_weeks(prev.weeks)})."
        )
    return Document(
        f"stage-{stage.id}", f"Stage {stage.id}: {stage.title}", "\n\n".join(s for s in sections if s),
        "roadmap", SOURCE, stage.id, tuple(c.id for c in rm.concepts if c.stage == stage.id),
    )


def concept_docs(rm: Roadmap) -> list[Document]:
    dependents: dict[str, list[str]] = {}
    for c in rm.concepts:
        for p in c.prerequisites:
            dependents.setdefault(p, []).append(c.name)
    docs = []
    for c in rm.concepts:
        stage = rm.stage_by_id[c.stage]
        pre = ", ".join(rm.concept_by_id[p].name for p in c.prerequisites) or "none (a starting point)"
        # A concept nothing builds on says nothing about it: "Kaggle competitions leads to
        # nothing further in the roadmap" was echoed into answers on whether Kaggle is worth it.
        leads = ", ".join(dependents.get(c.id, []))
        # "to learn after", not "that build on": shown "Concepts that build on Transfer learning:
        # Image classification, ...", the packaged model answered "What comes after transfer
        # learning?" with "deep learning", and "What should I learn after CNNs?" with a sentence
        # of the page; worded so, it named the listed concepts (5 of 8 such questions against 1
        # of 6, session 18).
        text = (
            f"## {c.name}\n{c.name} is part of stage {stage.id} ({stage.title}, "
            f"{_weeks(stage.weeks)}). {c.summary}\n"
            f"{LINKS_BEFORE} {c.name}: {pre}." + (f" {LINKS_AFTER} {c.name}: {leads}." if leads else "")
        )
        docs.append(Document(f"concept-{c.id}", c.name, text, "roadmap", SOURCE, c.stage, (c.id,)))
    return docs


def plan_docs(rm: Roadmap) -> list[Document]:
    """The 2026 quarterly plan, the tracks and the specialisations."""
    docs = []
    for q in rm.quarters:
        topics = "\n\n".join(f"## {q.title}: {t.title}\n{t.detail}" for t in q.topics)
        projects = "\n".join(f"- {p}" for p in q.projects)
        # "stages 2 and 3", not "stage 2, 3": asked which stages Q2 lines up with, the model
        # named stage 2 alone
        stages = f"stage{'s' if len(q.stages) > 1 else ''} {listed([str(n) for n in q.stages])}"
        # the quarter's own months: asked "what's in Q1?", the model gave the maths block's
        # 4-6 weeks as the quarter's length, the only length the text stated
        n = rm.quarters.index(q) + 1
        text = (
            f"## {q.title} (2026 quarterly plan)\n{q.summary} In the 36-week roadmap this corresponds "
            f"to {stages}. Q{n} is months {3 * n - 2}-{3 * n} of the year.\n\n{topics}"
            + (f"\n\n## {q.title}: projects\n{projects}" if projects else "")
        )
        concepts = tuple(dict.fromkeys(c for t in q.topics for c in t.concepts))
        docs.append(Document(f"quarter-{q.id}", q.title, text, "roadmap", SOURCE, q.stages[0], concepts))
    for t in rm.tracks:
        months = "\n".join(
            f"- Months {m.months[0]}-{m.months[1]}: {m.focus}" if m.months[0] != m.months[1]
            else f"- Month {m.months[0]}: {m.focus}" for m in t.months
        )
        text = (
            f"## {t.title}\n{t.summary}\n\n## {t.title}: month-by-month plan\n{months}"
            + (f"\n\n## {t.title}: what to emphasise\n" + "; ".join(t.emphasis) + "." if t.emphasis else "")
        )
        docs.append(Document(f"track-{t.id}", t.title, text, "career", SOURCE))
    for s in rm.specialisations:
        text = f"## {s.title}\n{s.summary}\n\n## {s.title}: topics\n" + "; ".join(s.topics) + "."
        if s.risk:
            text += f"\n\n## {s.title}: risk and reward\n{s.risk}"
        docs.append(Document(f"specialisation-{s.id}", s.title, text, "roadmap", SOURCE, 4, tuple(s.concepts)))
    return docs


def roadmap_documents(rm: Roadmap) -> list[Document]:
    return [overview_doc(rm)] + [stage_doc(rm, s) for s in rm.stages] + concept_docs(rm) + plan_docs(rm)


_GOAL = re.compile(r"^(Stage \d+ \([^)]*\)): goal$")  # the stage document's first section


def stage_papers(chunks: list[Chunk]) -> list[Document]:
    """A "papers" section for each stage that has paper summaries, naming them in one line:
    "Which papers should I read in stage 3?" was routed to the stage's resources, which list one
    paper beside The Illustrated Transformer, and answered "the papers by BERT (2018) and the
    Illustrated Transformer (docs)". Made from the index's chunks (the stage documents come
    from roadmap.yaml, the papers from their own files), so it follows both on every ingest."""
    heads: dict[int, tuple[str, str]] = {}  # stage -> (document title, "Stage 3 (..., weeks 17-24)")
    for c in chunks:
        doc_title, _, section = c.title.partition(" — ")
        if c.kind == "roadmap" and c.doc_id == f"stage-{c.stage}" and (found := _GOAL.match(section)):
            heads[c.stage] = (doc_title, found.group(1))
    papers: dict[int, dict[str, tuple[str, tuple[str, ...]]]] = {}
    for c in chunks:
        if c.kind == "paper" and c.stage in heads:
            papers.setdefault(c.stage, {}).setdefault(c.doc_id, (c.title.partition(" — ")[0].split(": ")[0], c.concepts))
    docs = []
    for stage, found in sorted(papers.items()):
        names = sorted((name for name, _ in found.values()), key=str.lower)
        listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
        concepts = tuple(dict.fromkeys(cid for _, ids in found.values() for cid in ids))
        doc_title, name = heads[stage]
        text = f"## {name}: papers\nThe roadmap summarises {len(names)} papers for stage {stage}: {listed}."
        docs.append(Document(f"stage-{stage}-papers", doc_title, text, "roadmap", "papers", stage, concepts))
    return docs
