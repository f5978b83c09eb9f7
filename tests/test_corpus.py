"""The shipped corpus obeys its schema (corpus/README.md) and covers ROADMAP_FACTS.md.

The graph checks are written independently of Roadmap.problems() (Kahn's algorithm,
stage comparisons), so a bug in the validator cannot hide a bug in the data; separate
negative tests show the validator itself reports broken graphs.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from ingest.loaders import load_file, split_front_matter
from tutor.errors import IngestError
from tutor.roadmap import Roadmap, load_roadmap

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
FOLDER_KIND = {"faq": "faq", "papers": "paper", "careers": "career", "guides": "guide"}
PAPER_SECTIONS = ("Problem", "Key idea", "Result", "Why it matters", "Where it fits")
MARKDOWN = sorted(CORPUS.glob("*/*.md"))

# ROADMAP_FACTS.md, "Papers the corpus should summarise": paper -> (file id, year).
# GPT-2/GPT-3 is one line there; either summary satisfies it (both ship today).
FACT_PAPERS = {
    "AlexNet": ("paper-alexnet", 2012),
    "VGG": ("paper-vgg", None),
    "GoogLeNet/Inception": ("paper-googlenet-inception", None),
    "ResNet": ("paper-resnet", 2015),
    "Batch Normalization": ("paper-batch-normalization", None),
    "Dropout": ("paper-dropout", None),
    "Adam": ("paper-adam", None),
    "Attention Is All You Need": ("paper-attention-is-all-you-need", 2017),
    "BERT": ("paper-bert", 2018),
    "T5": ("paper-t5", None),
    "Vision Transformer": ("paper-vision-transformer", 2020),
    "EfficientNet": ("paper-efficientnet", 2019),
    "U-Net": ("paper-u-net", None),
    "YOLO": ("paper-yolo", None),
    "Mask R-CNN": ("paper-mask-r-cnn", None),
    "LSTM": ("paper-lstm", 1997),
    "GRU": ("paper-gru", None),
    "seq2seq": ("paper-seq2seq", 2014),
    "word2vec": ("paper-word2vec", None),
    "VAE": ("paper-vae", 2013),
    "GAN": ("paper-gan", 2014),
    "DDPM": ("paper-ddpm", 2020),
    "PPO": ("paper-ppo", 2017),
    "XGBoost": ("paper-xgboost", 2016),
    "Random Forests": ("paper-random-forests", 2001),
    "LoRA": ("paper-lora", 2021),
    "RAG": ("paper-rag", 2020),
}


@pytest.fixture(scope="module")
def roadmap() -> Roadmap:
    return load_roadmap(CORPUS / "roadmap.yaml")  # raises IngestError on any problem


@pytest.fixture(scope="module")
def entries() -> dict[Path, tuple[dict, str]]:
    """Every Markdown file's (front matter, body)."""
    return {p: split_front_matter(p.read_text(encoding="utf-8")) for p in MARKDOWN}


def _headings(body: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^##\s+(.+)$", body, re.M)]


def _ids_in(folder: str) -> set[str]:
    return {p.stem for p in (CORPUS / folder).glob("*.md")}


# --- roadmap.yaml -------------------------------------------------------------------------

def test_roadmap_loads_without_problems(roadmap):
    assert roadmap.problems() == []


def test_four_contiguous_stages(roadmap):
    assert [s.id for s in roadmap.stages] == [1, 2, 3, 4]
    assert [tuple(s.weeks) for s in roadmap.stages] == [(1, 8), (9, 16), (17, 24), (25, 36)]
    assert len({s.slug for s in roadmap.stages}) == 4
    assert len({s.title for s in roadmap.stages}) == 4


def test_week_plans_cover_each_stage_exactly(roadmap):
    for stage in roadmap.stages:
        covered = [w for block in stage.week_plan for w in range(block.weeks[0], block.weeks[1] + 1)]
        expected = list(range(stage.weeks[0], stage.weeks[1] + 1))
        assert covered == expected, f"stage {stage.id} week_plan covers {covered}"


def test_stages_have_resources_and_concepts(roadmap):
    per_stage = Counter(c.stage for c in roadmap.concepts)
    assert len(roadmap.concepts) >= 80
    for stage in roadmap.stages:
        assert stage.resources, f"stage {stage.id} has no resources"
        assert per_stage[stage.id] > 0, f"stage {stage.id} has no concepts"
    assert set(per_stage) == {1, 2, 3, 4}


def test_concept_ids_and_names_unique(roadmap):
    ids = Counter(c.id for c in roadmap.concepts)
    names = Counter(c.name.casefold() for c in roadmap.concepts)
    assert [i for i, n in ids.items() if n > 1] == []
    assert [i for i, n in names.items() if n > 1] == []
    assert all(c.summary.strip() for c in roadmap.concepts)


def test_fixed_concept_ids_present(roadmap):
    """corpus/README.md lists concept ids that may never be dropped or renamed."""
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    listed = readme.split("## Concept ids", 1)[1]
    fixed = {}
    for line in re.findall(r"^- Stage (\d): (.*(?:\n  .*)*)", listed, re.M):
        for cid in re.split(r"[,\s]+", line[1].strip()):
            if cid:
                fixed[cid] = int(line[0])
    assert len(fixed) > 80
    for cid, stage in fixed.items():
        assert cid in roadmap.concept_by_id, f"fixed concept {cid} missing"
        assert roadmap.concept_by_id[cid].stage == stage, cid


def test_prerequisite_graph_is_a_dag_rooted_in_stage_1(roadmap):
    by_id = {c.id: c for c in roadmap.concepts}
    for c in roadmap.concepts:
        for p in c.prerequisites:
            assert p in by_id, f"{c.id} needs unknown {p}"
            assert by_id[p].stage <= c.stage, f"{c.id} (stage {c.stage}) needs later {p}"
        if not c.prerequisites:
            assert c.stage == 1, f"{c.id} is a root outside stage 1"
    # Kahn's algorithm: a DAG empties completely.
    waiting = {c.id: set(c.prerequisites) for c in roadmap.concepts}
    ready = [cid for cid, pre in waiting.items() if not pre]
    done = set()
    while ready:
        cid = ready.pop()
        done.add(cid)
        for other, pre in waiting.items():
            if cid in pre:
                pre.discard(cid)
                if not pre and other not in done:
                    ready.append(other)
    assert done == set(by_id), f"cycle among {sorted(set(by_id) - done)}"
    # Acyclic and every root in stage 1 => everything is reachable from stage-1 roots.
    assert roadmap.reachable_from_roots() == set(by_id)


def test_tracks_quarters_specialisations(roadmap):
    tracks = {t.id: t for t in roadmap.tracks}
    assert set(tracks) == {"industry", "research", "freelance"}
    for track in tracks.values():
        months = [tuple(m.months) for m in track.months]
        assert months, f"track {track.id} has no month plan"
        assert months[0][0] == 1
        for (_, end), (start, _) in zip(months, months[1:]):
            assert start == end + 1, f"track {track.id} months not contiguous: {months}"
        assert all(m.focus.strip() for m in track.months)
    assert {s.id for s in roadmap.specialisations} == {
        "nlp-llms", "computer-vision", "reinforcement-learning", "time-series"}
    assert all(s.concepts and s.topics for s in roadmap.specialisations)
    assert [q.id for q in roadmap.quarters] == ["q1", "q2", "q3", "q4"]
    for q in roadmap.quarters:
        assert q.topics and set(q.stages) <= {1, 2, 3, 4}


# --- the validator reports broken graphs ---------------------------------------------------

def _tiny(concepts: list[dict]) -> dict:
    return {
        "roadmap": {"id": "tiny", "title": "Tiny", "summary": "s", "duration": "2 weeks"},
        "stages": [
            {"id": 1, "slug": "one", "title": "One", "weeks": [1, 1], "goal": "g", "milestone": "m"},
            {"id": 2, "slug": "two", "title": "Two", "weeks": [2, 2], "goal": "g", "milestone": "m"},
        ],
        "concepts": [{"name": c["id"].title(), "summary": "s", "prerequisites": [], **c} for c in concepts],
    }


def test_cycle_is_reported(tmp_path):
    raw = _tiny([
        {"id": "root", "stage": 1},
        {"id": "a", "stage": 1, "prerequisites": ["root", "c"]},
        {"id": "b", "stage": 1, "prerequisites": ["a"]},
        {"id": "c", "stage": 1, "prerequisites": ["b"]},
    ])
    problems = Roadmap.model_validate(raw).problems()
    cycle = [p for p in problems if p.startswith("prerequisite cycle")]
    assert len(cycle) == 1
    assert all(name in cycle[0] for name in ("a", "b", "c"))
    path = tmp_path / "roadmap.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(IngestError, match="cycle"):
        load_roadmap(path)


@pytest.mark.parametrize("concepts, expected", [
    ([{"id": "root", "stage": 1}, {"id": "x", "stage": 1, "prerequisites": ["y"]}],
     "unknown prerequisite y"),
    ([{"id": "root", "stage": 1}, {"id": "early", "stage": 1, "prerequisites": ["late"]},
      {"id": "late", "stage": 2, "prerequisites": ["root"]}], "depends on later late"),
    ([{"id": "root", "stage": 1}, {"id": "orphan", "stage": 2}], "not reachable from stage-1 roots: orphan"),
    ([{"id": "root", "stage": 1}, {"id": "root", "stage": 1}], "duplicate concept ids"),
])
def test_broken_graphs_are_reported(concepts, expected):
    problems = Roadmap.model_validate(_tiny(concepts)).problems()
    assert any(expected in p for p in problems), problems


def test_sound_tiny_roadmap_has_no_problems():
    raw = _tiny([{"id": "root", "stage": 1}, {"id": "next", "stage": 2, "prerequisites": ["root"]}])
    assert Roadmap.model_validate(raw).problems() == []


# --- Markdown entries ----------------------------------------------------------------------

def test_folders_hold_enough_entries():
    assert len(_ids_in("faq")) >= 40
    assert len(_ids_in("papers")) >= 28
    assert len(_ids_in("careers")) >= 1
    assert len(_ids_in("guides")) >= 1
    assert {p.parent.name for p in MARKDOWN} == set(FOLDER_KIND)


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.stem)
def test_front_matter_valid(path, entries, roadmap):
    meta, body = entries[path]
    assert meta, "no front matter"
    assert meta["id"] == path.stem
    assert meta["kind"] == FOLDER_KIND[path.parent.name]
    assert isinstance(meta.get("title"), str) and meta["title"].strip()
    assert "stage" in meta, "stage must be given (a number or null)"
    assert meta["stage"] is None or meta["stage"] in (1, 2, 3, 4)
    concepts = meta.get("concepts") or []
    assert isinstance(concepts, list) and concepts, "tag at least one concept"
    unknown = [c for c in concepts if c not in roadmap.concept_by_id]
    assert unknown == [], f"unknown concepts {unknown}"
    assert len(set(concepts)) == len(concepts), "duplicate concept tags"
    if meta["kind"] == "paper":
        assert isinstance(meta.get("year"), int) and 1950 < meta["year"] <= 2026
        assert str(meta.get("authors", "")).strip()
    # And the loader accepts it as shipped-corpus material with the same metadata.
    [doc] = load_file(path, f"corpus/{path.parent.name}/{path.name}", user=False)
    assert (doc.id, doc.kind, doc.stage, doc.concepts) == (
        meta["id"], meta["kind"], meta["stage"], tuple(concepts))


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.stem)
def test_body_has_nonempty_sections(path, entries):
    _, body = entries[path]
    assert len(body.strip()) > 200, "body is (nearly) empty"
    headings = _headings(body)
    assert headings, "no ## sections"
    assert len(set(headings)) == len(headings), "duplicate section headings"
    sections = re.split(r"^##\s+.+$", body, flags=re.M)[1:]
    empty = [h for h, s in zip(headings, sections) if not s.strip()]
    assert empty == [], f"empty sections {empty}"


def test_ids_and_titles_unique_across_corpus(entries, roadmap):
    ids = Counter(meta["id"] for meta, _ in entries.values())
    titles = Counter(meta["title"].casefold() for meta, _ in entries.values())
    assert [i for i, n in ids.items() if n > 1] == []
    assert [t for t, n in titles.items() if n > 1] == []
    assert not set(ids) & set(roadmap.concept_by_id), "a file id collides with a concept id"
    bodies = Counter(body.strip() for _, body in entries.values())
    assert max(bodies.values()) == 1, "two files share a body"


@pytest.mark.parametrize("path", sorted((CORPUS / "papers").glob("*.md")), ids=lambda p: p.stem)
def test_paper_has_the_five_sections(path, entries):
    _, body = entries[path]
    assert _headings(body) == list(PAPER_SECTIONS)


def test_fact_papers_are_covered(entries):
    papers = {meta["id"]: meta for meta, _ in entries.values() if meta["kind"] == "paper"}
    missing = [name for name, (pid, _) in FACT_PAPERS.items() if pid not in papers]
    assert missing == []
    assert {"paper-gpt-2", "paper-gpt-3"} & set(papers), "GPT-2/GPT-3 not summarised"
    assert {"paper-dqn"} <= set(papers)
    assert papers["paper-dqn"]["year"] in (2013, 2015)
    wrong = {pid: papers[pid]["year"] for pid, year in FACT_PAPERS.values()
             if year and papers[pid]["year"] != year}
    assert wrong == {}, f"years disagree with ROADMAP_FACTS.md: {wrong}"
