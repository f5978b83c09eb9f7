"""Build the index: corpus + operators' roots -> documents -> chunks -> vectors -> version.

Incremental by construction: a file whose bytes are unchanged keeps its chunks without
being parsed again, and any chunk whose text was embedded before reuses its stored vector,
so only new or edited text reaches the embedder. A file that disappeared from a root
simply is not in the new version. The set of operator roots is kept in the manifest, so
`tutor ingest` with no paths refreshes everything ingested before. A change to the code that
turns files into chunks (its digest is kept in the manifest) reads every file again, so an
upgrade never serves chunks the new code would not write; vectors of unchanged text are
still reused.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.chunking import chunk_document
from ingest.loaders import corpus_files, discover, load_file
from ingest.roadmap_docs import stage_papers
from tutor.config import Settings
from tutor.embed import DIMS, EMBEDDER_NAME, Embedder, embedder_name
from tutor.errors import IndexCorrupt, IndexMissing, IngestError
from tutor.index import LoadedIndex, load_index, text_hash, write_index
from tutor.runtime import Runtime
from tutor.types import Chunk

Progress = Callable[[int, int], None]


@dataclass
class IngestReport:
    files: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    # (source, flag): hidden text removed, or passages that read like instructions to a
    # model (ingest/scan.py); kept in the manifest, so every run names them until fixed
    flags: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    version: str | None = None  # None when nothing was written
    dry_run: bool = False
    reread: bool = False  # the ingest code changed since the previous version: every file was read again
    seconds: float = 0.0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# the code that turns a file into chunks (loaders, chunking, roadmap pages, sentence splits)
_PIPELINE_FILES = (*sorted(Path(__file__).parent.glob("*.py")),
                   Path(__file__).parents[1] / "tutor" / "text.py", Path(__file__).parents[1] / "tutor" / "roadmap.py")


def pipeline_digest() -> str:
    h = hashlib.sha256()
    for f in _PIPELINE_FILES:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _previous(index_dir: Path, rebuild: bool) -> LoadedIndex | None:
    if rebuild:
        return None
    try:
        return load_index(index_dir)
    except IndexMissing:
        return None
    except IndexCorrupt:
        return None  # rebuild from scratch; the broken version is replaced atomically


def _sources(settings: Settings, roots: list[Path]) -> list[tuple[str, Path, bool]]:
    """(source name, path, is_user) for every file to index."""
    corpus = settings.corpus_dir.resolve()
    found = [(f"corpus/{f.relative_to(corpus).as_posix()}", f, False) for f in corpus_files(corpus)]
    for f in discover(roots):
        found.append((str(f.resolve()), f, True))
    return list({s: (s, p, u) for s, p, u in found}.values())


def build_index(
    settings: Settings,
    paths: list[Path] = (),
    *,
    rebuild: bool = False,
    dry_run: bool = False,
    forget: list[Path] = (),
    on_progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport(dry_run=dry_run)
    prev = _previous(settings.index_dir, rebuild)
    old_files: dict[str, str] = prev.manifest.get("files", {}) if prev else {}
    pipeline = pipeline_digest()
    same_pipeline = prev is not None and prev.manifest.get("pipeline") == pipeline
    report.reread = prev is not None and not same_pipeline
    old_flags: dict[str, list[str]] = prev.manifest.get("flags", {}) if prev else {}
    gone = {str(p.resolve()) for p in forget}
    roots = [Path(r) for r in (prev.manifest.get("roots", []) if prev else []) if r not in gone]
    for p in paths:
        if not p.exists():
            raise IngestError(f"no such file or directory: {p}")
        if str(p.resolve()) not in map(str, roots):
            roots.append(p.resolve())
    missing_roots = [r for r in roots if not r.exists()]
    roots = [r for r in roots if r.exists()]
    report.skipped += [(str(r), "root no longer exists; its chunks were removed") for r in missing_roots]

    old_chunks: dict[str, list[Chunk]] = {}
    for c in prev.chunks if prev else []:
        old_chunks.setdefault(c.source, []).append(c)

    chunks: list[Chunk] = []
    files: dict[str, str] = {}
    for source, path, is_user in _sources(settings, roots):
        try:
            digest = _sha(path)
        except OSError as exc:
            report.skipped.append((source, exc.strerror or str(exc)))
            continue
        if same_pipeline and old_files.get(source) == digest and source in old_chunks:
            chunks += old_chunks[source]
            files[source] = digest
            report.flags += [(source, f) for f in old_flags.get(source, [])]
            continue
        flags: list = []
        try:
            docs = load_file(path, source, user=is_user, flags=flags)
        except IngestError as exc:
            if not is_user:
                raise IngestError(f"shipped corpus file {source}: {exc}") from None
            report.skipped.append((source, str(exc)))
            continue
        if old_files.get(source) != digest:
            (report.changed if source in old_files else report.added).append(source)
        report.flags += [(source, str(f)) for f in flags]
        files[source] = digest
        for doc in docs:
            chunks += chunk_document(doc)
    for doc in stage_papers(chunks):  # made from the chunks of several files: never cached
        chunks += chunk_document(doc)
    report.removed = sorted(set(old_files) - set(files))
    report.files, report.chunks = len(files), len(chunks)
    _check_unique(chunks)

    known = prev.vectors_by_hash() if prev else {}
    todo = [i for i, c in enumerate(chunks) if text_hash(c.embed_text) not in known]
    report.embedded = len(todo)
    unchanged = same_pipeline and not (report.added or report.changed or report.removed) \
        and [c.id for c in prev.chunks] == [c.id for c in chunks]
    if dry_run or unchanged:
        report.seconds = time.perf_counter() - started
        return report

    vectors = np.zeros((len(chunks), DIMS), dtype=np.float32)
    for i, c in enumerate(chunks):
        if (v := known.get(text_hash(c.embed_text))) is not None:
            vectors[i] = v
    if todo:
        # ingest has the cores the model would use while serving (Runtime.for_ingest)
        embedder = embedder or Runtime.for_ingest(settings).embedder
        batch = 64
        for start in range(0, len(todo), batch):
            ids = todo[start:start + batch]
            vectors[ids] = embedder.encode([chunks[i].embed_text for i in ids])
            if on_progress:
                on_progress(min(start + batch, len(todo)), len(todo))
    flagged: dict[str, list[str]] = {}
    for source, flag in report.flags:
        flagged.setdefault(source, []).append(flag)
    manifest = {"embedder": _embedder_record(prev, embedder if todo else None, len(chunks) - len(todo)),
                "files": files, "pipeline": pipeline, "flags": flagged, "roots": [str(r) for r in roots], "corpus_dir": str(settings.corpus_dir.resolve())}
    report.version = write_index(settings.index_dir, chunks, vectors, manifest)
    report.seconds = time.perf_counter() - started
    return report


def _embedder_record(prev: LoadedIndex | None, embedder: Embedder | None, reused: int) -> str:
    """Which embedder made this version's vectors, e.g. "all-MiniLM-L6-v2/onnx-int8".
    Vectors reused from the previous version keep its name; new ones carry the name of the
    embedder that made them ("a + b" when a version holds both). The backends agree to
    cosine ~0.999, so a mix is fine to query: this only records it."""
    names = []
    if reused and prev is not None:
        for name in str(prev.manifest.get("embedder", EMBEDDER_NAME)).split("+"):
            # versions written before the ONNX backend existed were all made by torch
            names.append(embedder_name("torch") if name.strip() == EMBEDDER_NAME else name.strip())
    if embedder is not None:
        names.append(embedder.name)
    return " + ".join(sorted(set(names))) or embedder_name("torch")


def _check_unique(chunks: list[Chunk]) -> None:
    seen: dict[str, str] = {}
    for c in chunks:
        if c.id in seen:
            raise IngestError(f"two documents share the id {c.doc_id!r} ({seen[c.id]} and {c.source})")
        seen[c.id] = c.source
