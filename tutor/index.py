"""The on-disk index: a directory of immutable versions and a CURRENT pointer.

    <index_dir>/CURRENT                 name of the live version (replaced atomically)
    <index_dir>/versions/<v>/manifest.json   embedder, dims, chunk count, content hash, files
    <index_dir>/versions/<v>/dense.faiss     inner product over unit vectors (= cosine)
    <index_dir>/versions/<v>/bm25/           bm25s index over the same chunk order
    <index_dir>/versions/<v>/chunks.db       chunk rows (SQLite through sqlmodel)

A reader resolves CURRENT once and reads only that version, so a concurrent ingest can
never show it a mix of old and new files. Ingest writes a new version next to the old
one and switches CURRENT with os.replace; the last two versions are kept.

Faults: a version is written in a hidden temporary directory, fsynced, and renamed into
place before CURRENT names it, so an ingest killed at any moment (kill -9, power loss)
leaves CURRENT on a complete version, the old or the new; what a killed ingest left behind
is removed by the next one. A write that fails (a full disk) removes its temporary files
and raises IngestError naming the cause; the live version is untouched.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import MetaData
from sqlmodel import Field, Session, SQLModel, create_engine, select

from tutor.errors import IndexCorrupt, IndexMissing, IngestError
from tutor.types import Chunk

FORMAT = 1
KEEP_VERSIONS = 2


class IndexTable(SQLModel):
    """Tables of an index version's own chunks.db. Their own MetaData keeps them out of the
    service database's (SQLModel.metadata), which create_all and the migrations work from."""

    metadata = MetaData()


class ChunkRow(IndexTable, table=True):
    __tablename__ = "chunks"
    position: int = Field(primary_key=True)  # row in FAISS and BM25
    id: str = Field(index=True, unique=True)
    doc_id: str = Field(index=True)
    text: str
    title: str
    kind: str = Field(index=True)
    source: str = Field(index=True)
    stage: int | None = Field(default=None, index=True)
    concepts: str = "[]"  # JSON list
    text_hash: str = Field(index=True)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def content_hash(chunks: list[Chunk]) -> str:
    digest = hashlib.sha256()
    for c in chunks:
        digest.update(f"{c.id}\0{c.kind}\0{c.stage}\0{c.text}\0".encode())
    return digest.hexdigest()


def _row(position: int, c: Chunk) -> ChunkRow:
    return ChunkRow(position=position, id=c.id, doc_id=c.doc_id, text=c.text, title=c.title,
                    kind=c.kind, source=c.source, stage=c.stage,
                    concepts=json.dumps(list(c.concepts)), text_hash=text_hash(c.embed_text))


def _chunk(row: ChunkRow) -> Chunk:
    return Chunk(row.id, row.doc_id, row.text, row.title, row.kind, row.source, row.stage,
                 tuple(json.loads(row.concepts)))


@dataclass
class LoadedIndex:
    version: str
    path: Path
    manifest: dict
    chunks: list[Chunk]
    dense: object  # faiss.Index
    bm25: object  # bm25s.BM25

    def vectors_by_hash(self) -> dict[str, np.ndarray]:
        """Stored embeddings keyed by the hash of the text they embed (ingest reuses them)."""
        hashes = self.manifest.get("text_hashes", [])
        if len(hashes) != len(self.chunks) or self.dense.ntotal != len(self.chunks):
            return {}
        vectors = self.dense.reconstruct_n(0, self.dense.ntotal)
        return dict(zip(hashes, vectors))


def _engine(db_path: Path):
    return create_engine(f"sqlite:///{db_path}")


def current_version(index_dir: Path) -> str | None:
    pointer = index_dir / "CURRENT"
    return pointer.read_text().strip() if pointer.is_file() else None


def load_index(index_dir: Path) -> LoadedIndex:
    """Open the live version; IndexMissing or IndexCorrupt say how to fix it."""
    import bm25s
    import faiss

    version = current_version(index_dir)
    if version is None:
        raise IndexMissing(f"no index at {index_dir}: run `tutor ingest` first")
    path = index_dir / "versions" / version
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        dense = faiss.read_index(str(path / "dense.faiss"))
        bm25 = bm25s.BM25.load(str(path / "bm25"))
        engine = _engine(path / "chunks.db")
        with Session(engine) as session:
            rows = session.exec(select(ChunkRow).order_by(ChunkRow.position)).all()
        engine.dispose()
        chunks = [_chunk(r) for r in rows]
    except Exception as exc:  # faiss raises RuntimeError, json ValueError, sqlite its own
        raise IndexCorrupt(
            f"index version {version} at {index_dir} cannot be read ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}): "
            "rebuild it with `tutor ingest --rebuild`"
        ) from None
    if manifest.get("format") != FORMAT or not (len(chunks) == dense.ntotal == manifest.get("chunks")):
        raise IndexCorrupt(
            f"index version {version} at {index_dir} is inconsistent (manifest says "
            f"{manifest.get('chunks')} chunks, found {len(chunks)} rows and {dense.ntotal} vectors): "
            "rebuild it with `tutor ingest --rebuild`"
        )
    return LoadedIndex(version, path, manifest, chunks, dense, bm25)


def write_index(index_dir: Path, chunks: list[Chunk], vectors: np.ndarray, manifest: dict) -> str:
    """Write a new version and make it live atomically; returns its name. On failure the
    live version stays as it was and IngestError says why."""
    # Names sort in creation order (pruning relies on it), even for builds within a second.
    # One clock reading for both parts: two could straddle a second and sort out of order.
    now = time.time_ns()
    version = time.strftime("v%Y%m%d-%H%M%S", time.gmtime(now // 10**9)) + f"-{now % 10**9:09d}-{os.getpid()}"
    versions = index_dir / "versions"
    tmp = versions / f".{version}.tmp"
    versions.mkdir(parents=True, exist_ok=True)
    remove_leftovers(index_dir)
    live = current_version(index_dir)
    try:
        tmp.mkdir()
        _write_files(tmp, chunks, vectors, {**manifest, "version": version})
        os.replace(tmp, versions / version)
        _fsync_dir(versions)
        _point_to(index_dir, version)
    except Exception as exc:  # OSError (ENOSPC), faiss's RuntimeError, sqlite's OperationalError
        shutil.rmtree(tmp, ignore_errors=True)
        if current_version(index_dir) != version:
            shutil.rmtree(versions / version, ignore_errors=True)
        raise IngestError(f"could not write a new index version in {index_dir} ({_cause(exc, index_dir)}); "
                          + (f"version {live} is still the one served" if live else "no version is served yet")
                          + ": fix that and run `tutor ingest` again") from exc
    _prune(versions, keep={version})
    return version


def _write_files(tmp: Path, chunks: list[Chunk], vectors: np.ndarray, manifest: dict) -> None:
    import bm25s
    import faiss

    from tutor.text import terms

    dense = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        dense.add(vectors)
    faiss.write_index(dense, str(tmp / "dense.faiss"))
    bm25 = bm25s.BM25()
    # bm25s cannot index an empty corpus; one empty token keeps the file shape uniform.
    bm25.index([terms(c.embed_text) or ["\x00"] for c in chunks] or [["\x00"]], show_progress=False)
    bm25.save(str(tmp / "bm25"))
    engine = _engine(tmp / "chunks.db")
    IndexTable.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(_row(i, c) for i, c in enumerate(chunks))
        session.commit()
    engine.dispose()
    manifest = {**manifest, "format": FORMAT, "chunks": len(chunks),
                "dims": int(vectors.shape[1]), "content_hash": content_hash(chunks),
                "text_hashes": [text_hash(c.embed_text) for c in chunks]}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    for path in sorted(tmp.rglob("*"), reverse=True):  # on disk before the rename makes it live
        _fsync(path)
    _fsync(tmp)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):  # some filesystems cannot sync a directory
            raise


def _point_to(index_dir: Path, version: str) -> None:
    pointer = index_dir / f".CURRENT.{os.getpid()}.tmp"
    try:
        with open(pointer, "w") as f:
            f.write(version + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(pointer, index_dir / "CURRENT")
    finally:
        pointer.unlink(missing_ok=True)
    _fsync_dir(index_dir)


def _cause(exc: BaseException, index_dir: Path) -> str:
    text = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}"
    free = shutil.disk_usage(index_dir).free
    full = (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or any(
        sign in text for sign in ("No space left", "disk is full", "Disk quota"))
    # a short write (numpy, bm25s) carries no errno: "8005 requested and 3040 written"
    full = full or bool(re.search(r"\d+ requested and \d+ written", text))
    return f"{'the disk is full; ' if full else ''}{text}; {free // 1024} KiB free there"


_LEFTOVER = re.compile(r"^\.(?:v[\d-]+|CURRENT)[.-](\d+)\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(index_dir: Path) -> list[str]:
    """Delete what an ingest that was killed left behind: temporary version directories and
    pointer files of processes that no longer run. Returns their names."""
    found = [p for d in (index_dir, index_dir / "versions") if d.is_dir() for p in d.iterdir()]
    gone = []
    for path in found:
        m = _LEFTOVER.match(path.name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            gone.append(path.name)
    return gone


def _prune(versions: Path, keep: set[str]) -> None:
    names = sorted((p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
                   reverse=True)
    for name in names[KEEP_VERSIONS:]:
        if name not in keep:
            shutil.rmtree(versions / name, ignore_errors=True)
