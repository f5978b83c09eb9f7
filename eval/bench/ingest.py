"""Ingest throughput on the shipped corpus: `ingest.build.build_index(rebuild=True)` into
a fresh temporary directory, against a LangChain pipeline over the same files
(TextLoader for every file, roadmap.yaml included; RecursiveCharacterTextSplitter(1000,
100); FAISS.from_documents with the same embedder through HuggingFaceEmbeddings).

Both sides are timed end to end, embedder load included (ours builds its Embedder inside
build_index), on 2 torch threads: ingest is batch work. A warm-up loads the model files
and imports first, so neither side pays for a cold page cache. Builds run in ABBA order
(ours, baseline, baseline, ours, ...) and each side reports its median. The two chunkers
cut different chunks, so chunks/s comes with characters embedded per second and the plain
wall-time ratio over the same files. Also: the no-op re-ingest (unchanged tree).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from eval.bench.common import (
    clock, console, fmt, pin_threads, quiet_libraries, ratio, table,
)

THREADS = 2


def _embeddings():
    from langchain_huggingface import HuggingFaceEmbeddings

    from tutor.assets import embedder_path

    return HuggingFaceEmbeddings(model_name=str(embedder_path()),
                                 encode_kwargs={"normalize_embeddings": True})


def build_ours(corpus_dir: Path) -> dict:
    from ingest.build import build_index
    from tutor.config import load_settings
    from tutor.index import load_index

    with tempfile.TemporaryDirectory(prefix="roadmap-tutor-ingest-") as tmp:
        settings = load_settings(index_dir=Path(tmp), corpus_dir=corpus_dir, llm_threads=THREADS)
        started = clock()
        report = build_index(settings, rebuild=True)
        seconds = clock() - started
        chars = sum(len(c.embed_text) for c in load_index(Path(tmp)).chunks)
        started = clock()
        noop = build_index(settings)
        noop_s = clock() - started
    return {"files": report.files, "chunks": report.chunks, "embedded": report.embedded,
            "chars": chars, "seconds": seconds,
            "noop": {"seconds": noop_s, "embedded": noop.embedded, "wrote_version": noop.version is not None}}


def build_baseline(corpus_dir: Path) -> dict:
    from langchain_community.document_loaders import TextLoader
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest.loaders import corpus_files

    started = clock()
    files = corpus_files(corpus_dir)
    docs = [d for f in files for d in TextLoader(str(f), encoding="utf-8").load()]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100).split_documents(docs)
    store = FAISS.from_documents(chunks, _embeddings())
    seconds = clock() - started
    assert store.index.ntotal == len(chunks)
    return {"files": len(files), "chunks": len(chunks), "embedded": len(chunks),
            "chars": sum(len(c.page_content) for c in chunks), "seconds": seconds}


def _warm_up() -> None:
    from tutor.embed import Embedder

    Embedder(threads=THREADS).encode(["warm-up"])
    _embeddings().embed_documents(["warm-up"])


def run(rounds: int = 2) -> dict:
    quiet_libraries()
    from tutor.config import load_settings

    corpus_dir = load_settings().corpus_dir
    pin_threads(THREADS)
    _warm_up()
    ours, theirs = [], []
    for r in range(2 * rounds):
        first_ours = r % 4 in (0, 3)  # ABBA
        console.print(f"[dim]build {r + 1}/{2 * rounds}: {'ours' if first_ours else 'baseline'}[/]")
        pin_threads(THREADS)
        (ours if first_ours else theirs).append(
            build_ours(corpus_dir) if first_ours else build_baseline(corpus_dir))
    return _report(ours, theirs, rounds)


def _side(runs: list[dict]) -> dict:
    seconds = statistics.median(r["seconds"] for r in runs)
    last = runs[-1]
    return {**{k: last[k] for k in ("files", "chunks", "embedded", "chars")}, "seconds": seconds,
            "runs_s": [r["seconds"] for r in runs], "chunks_per_s": last["chunks"] / seconds,
            "chars_per_s": last["chars"] / seconds}


def _report(ours_runs: list[dict], theirs_runs: list[dict], rounds: int) -> dict:
    o, t = _side(ours_runs), _side(theirs_runs)
    noop = {"seconds": statistics.median(r["noop"]["seconds"] for r in ours_runs),
            "embedded": ours_runs[-1]["noop"]["embedded"],
            "wrote_version": any(r["noop"]["wrote_version"] for r in ours_runs)}
    rows = [[name, s["files"], s["chunks"], s["chars"], s["seconds"], fmt(s["chunks_per_s"], 1),
             fmt(s["chars_per_s"], 0)] for name, s in
            (("ours: build_index(rebuild=True)", o), ("baseline: LangChain loaders+splitter+FAISS", t))]
    console.print(table(f"Ingest of the shipped corpus (median of {rounds} builds each, ABBA order, "
                        f"{THREADS} torch threads, embedder load included)",
                        ["", "files", "chunks", "chars embedded", "seconds", "chunks/s", "chars/s"], rows))
    r_chunks, r_chars = ratio(o["chunks_per_s"], t["chunks_per_s"]), ratio(o["chars_per_s"], t["chars_per_s"])
    speed = ratio(t["seconds"], o["seconds"])
    console.print(table("Ratios ours / baseline (higher is faster)", ["", "value"], [
        ["chunks/s ours / baseline", r_chunks], ["chars/s ours / baseline", r_chars],
        ["wall time baseline / ours (same files)", speed]]))
    console.print(table("No-op re-ingest (unchanged tree, ours)", ["", "value"], [
        ["seconds", fmt(noop["seconds"], 3)], ["chunks embedded", noop["embedded"]],
        ["new index version written", "yes" if noop["wrote_version"] else "no"]]))
    return {"threads": THREADS, "rounds": rounds, "ours": o, "baseline": t,
            "ratio_chunks_per_s": r_chunks, "ratio_chars_per_s": r_chars,
            "wall_speedup_baseline_over_ours": speed, "noop_reingest": noop}
