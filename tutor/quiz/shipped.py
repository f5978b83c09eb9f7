"""The shipped quiz bank: checked items committed as corpus data (corpus/quizzes/stage-N.yaml)
and loaded into the service database without any model call, so "Quiz me" works on the
first `make run`. The model only tops the bank up beyond them (bank.Refiller).

Written offline by `tutor quiz build --stage N --export corpus/quizzes` (export_stage): the
packaged model builds the stage in a throwaway database through the same generate ->
repair -> validate path as any top-up, and the accepted items are written out with the
generator (model file, its SHA-256 prefix, the project version, the date) and, for each
item, the source chunk and the sentence of it that backs the key (what eval/quiz_review.py
prints for a person to read).

Loaded by `tutor ingest` and `tutor db upgrade` (load_shipped): an item is loaded only
when its source chunk is in the live index and still contains its source sentence (an
edited corpus drops the items it no longer backs, and says which). Ids are hashes of the
content, so loading is idempotent: one INSERT ... ON CONFLICT DO NOTHING for every item, which
SQLite and PostgreSQL both serialise, so two processes loading at once store each item
once. A corpus without a quizzes/ folder (an operator's own) loads nothing: the model
builds its bank as before.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from tutor import __version__
from tutor.errors import IngestError
from tutor.models import QuizItem
from tutor.quiz.schema import KINDS, Candidate, schema_problems
from tutor.quiz.validate import one_correct_problem
from tutor.text import sentences
from tutor.types import Chunk

FOLDER = "quizzes"
FILE_GLOB = "stage-*.yaml"
SHIPPED = "shipped"  # QuizItem.backend prefix of a loaded item: "shipped:<model>"
ID_CHARS = 16


def stage_file(folder: Path, stage: int) -> Path:
    return folder / f"stage-{stage}.yaml"


def item_id(stage: int, kind: str, question: str, options: list, answer) -> str:
    """A stable id from what the learner sees and the key: the same item always loads as
    the same row, whichever process or database loads it."""
    body = json.dumps([stage, kind, question, options, answer], ensure_ascii=False)
    return f"s{stage}-{hashlib.sha256(body.encode()).hexdigest()[:ID_CHARS]}"


# -- writing ----------------------------------------------------------------------------------

def generator_record(llm, settings) -> dict:
    """Which model wrote the items: file name, SHA-256 prefix, project version, date."""
    from tutor.assets import DEFAULT_MODEL_NAME, DEFAULT_MODEL_SHA256

    path = getattr(llm, "model_path", None)
    name = Path(path).name if path else settings.openai_model
    if name == DEFAULT_MODEL_NAME:
        sha = DEFAULT_MODEL_SHA256[:12]  # checked when the packaged parts were assembled (tutor/assets.py)
    elif path and Path(path).is_file():
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        sha = digest.hexdigest()[:12]
    else:
        sha = None
    return {"tutor": __version__, "backend": llm.name, "model": name, "model_sha256": sha,
            "date": date.today().isoformat()}


def source_sentence(validator, statement: str, chunk: Chunk) -> str:
    """The sentence of `chunk` closest in meaning to the item's key statement: what a reader
    checks the key against."""
    parts, vectors = validator.sentence_vectors.get(chunk)
    if not parts:
        return chunk.text
    return str(parts[int((vectors @ validator.embedder.encode_one(statement)).argmax())])


def item_record(c: Candidate, concept: str | None, chunk: Chunk, sentence: str, scores: dict) -> dict:
    """One accepted item as the file keeps it."""
    record = {"id": item_id(chunk.stage, c.kind, c.question, c.options, c.answer), "kind": c.kind,
              "concept": concept, "question": c.question}
    if c.kind == "mcq":
        record["options"] = list(c.options)
    record["answer"] = c.answer
    if c.kind == "tf" and c.answer is False:
        record["correction"] = c.correction  # the true statement: what the key is checked with
    record |= {"explanation": c.explanation, "fact": c.fact,
               "source": {"chunk_id": chunk.id, "title": chunk.title, "file": chunk.source, "sentence": sentence},
               "key_support": scores.get("key")}
    if scores.get("replaced"):
        record["replaced_options"] = scores["replaced"]
    return record


# Verdicts this close to a threshold are left out of the shipped file: the int8 ONNX and
# the torch embedder agree to cosine ~0.999, so a re-check on another machine may differ
# by a few thousandths, and a shipped item must pass there too.
MARGIN = 0.02


def robust(scores: dict) -> bool:
    """True when no check of the verdict behind `scores` is within MARGIN of flipping."""
    from tutor.quiz.validate import DISTRACTOR_MARGIN, KEY_THRESHOLD, SIMILAR

    key = scores.get("key") or 0.0
    if key < KEY_THRESHOLD + MARGIN:
        return False
    if any(d >= KEY_THRESHOLD - MARGIN and d > key - DISTRACTOR_MARGIN - MARGIN
           for d in scores.get("distractors", [])):
        return False
    return all(scores.get(name, 0.0) < SIMILAR - MARGIN for name in ("max_option_cosine", "max_bank_cosine"))


def export_stage(tutor, stage: int, folder: Path, per_stage: int, max_candidates: int | None = None,
                 extend: bool = False, **build):
    """Build `stage` with the tutor's model in a throwaway database and write its accepted
    items to folder/stage-N.yaml. `extend`: keep the file's items (and what review dropped)
    and add `per_stage` new ones: they are put in the throwaway bank first, so the build
    skips near-duplicates of them and moves on to other sentences of the chunks they used.
    `build`: passed on to build_stage (batch, kinds, max_seconds). A build stopped early
    still writes what it accepted. Returns (path, BuildReport, items written by this run)."""
    import tempfile

    from tutor.db import make_engine
    from tutor.quiz.bank import build_stage
    from tutor.quiz.validate import Validator

    path = stage_file(folder, stage)
    old = yaml.safe_load(path.read_text()) if extend and path.is_file() else {}
    validator = Validator(tutor.embedder, tutor.sentence_vectors)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bank.db'}")
        if old:
            _seed_bank(engine, old, tutor.index.chunks)
        report = build_stage(tutor, engine, stage, per_stage, max_candidates=max_candidates, **build)
        engine.dispose()
    records = [item_record(c, concept, chunk, source_sentence(validator, c.key_statement(), chunk), verdict.scores)
               for c, concept, chunk, verdict in report.kept if robust(verdict.scores)]
    build = {"candidates": report.candidates, "accepted": report.accepted,
             "near_a_threshold": report.accepted - len(records), "repaired": report.repaired,
             "rejections": dict(report.reasons.most_common()), "seconds": round(report.seconds)}
    if report.stopped:  # Ctrl-C or max_seconds: what was accepted is written all the same
        build["stopped"] = report.stopped
    builds = _builds(old) + [build]
    write_stage(path, stage, generator_record(tutor.llm, tutor.settings), builds[0] if len(builds) == 1 else builds,
                list(old.get("items", [])) + records, old.get("dropped_on_review"))
    return path, report, len(records)


def _builds(old: dict) -> list[dict]:
    build = old.get("build")
    return [] if not build else list(build) if isinstance(build, list) else [build]


def _seed_bank(engine: Engine, old: dict, chunks: list[Chunk]) -> None:
    """The file's items as accepted rows and the items review dropped as rejected ones: the
    build counts both as uses of their chunks, and checks new questions against the first."""
    shipped = ShippedFile(Path("extend"), int(old["stage"]), dict(old["generator"]), list(old["items"]))
    rows = rows_for([shipped], chunks, LoadReport())
    known = {c.id for c in chunks}
    for gone in old.get("dropped_on_review") or []:
        if gone.get("chunk_id") in known:
            rows.append(QuizItem(stage=int(old["stage"]), kind="dropped", question=gone["question"],
                                 answer="null", chunk_id=gone["chunk_id"], status="rejected",
                                 reasons=json.dumps([f"dropped on review: {gone['why']}"])))
    insert_missing(engine, rows)


def write_stage(path: Path, stage: int, generator: dict, build, records: list[dict],
                dropped: list[dict] | None = None) -> Path:
    header = (f"# Shipped quiz bank, stage {stage}: {len(records)} items written by the model named below\n"
              f"# (a false true/false statement whose explanation is 'The roadmap says: ...' is a\n"
              f"# source sentence with one detail swapped by rule, tutor/quiz/swaps.py)\n"
              f"# and passed by every validator. Regenerate with\n"
              f"#   tutor quiz build --stage {stage} --export corpus/quizzes\n"
              f"# and read eval/quiz_review.py's output before committing; never edit keys by hand.\n")
    body = {"stage": stage, "generator": generator, "build": build, "items": records}
    if dropped:
        body["dropped_on_review"] = dropped
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100))
    return path


# -- reading ----------------------------------------------------------------------------------

@dataclass
class ShippedFile:
    path: Path
    stage: int
    generator: dict
    items: list[dict]


def read_files(folder: Path) -> list[ShippedFile]:
    """Every stage file under `folder` (none when the folder is absent); a malformed file is
    an error naming it."""
    files = []
    for path in sorted(folder.glob(FILE_GLOB)) if folder.is_dir() else []:
        try:
            data = yaml.safe_load(path.read_text())
            files.append(ShippedFile(path, int(data["stage"]), dict(data["generator"]), list(data["items"])))
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise IngestError(f"shipped quiz file {path}: {type(exc).__name__}: {exc}: "
                              f"regenerate it with `tutor quiz build --stage N --export {folder}`") from None
    return files


def to_candidate(item: dict) -> Candidate:
    """A file item in the shape the validators check."""
    answer = item.get("answer")
    return Candidate(item.get("kind", ""), item.get("question", ""), answer, list(item.get("options") or []),
                     item.get("explanation", ""), item.get("fact", ""),
                     item.get("correction", "") or (item.get("question", "") if answer is True else ""))


def item_problems(item: dict, stage: int) -> list[str]:
    """Structural problems of one file item (no model, no embedder): schema, key shape, id."""
    if item.get("kind") not in KINDS:
        return [f"unknown kind {item.get('kind')!r}"]
    c = to_candidate(item)
    problems = schema_problems(c)
    if not problems and (problem := one_correct_problem(c)):
        problems.append(problem)
    if item.get("id") != item_id(stage, c.kind, c.question, c.options, c.answer):
        problems.append("id is not the hash of the item's content (edited by hand?)")
    if not (item.get("source") or {}).get("chunk_id"):
        problems.append("no source chunk")
    return problems


def holds(chunk: Chunk, sentence) -> bool:
    """Whether `chunk` still says `sentence` (as split by tutor.text.sentences, or verbatim)."""
    return isinstance(sentence, str) and (sentence in sentences(chunk.text) or sentence in chunk.text)


def unsourced(item: dict, chunks: dict[str, Chunk]) -> str | None:
    """Why the index no longer backs `item` (its chunk is gone or reworded); None if it does."""
    source = item.get("source") or {}
    chunk = chunks.get(source.get("chunk_id"))
    if chunk is None:
        return f"its source chunk {source.get('chunk_id')!r} is not in the index"
    if not holds(chunk, source.get("sentence")):
        return f"its source sentence is no longer in {chunk.id}"
    return None


@dataclass
class LoadReport:
    files: int = 0
    items: int = 0  # items that matched the index
    inserted: int = 0  # of those, rows new to this database
    dropped: list[str] = field(default_factory=list)  # "<file> <id>: why"

    def summary(self) -> str:
        if not self.files:
            return "no shipped quiz bank (no quizzes/ folder in the corpus): the model builds the bank"
        text = (f"shipped quiz bank: {self.items} items from {self.files} files, "
                f"{self.inserted} new to this database")
        return text + (f"; {len(self.dropped)} dropped (their source changed)" if self.dropped else "")


def rows_for(files: list[ShippedFile], chunks: list[Chunk], report: LoadReport) -> list[QuizItem]:
    by_id = {c.id: c for c in chunks}
    rows = []
    for f in files:
        model = f"{SHIPPED}:{f.generator.get('model')}"
        for item in f.items:
            why = "; ".join(item_problems(item, f.stage)) or unsourced(item, by_id)
            if why:
                report.dropped.append(f"{f.path.name} {item.get('id')}: {why}")
                continue
            chunk = by_id[item["source"]["chunk_id"]]
            rows.append(QuizItem(id=item["id"], stage=f.stage, concept_id=item.get("concept"),
                                 concepts=json.dumps(list(chunk.concepts)), kind=item["kind"],
                                 question=item["question"], options=json.dumps(item.get("options") or []),
                                 answer=json.dumps(item["answer"]), explanation=item.get("explanation", ""),
                                 fact=item.get("fact", ""), chunk_id=chunk.id, source_title=chunk.title,
                                 source=chunk.source, status="accepted",
                                 scores=json.dumps({"key": item.get("key_support"), "shipped": f.path.name}),
                                 backend=model))
    report.items = len(rows)
    return rows


def load_shipped(engine: Engine, corpus_dir: Path, chunks: list[Chunk]) -> LoadReport:
    """Put the corpus's shipped items that the index still backs into the bank; rows already
    there (same id) are left alone. No model call."""
    files = read_files(Path(corpus_dir) / FOLDER)
    report = LoadReport(files=len(files))
    rows = rows_for(files, chunks, report)
    if rows:
        report.inserted = insert_missing(engine, rows)
    return report


def insert_missing(engine: Engine, rows: list[QuizItem]) -> int:
    """Insert the rows whose id is not stored yet; how many were inserted. One statement
    that skips conflicting ids, so concurrent loaders never fail or duplicate."""
    values = [r.model_dump() for r in rows]
    dialect = engine.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = (insert(QuizItem.__table__).values(values).on_conflict_do_nothing(index_elements=["id"])
                     .returning(QuizItem.__table__.c.id))  # the ids this statement stored (rowcount is -1 on psycopg)
        with engine.begin() as conn:
            return len(conn.execute(statement).all())
    inserted = 0  # other databases: row by row, a conflict is someone else's insert
    for row in rows:
        with Session(engine) as session:
            if session.exec(select(QuizItem.id).where(QuizItem.id == row.id)).first():
                continue
            session.add(QuizItem(**row.model_dump()))
            try:
                session.commit()
                inserted += 1
            except IntegrityError:
                session.rollback()
    return inserted
