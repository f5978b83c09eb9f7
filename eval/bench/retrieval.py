"""Retrieval latency: our hybrid Retriever (dense + BM25, rank fusion) against a LangChain
FAISS store over the same chunks and the same embedder, top-4 per query.

Ours uses the default Embedder (int8 ONNX in onnxruntime once
`python -m tutor.embedder_build` has built it, else torch: the table says which); the
baseline embeds with torch through HuggingFaceEmbeddings, as a newcomer's LangChain app
would. Both run in this process on one thread (onnxruntime or torch) and one FAISS
thread. After a warm-up pass
the two are interleaved query by query (who goes first alternates), so a noisy neighbour
on the shared machine slows both alike instead of whichever ran during the burst.
"""

from __future__ import annotations

from pathlib import Path

from eval.bench.common import (
    clock, console, index_under_test, load_queries, no_gc, pin_threads, quiet_libraries,
    ratio, summary, table, verdict,
)

from tutor.embed import BACKEND_TAGS

K = 4
P95_TARGET_MS = 30.0


def _ours(index_dir: Path):
    from tutor.embed import Embedder
    from tutor.index import load_index
    from tutor.retrieve import Retriever

    embedder = Embedder(threads=1)  # the default backend, as the service runs it
    if embedder.note:
        console.print(f"[yellow]{embedder.note}[/]")
    return Retriever(load_index(index_dir), embedder)


def _baseline(chunks):
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    from tutor.assets import embedder_path

    embeddings = HuggingFaceEmbeddings(model_name=str(embedder_path()),
                                       encode_kwargs={"normalize_embeddings": True})
    return FAISS.from_texts([c.embed_text for c in chunks], embeddings,
                            metadatas=[{"id": c.id} for c in chunks])


def _interleave(queries: list[str], ours, theirs, rounds: int) -> tuple[list, list, list, list, list]:
    """Latencies in ms for each side, each side's query embedding alone (where the time
    goes), and the top-k overlap of each query's results."""
    ours_ms, theirs_ms, embed_ms, their_embed_ms, overlap = [], [], [], [], []

    def run_ours(q):
        t = clock()
        hits = ours.search(q, K)
        ours_ms.append((clock() - t) * 1000)
        return {h.chunk.id for h in hits}

    def run_theirs(q):
        t = clock()
        docs = theirs.similarity_search(q, k=K)
        theirs_ms.append((clock() - t) * 1000)
        return {d.metadata["id"] for d in docs}

    with no_gc():
        for r in range(rounds):
            for i, q in enumerate(queries):
                if (r + i) % 2 == 0:
                    a, b = run_ours(q), run_theirs(q)
                else:
                    b, a = run_theirs(q), run_ours(q)
                t = clock()
                ours.embedder.encode_one(q)
                embed_ms.append((clock() - t) * 1000)
                t = clock()
                theirs.embeddings.embed_query(q)
                their_embed_ms.append((clock() - t) * 1000)
                if r == 0:
                    overlap.append(len(a & b) / K)
    return ours_ms, theirs_ms, embed_ms, their_embed_ms, overlap


def run(rounds: int = 5) -> dict:
    quiet_libraries()
    queries = [e["q"] for e in load_queries()]
    with index_under_test("retrieval") as (index_dir, info):
        pin_threads(2)  # building the baseline store is batch work, not timed
        ours = _ours(index_dir)
        theirs = _baseline(ours.index.chunks)
        pin_threads(1)
        for q in queries:  # warm-up: tokenizer caches, BM25 arrays, allocator
            ours.search(q, K)
            theirs.similarity_search(q, k=K)
        ours_ms, theirs_ms, embed_ms, their_embed_ms, overlap = _interleave(queries, ours, theirs, rounds)
    return _report(queries, rounds, info, len(ours.index.chunks), ours.embedder,
                   ours_ms, theirs_ms, embed_ms, their_embed_ms, overlap)


def _report(queries, rounds, info, chunks, embedder, ours_ms, theirs_ms, embed_ms, their_embed_ms,
            overlap) -> dict:
    o, t, e, te = summary(ours_ms), summary(theirs_ms), summary(embed_ms), summary(their_embed_ms)
    r50, r95 = ratio(o["p50"], t["p50"]), ratio(o["p95"], t["p95"])
    tag = BACKEND_TAGS[embedder.backend]
    rows = [[f"ours: Retriever (dense + BM25, RRF), {tag} embedder", o["n"], o["p50"], o["p95"], o["mean"]],
            ["baseline: LangChain FAISS similarity_search", t["n"], t["p50"], t["p95"], t["mean"]],
            [f"(diagnostic) our query embedding alone ({tag})", e["n"], e["p50"], e["p95"], e["mean"]],
            ["(diagnostic) baseline query embedding alone (torch)", te["n"], te["p50"], te["p95"], te["mean"]]]
    console.print(table(
        f"Retrieval latency, top-{K}, ms ({len(queries)} queries x {rounds} rounds, interleaved, "
        f"{chunks} chunks, 1 thread)", ["", "n", "p50", "p95", "mean"], rows))
    console.print(table("Ratio ours / baseline (lower is faster)", ["", "p50", "p95"],
                        [["ours / baseline", r50, r95]],
                        caption=f"top-{K} overlap with baseline: {sum(overlap) / len(overlap):.2f}"))
    p95_ok, not_slower = o["p95"] <= P95_TARGET_MS, r50 <= 1.0 and r95 <= 1.0
    console.print(table("Targets (reported, never enforced)", ["target", "measured", "result"], [
        [f"p95 <= {P95_TARGET_MS:.0f} ms", f"{o['p95']:.2f} ms", verdict(p95_ok)],
        ["no slower than baseline (p50 and p95 ratio <= 1.00)", f"{r50:.2f} / {r95:.2f}",
         verdict(not_slower)]]))
    return {"queries": len(queries), "rounds": rounds, "k": K, "chunks": chunks, "index": info,
            "embedder": embedder.name, "embedder_note": embedder.note,
            "ours_ms": o, "baseline_ms": t, "query_embedding_ms": e, "baseline_query_embedding_ms": te,
            "ratio_p50": r50, "ratio_p95": r95,
            "topk_overlap": sum(overlap) / len(overlap),
            "targets": {"p95_le_30ms": p95_ok, "not_slower_than_baseline": not_slower}}
