"""The gold question set (eval/gold/questions.yaml) against the real index:

- its schema and coverage (every part of the corpus, minimum counts, doc ids that exist,
  key facts that really occur in the expected documents), and the gate dev set kept apart;
- retrieval recall@5 over every answerable gold question, and the refusal gate over the
  unanswerable ones, with the real embedder, FAISS and BM25 and a scripted LLM at the seam
  (no LLM call happens: the gate refuses before generation, and prepare() only calls the
  LLM to condense follow-ups, which the fake does deterministically);
- end to end with the real packaged model (marked `model`): answers about each part of
  the corpus are not refused and cite a chunk of an expected document.

Floors live in eval/thresholds.yaml, each a little below the figure measured when it was set.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tutor.answer import Turn

REPO = Path(__file__).resolve().parent.parent
GOLD_FILE = REPO / "eval" / "gold" / "questions.yaml"
DEV_FILE = REPO / "eval" / "gold" / "gate_dev.yaml"
THRESHOLDS_FILE = REPO / "eval" / "thresholds.yaml"
PARTS = ("stage", "week", "milestone", "resource", "concept", "paper", "track", "quarter",
         "specialisation", "faq", "career", "guide", "next")
K = 5

ITEMS = yaml.safe_load(GOLD_FILE.read_text())["items"]
ANSWERABLE = [i for i in ITEMS if i.get("answerable", True) and "turns" not in i]
UNANSWERABLE = [i for i in ITEMS if i.get("answerable", True) is False]
MULTI_TURN = [i for i in ITEMS if "turns" in i]
WITH_DOCS = ANSWERABLE + MULTI_TURN  # every item that names expected documents
NEXT = [i for i in ANSWERABLE if i["part"] == "next"]  # "what next": computed, not retrieved
RETRIEVED = [i for i in WITH_DOCS if i["part"] != "next"]

# End-to-end questions that fail for a known reason outside the gold set. Not strict: the
# model is deterministic at temperature 0, but a retrieval tie can flip between runs, and a
# known failure that passes must not turn CI red. At least 25 questions must pass.
# a-week-03 was here from session 13 to 22: its "weeks 19-20" sentence was credited to the
# concept page it resembles most, not the week plan; since 3aa8f7e the source that backs a
# sentence on its own is credited, and it passed in both of session 22's fresh clones
E2E_KNOWN_FAILURES: dict[str, str] = {}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("\u2013", "-").replace("\u2014", "-"))


@pytest.fixture(scope="module")
def corpus_docs(corpus_index) -> dict[str, str]:
    """doc id -> normalised text of all its chunks (titles included), from the built index."""
    from tutor.index import load_index

    docs: dict[str, str] = {}
    for chunk in load_index(corpus_index.index_dir).chunks:
        docs[chunk.doc_id] = docs.get(chunk.doc_id, "") + " " + _norm(f"{chunk.title} {chunk.text}")
    return docs


@pytest.fixture(scope="module")
def thresholds() -> dict:
    return yaml.safe_load(THRESHOLDS_FILE.read_text())


def _history(item) -> list[Turn]:
    return [Turn(t["role"], t["content"]) for t in item.get("turns", [])]


# -- schema and coverage ------------------------------------------------------------------

def test_gold_schema_ids_and_fields():
    ids = [i["id"] for i in ITEMS]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    questions = [_norm(i["question"]).strip() for i in ITEMS if "turns" not in i]
    assert len(questions) == len(set(questions)), [q for q, n in Counter(questions).items() if n > 1]
    for item in WITH_DOCS:
        assert set(item) <= {"id", "question", "expected_docs", "key_facts", "stage", "part", "e2e",
                             "turns", "answerable", "next_stage", "next_concepts"}, item["id"]
        assert item["question"].strip() and item["expected_docs"], item["id"]
        assert item["key_facts"] or item["part"] == "next", item["id"]
        assert item["part"] in PARTS, item["id"]
        assert item["stage"] is None or item["stage"] in (1, 2, 3, 4), item["id"]
        assert len(set(item["expected_docs"])) == len(item["expected_docs"]), item["id"]
    for item in NEXT:  # a right answer names one of next_concepts, or next_stage
        assert item["next_concepts"] or item["next_stage"] or item["key_facts"], item["id"]
    for item in UNANSWERABLE:
        assert set(item) == {"id", "question", "answerable", "missing"}, item["id"]
        assert item["question"].strip() and item["missing"].strip(), item["id"]
    for item in MULTI_TURN:
        assert item["turns"] and all(t["role"] in ("user", "assistant") and t["content"].strip()
                                     for t in item["turns"]), item["id"]
        assert item["turns"][0]["role"] == "user", item["id"]


def test_gold_counts_and_coverage():
    assert len(ANSWERABLE) >= 110
    assert len(UNANSWERABLE) >= 50
    assert len(MULTI_TURN) >= 15
    parts = Counter(i["part"] for i in ANSWERABLE)
    assert set(parts) == set(PARTS), set(PARTS) - set(parts)
    assert parts["faq"] >= 20
    assert len(NEXT) >= 20 and {i["stage"] for i in NEXT} == {1, 2, 3, 4}

    def firsts(part, prefix):
        return {d for i in ANSWERABLE if i["part"] == part for d in i["expected_docs"] if d.startswith(prefix)}

    assert len(firsts("concept", "concept-")) >= 15
    assert len(firsts("paper", "paper-")) >= 12
    assert firsts("track", "track-") == {"track-industry", "track-research", "track-freelance"}
    assert firsts("quarter", "quarter-") == {"quarter-q1", "quarter-q2", "quarter-q3", "quarter-q4"}
    assert firsts("specialisation", "specialisation-") == {
        "specialisation-nlp-llms", "specialisation-computer-vision",
        "specialisation-reinforcement-learning", "specialisation-time-series"}
    for part in ("stage", "week", "milestone", "resource"):  # each stage's weeks, goal, milestone, resources
        assert {i["stage"] for i in ANSWERABLE if i["part"] == part} >= {1, 2, 3, 4}, part
    assert firsts("career", "career-") >= {"career-applied-scientist", "career-entry-level-ai-researcher",
                                          "career-machine-learning-engineer", "career-mlops-engineer"}
    assert {"guide-monthly-habits", "guide-common-mistakes", "guide-essential-stack"} <= firsts("guide", "guide-")


def test_expected_docs_exist_and_hold_the_key_facts(corpus_docs):
    problems = []
    for item in WITH_DOCS:
        for doc in item["expected_docs"]:
            if doc not in corpus_docs:
                problems.append(f"{item['id']}: no document {doc!r} in the index")
            elif item["key_facts"] and not any(_norm(f) in corpus_docs[doc] for f in item["key_facts"]):
                problems.append(f"{item['id']}: {doc} states none of {item['key_facts']}")
        for fact in item["key_facts"]:
            if not any(_norm(fact) in corpus_docs.get(d, "") for d in item["expected_docs"]):
                problems.append(f"{item['id']}: key fact {fact!r} is in no expected document")
    concepts = {d.removeprefix("concept-") for d in corpus_docs if d.startswith("concept-")}
    problems += [f"{i['id']}: no concept {c!r}" for i in NEXT for c in i["next_concepts"] if c not in concepts]
    assert not problems, "\n".join(problems)


def test_gate_dev_set_is_separate_and_well_formed(corpus_docs):
    dev = yaml.safe_load(DEV_FILE.read_text())
    assert len(dev["answerable"]) == 40 and len(dev["off_roadmap"]) == 40
    dev_questions = [d["question"] for d in dev["answerable"]] + list(dev["off_roadmap"])
    assert len({_norm(q) for q in dev_questions}) == len(dev_questions)
    gold_questions = {_norm(i["question"]).strip() for i in ITEMS}
    assert not [q for q in dev_questions if _norm(q).strip() in gold_questions]
    for d in dev["answerable"]:
        assert d["expected_docs"] and all(doc in corpus_docs for doc in d["expected_docs"]), d


# -- retrieval and the refusal gate (no LLM) ----------------------------------------------

def test_retrieval_recall_at_5(fake_tutor, thresholds):
    """A question is a hit when any chunk of any expected document is in the top 5 of
    Retriever.search; follow-ups are searched as the (fake) condenser rewrites them."""
    tutor = fake_tutor()
    misses, first_hits = [], 0
    for item in RETRIEVED:
        query = tutor.condense(item["question"], _history(item))
        docs = [h.chunk.doc_id for h in tutor.retriever.search(query, K)]
        if not set(docs) & set(item["expected_docs"]):
            misses.append(f"{item['id']}: {query!r} -> {docs}")
        first_hits += item["expected_docs"][0] in docs
    recall = 1 - len(misses) / len(RETRIEVED)
    print(f"\nrecall@{K}: {recall:.3f} ({len(RETRIEVED) - len(misses)}/{len(RETRIEVED)}); "
          f"best expected doc in top {K}: {first_hits / len(RETRIEVED):.3f}")
    floor = thresholds["retrieval_recall_at_5"]
    assert recall >= floor, f"recall@{K} {recall:.3f} < {floor}; misses:\n" + "\n".join(misses)


def test_refusal_gate_on_gold(fake_tutor, thresholds):
    tutor = fake_tutor()
    accepted = [i for i in UNANSWERABLE if not tutor.prepare(i["question"]).refused]
    refused = [i for i in WITH_DOCS if tutor.prepare(i["question"], _history(i)).refused]
    refusal_rate = 1 - len(accepted) / len(UNANSWERABLE)
    false_refusal_rate = len(refused) / len(WITH_DOCS)
    print(f"\ngate at {tutor.gate.threshold:.2f}: unanswerable refused {refusal_rate:.3f} "
          f"({len(UNANSWERABLE) - len(accepted)}/{len(UNANSWERABLE)}); answerable refused "
          f"{false_refusal_rate:.3f} ({len(refused)}/{len(WITH_DOCS)})")
    assert tutor.llm.calls == [] or all("Follow-up:" in m[-1]["content"] for m in tutor.llm.calls)
    floor = thresholds["gate_refusal_rate_unanswerable"]
    ceiling = thresholds["gate_false_refusal_rate_answerable"]
    assert refusal_rate >= floor, f"refused {refusal_rate:.3f} < {floor}; accepted: " + \
        "; ".join(f"{i['id']} {i['question']!r}" for i in accepted)
    assert false_refusal_rate <= ceiling, f"false refusals {false_refusal_rate:.3f} > {ceiling}: " + \
        "; ".join(f"{i['id']} {i['question']!r}" for i in refused)


# -- end to end with the real model --------------------------------------------------------

E2E = [i for i in ANSWERABLE if i.get("e2e")]


def _e2e_params():
    for item in E2E:
        marks = ()
        if item["id"] in E2E_KNOWN_FAILURES:
            marks = pytest.mark.xfail(reason=E2E_KNOWN_FAILURES[item["id"]], strict=False)
        yield pytest.param(item, id=item["id"], marks=marks)


def test_e2e_selection_covers_every_part():
    assert len(E2E) >= 25
    assert {i["part"] for i in E2E} == set(PARTS)
    assert len(E2E) - len(E2E_KNOWN_FAILURES) >= 25 and set(E2E_KNOWN_FAILURES) <= {i["id"] for i in E2E}


@pytest.mark.model
@pytest.mark.parametrize("item", _e2e_params())
def test_ask_answers_with_citations_to_the_right_entries(real_tutor, item):
    answer = real_tutor.ask(item["question"])
    cited = [c.chunk_id.split("#")[0] for c in answer.citations]
    assert not answer.refused, f"refused: {answer.answer!r}"
    assert set(cited) & set(item["expected_docs"]), (
        f"cited {cited}, expected one of {item['expected_docs']}; answer: {answer.answer!r}")
