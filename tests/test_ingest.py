"""Ingest end to end with the real parts: loaders for every format, heading-aware
chunking, the real embedder, FAISS + bm25s + SQLite index versions, incremental
re-ingest, and the `tutor ingest` command.

Every build except the session's `corpus_index` points `corpus_dir` at a tiny roadmap
written by the `tiny_corpus` fixture, so a build takes well under a second.
"""

from __future__ import annotations

import json
from dataclasses import replace
import os
import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ingest.build import build_index
from ingest.chunking import MAX_CHARS, chunk_document
from tutor.errors import IndexCorrupt, IndexMissing, IngestError
from tutor.index import current_version, load_index
from tutor.retrieve import Retriever
from tutor.types import Document

TUTOR = Path(sys.executable).parent / "tutor"


# --- helpers -------------------------------------------------------------------------------

def make_pdf(text: str) -> bytes:
    """A minimal valid one-page PDF showing `text` in Helvetica, with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def tiny_roadmap(prefix: str = "") -> dict:
    """A small roadmap in the corpus schema (two stages, four concepts)."""
    def concept(cid, stage, pre, summary):
        return {"id": f"{prefix}{cid}", "name": f"{prefix}{cid}".replace("-", " ").title(), "stage": stage,
                "prerequisites": [f"{prefix}{p}" for p in pre], "summary": summary}

    return {
        "roadmap": {"id": f"{prefix}tiny-roadmap", "title": f"{prefix}Tiny roadmap".strip(),
                    "summary": "A two-stage roadmap used by the tests.", "duration": "4 weeks",
                    "prerequisites": ["basic Python"]},
        "stages": [
            {"id": 1, "slug": "basics", "title": "Basics", "weeks": [1, 2],
             "goal": "Learn Python and NumPy well enough to load and plot data.",
             "milestone": "A notebook that cleans and plots a dataset.",
             "week_plan": [{"weeks": [1, 2], "focus": "Python and NumPy"}]},
            {"id": 2, "slug": "models", "title": "Models", "weeks": [3, 4],
             "goal": "Train a first linear model and evaluate it honestly.",
             "milestone": "A regression model with a cross-validated score."},
        ],
        "concepts": [
            concept("python", 1, [], "Python is the language of the roadmap."),
            concept("numpy", 1, ["python"], "NumPy holds arrays and vectorised maths."),
            concept("linear-models", 2, ["numpy"], "Linear models fit a weighted sum of features."),
            concept("evaluation", 2, ["linear-models"], "Evaluation compares models on held-out data."),
        ],
    }


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def src(path: Path) -> str:
    """The source name ingest gives an operator's file: its absolute path."""
    return str(path.resolve())


def versions(index_dir: Path) -> set[str]:
    return {p.name for p in (index_dir / "versions").iterdir() if not p.name.startswith(".")}


def chunks_from(index, path: Path) -> list:
    return [c for c in index.chunks if c.source == src(path)]


def section(title: str, marker: str, n: int = 3) -> str:
    sentences = [f"This paragraph about {title.lower()} mentions {marker} in sentence {i}." for i in range(n)]
    return f"## {title}\n" + " ".join(sentences) + "\n"


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    corpus = tmp_path_factory.mktemp("tiny-corpus")
    (corpus / "roadmap.yaml").write_text(yaml.safe_dump(tiny_roadmap(), sort_keys=False))
    return corpus


@pytest.fixture
def tiny_settings(settings_factory, tiny_corpus):
    return settings_factory(corpus_dir=tiny_corpus)


@pytest.fixture
def build(tiny_settings, embedder):
    """build(paths=(), **options) -> IngestReport against the tiny corpus and tmp index."""
    def run(paths=(), **options):
        return build_index(tiny_settings, list(paths), embedder=embedder, **options)
    return run


# --- chunking ------------------------------------------------------------------------------

LONG_DOC = Document(
    id="guide-x", title="Guide X", kind="guide", source="corpus/guides/guide-x.md", stage=3,
    concepts=("attention", "transformers"),
    text=(
        "## First topic\n" + "Attention lets every token look at every other token. " * 4 + "\n\n"
        "## Second topic\n" + "Transformers stack attention and feed-forward layers. " * 4 + "\n\n"
        "## Very long topic\n" + "\n\n".join(
            f"Paragraph {i} explains one more detail of long sections in depth. " * 5 for i in range(8))
    ),
)


def test_chunks_follow_headings_and_keep_metadata():
    chunks = chunk_document(LONG_DOC)
    assert [c.title for c in chunks[:2]] == ["Guide X — First topic", "Guide X — Second topic"]
    assert chunks[0].text.startswith("Attention lets") and "Transformers" not in chunks[0].text
    for c in chunks:
        assert (c.doc_id, c.kind, c.stage, c.concepts, c.source) == (
            "guide-x", "guide", 3, ("attention", "transformers"), "corpus/guides/guide-x.md")
        assert c.embed_text.startswith(c.title + "\n")


def test_long_sections_split_below_max_chars():
    chunks = chunk_document(LONG_DOC)
    long_parts = [c for c in chunks if c.title == "Guide X — Very long topic"]
    assert len(long_parts) >= 3
    assert all(0 < len(c.text) <= MAX_CHARS for c in chunks)
    # Nothing is lost or duplicated when splitting.
    joined = " ".join(" ".join(c.text.split()) for c in long_parts)
    original = " ".join(LONG_DOC.text.split("## Very long topic", 1)[1].split())
    assert joined == original


def test_run_on_text_without_sentence_breaks_is_split_too():
    """PDF pages and HTML cells often have no sentence punctuation at all."""
    words = " ".join(f"word{i}" for i in range(600))  # ~5,000 chars, one "sentence"
    doc = Document("user:x", "X", f"## Table\n{words}", "user", "/x.html")
    chunks = chunk_document(doc)
    assert all(len(c.text) <= MAX_CHARS for c in chunks), [len(c.text) for c in chunks]
    assert " ".join(c.text for c in chunks).split() == words.split()


def test_chunk_ids_are_stable():
    first = chunk_document(LONG_DOC)
    again = chunk_document(LONG_DOC)
    assert [c.id for c in first] == [c.id for c in again] == [f"guide-x#{i}" for i in range(len(first))]
    # Editing a sentence inside a section keeps every id (only that chunk's text changes).
    edited = Document(**{**LONG_DOC.__dict__, "text": LONG_DOC.text.replace(
        "Transformers stack", "Transformers interleave", 1)})
    after = chunk_document(edited)
    assert [c.id for c in after] == [c.id for c in first]
    changed = [a.id for a, b in zip(first, after) if a.text != b.text]
    assert changed == ["guide-x#1"]


def test_short_preamble_and_sections_are_merged():
    doc = Document("d", "D", "Intro line.\n\n## Tiny\nShort.\n\n## Big\n" + "Enough words here. " * 20,
                   "faq", "corpus/faq/d.md")
    chunks = chunk_document(doc)
    assert len(chunks) == 1
    assert "Intro line." in chunks[0].text and "Short." in chunks[0].text


# --- every file format ---------------------------------------------------------------------

MARKERS = {
    "front.md": "plinketta",
    "plain.md": "quorvish",
    "notes.txt": "thrumbold",
    "page.html": "vexillarium",
    "scan.pdf": "zedpdfmark",
    "extra.yaml": "gribbleworth",
}


@pytest.fixture(scope="module")
def formats(tmp_path_factory, tiny_corpus, embedder):
    """A folder with one file per format (plus a corrupt PDF), ingested once."""
    from tutor.config import load_settings

    root = tmp_path_factory.mktemp("formats")
    extra = tiny_roadmap(prefix="side-")
    extra["concepts"][1]["summary"] = "Side NumPy notes mention gribbleworth arrays."
    write_tree(root, {
        "front.md": "---\ntitle: Front matter notes\nstage: 2\nconcepts: [pytorch]\n---\n"
                    "## Overview\nThese notes use the word plinketta for a training trick.\n",
        "plain.md": "# Plain notes\n\n## Habitat\nThe quorvish is a made-up word in plain Markdown.\n",
        "notes.txt": "Plain text notes\n\nThe thrumbold method is explained in this text file.\n",
        "page.html": "<html><head><title>Web page</title>"
                     "<style>.stylesecretcolor { color: red }</style></head><body>"
                     "<h1>Web page heading</h1><p>The vexillarium appears in a paragraph.</p>"
                     "<script>var scriptsecretmarker = 1;</script>"
                     "<ul><li>A list item about gradient descent.</li></ul></body></html>",
        "scan.pdf": make_pdf("The zedpdfmark word is printed in this PDF"),
        "broken.pdf": b"%PDF-1.4\n" + random.Random(7).randbytes(2000),
        "extra.yaml": yaml.safe_dump(extra, sort_keys=False),
    })
    settings = load_settings(index_dir=tmp_path_factory.mktemp("formats-index"), corpus_dir=tiny_corpus)
    report = build_index(settings, [root], embedder=embedder)
    index = load_index(settings.index_dir)
    return root, report, index, Retriever(index, embedder)


@pytest.mark.parametrize("name", MARKERS)
def test_each_format_is_searchable(formats, name):
    root, report, index, retriever = formats
    path = root / name
    assert src(path) in report.added
    assert chunks_from(index, path), f"no chunks from {name}"
    for kinds in (None, ("user",)):
        top = retriever.search(MARKERS[name], k=3, kinds=kinds)[0].chunk
        assert top.source == src(path) and top.kind == "user"
        assert MARKERS[name] in top.text.lower()


def test_user_chunks_are_kind_user_with_absolute_sources(formats):
    root, report, index, retriever = formats
    user = [c for c in index.chunks if c.kind == "user"]
    assert {c.source for c in user} == {src(root / n) for n in MARKERS}
    assert all(Path(c.source).is_absolute() for c in user)
    corpus = [c for c in index.chunks if c.kind != "user"]
    assert corpus and all(c.source == "corpus/roadmap.yaml" for c in corpus)
    # The kind filter excludes user material entirely.
    for hit in retriever.search("plinketta quorvish thrumbold", k=10, kinds=("roadmap",)):
        assert hit.chunk.kind == "roadmap"


def test_front_matter_of_user_markdown_is_kept(formats):
    root, _, index, _ = formats
    [chunk] = chunks_from(index, root / "front.md")
    assert (chunk.title, chunk.stage, chunk.concepts) == ("Front matter notes — Overview", 2, ("pytorch",))
    assert "title:" not in chunk.text


def test_user_yaml_roadmap_becomes_user_documents(formats):
    root, _, index, _ = formats
    chunks = chunks_from(index, root / "extra.yaml")
    assert len(chunks) >= 7  # overview, 2 stages, 4 concepts
    assert all(c.doc_id.startswith(f"user:{src(root / 'extra.yaml')}:") for c in chunks)
    assert {c.stage for c in chunks} >= {1, 2}


def test_corrupt_pdf_is_skipped_with_a_reason(formats):
    root, report, index, _ = formats
    reasons = dict(report.skipped)
    assert src(root / "broken.pdf") in reasons
    assert "PDF" in reasons[src(root / "broken.pdf")]
    assert not chunks_from(index, root / "broken.pdf")
    assert report.files == 1 + len(MARKERS)  # roadmap.yaml + the good files


def test_html_script_and_style_are_dropped(formats):
    root, _, index, _ = formats
    everything = " ".join(f"{c.title} {c.text}" for c in index.chunks)
    assert "vexillarium" in everything  # the page itself was read
    assert "scriptsecretmarker" not in everything
    assert "stylesecretcolor" not in everything and "color: red" not in everything
    html = " ".join(c.text for c in chunks_from(index, root / "page.html"))
    assert "gradient descent" in html


def test_html_text_outside_paragraph_tags_is_read(tmp_path):
    """Pages that put text straight into <div>/<span>/<body> still have text to index."""
    from ingest.loaders import load_file

    path = write_tree(tmp_path, {"div.html": "<html><body><div>Only a div with "
                                             "<span>zanzibarite</span> text.</div></body></html>"}) / "div.html"
    [doc] = load_file(path, src(path))
    assert "zanzibarite" in doc.text


# --- incremental re-ingest -----------------------------------------------------------------

def three_files(root: Path) -> Path:
    return write_tree(root, {
        "a.md": "# Alpha\n\n" + section("Alpha one", "alphaone") + "\n" + section("Alpha two", "alphatwo")
                + "\n" + section("Alpha three", "alphathree"),
        "b.txt": "Bravo notes\n\n" + "Bravo text talks about the bravoword idea at length. " * 4,
        "sub/c.md": "# Charlie\n\n" + section("Charlie one", "charlieone"),
    })


def test_unchanged_tree_embeds_nothing_and_writes_no_version(tmp_path, build, tiny_settings):
    root = three_files(tmp_path / "notes")
    first = build([root])
    assert first.version and first.embedded == first.chunks > 0
    listing = versions(tiny_settings.index_dir)
    again = build([root])
    assert (again.embedded, again.version, again.added, again.changed, again.removed) == (0, None, [], [], [])
    assert again.chunks == first.chunks and again.files == first.files
    assert current_version(tiny_settings.index_dir) == first.version
    assert versions(tiny_settings.index_dir) == listing
    # With no paths, the roots remembered in the manifest are refreshed: still nothing to do.
    assert build().version is None


def test_editing_one_file_reembeds_only_its_changed_chunks(tmp_path, build, tiny_settings):
    root = three_files(tmp_path / "notes")
    build([root])
    before = load_index(tiny_settings.index_dir)
    a = root / "a.md"
    a.write_text(a.read_text().replace("mentions alphatwo in sentence 1", "now says alphatwo differently"))
    report = build([root])
    after = load_index(tiny_settings.index_dir)

    assert report.changed == [src(a)] and report.added == report.removed == []
    old_texts = {c.embed_text for c in before.chunks}
    changed_in_a = [c.id for c in chunks_from(after, a) if c.embed_text not in old_texts]
    assert len(changed_in_a) == 1
    assert report.embedded == len(changed_in_a)
    # Every other chunk keeps its exact stored vector; the edited one gets a new vector.
    old_vec = dict(zip((c.id for c in before.chunks), before.dense.reconstruct_n(0, before.dense.ntotal)))
    new_vec = dict(zip((c.id for c in after.chunks), after.dense.reconstruct_n(0, after.dense.ntotal)))
    assert set(old_vec) == set(new_vec)
    for cid, vec in new_vec.items():
        assert np.array_equal(vec, old_vec[cid]) == (cid not in changed_in_a), cid


def test_a_change_to_the_ingest_code_reads_every_file_again(tmp_path, build, tiny_settings, monkeypatch):
    """An upgrade whose chunking differs must not keep serving the old chunks of unchanged
    files (a roadmap page's new wording stayed unseen until `--rebuild`)."""
    import ingest.build

    root = three_files(tmp_path / "notes")
    first = build([root])
    real = ingest.build.chunk_document
    monkeypatch.setattr(ingest.build, "pipeline_digest", lambda: "new-code")
    monkeypatch.setattr(ingest.build, "chunk_document",
                        lambda doc: [replace(c, text=c.text + " Rechunked.") for c in real(doc)])
    report = build([root])
    assert report.reread and report.version and report.version != first.version
    assert (report.added, report.changed, report.removed) == ([], [], [])  # no file changed
    assert report.embedded == report.chunks  # every text is new, so every vector is
    assert all(c.text.endswith("Rechunked.") for c in load_index(tiny_settings.index_dir).chunks)
    again = build([root])  # the new digest is recorded: nothing to do now
    assert not again.reread and again.version is None


def test_deleting_a_file_removes_its_chunks(tmp_path, build, tiny_settings):
    root = three_files(tmp_path / "notes")
    build([root])
    c = root / "sub" / "c.md"
    assert chunks_from(load_index(tiny_settings.index_dir), c)
    c.unlink()
    report = build([root])
    index = load_index(tiny_settings.index_dir)
    assert report.removed == [src(c)] and report.embedded == 0 and report.version
    assert not chunks_from(index, c)
    assert chunks_from(index, root / "a.md") and chunks_from(index, root / "b.txt")
    assert src(c) not in index.manifest["files"]


def test_adding_a_file_embeds_only_it(tmp_path, build, tiny_settings):
    root = three_files(tmp_path / "notes")
    build([root])
    new = write_tree(root, {"d.md": "# Delta\n\n" + section("Delta", "deltaword")}) / "d.md"
    report = build([root])
    assert report.added == [src(new)] and report.changed == []
    assert report.embedded == len(chunks_from(load_index(tiny_settings.index_dir), new)) == 1


def test_dry_run_reports_changes_and_writes_nothing(tmp_path, build, tiny_settings):
    root = three_files(tmp_path / "notes")
    first = build([root])
    listing = versions(tiny_settings.index_dir)
    (root / "b.txt").write_text("Bravo notes\n\nCompletely rewritten bravo text about something else.")
    (root / "sub" / "c.md").unlink()
    dry = build([root], dry_run=True)
    assert dry.dry_run and dry.version is None
    assert dry.changed == [src(root / "b.txt")] and dry.removed == [src(root / "sub" / "c.md")]
    assert dry.embedded == 1
    assert current_version(tiny_settings.index_dir) == first.version
    assert versions(tiny_settings.index_dir) == listing
    real = build([root])
    assert real.version and (real.changed, real.removed, real.embedded) == (dry.changed, dry.removed, 1)


def test_dry_run_on_a_new_index_writes_nothing(tmp_path, build, tiny_settings):
    report = build([three_files(tmp_path / "notes")], dry_run=True)
    assert report.embedded == report.chunks > 0 and report.version is None
    assert not tiny_settings.index_dir.exists() or current_version(tiny_settings.index_dir) is None


def test_forget_removes_a_root(tmp_path, build, tiny_settings):
    keep = three_files(tmp_path / "keep")
    drop = write_tree(tmp_path / "drop", {"x.md": "# X\n\n" + section("Xray", "xrayword")})
    build([keep, drop])
    report = build(forget=[drop])
    index = load_index(tiny_settings.index_dir)
    assert report.removed == [src(drop / "x.md")] and report.version
    assert not [c for c in index.chunks if c.source.startswith(src(drop))]
    assert index.manifest["roots"] == [src(keep)]
    assert chunks_from(index, keep / "a.md")
    # The forgotten root stays forgotten on the next plain refresh.
    assert build().version is None


def test_deleted_root_is_reported_and_its_chunks_removed(tmp_path, build, tiny_settings):
    keep = three_files(tmp_path / "keep")
    gone = write_tree(tmp_path / "gone", {"y.md": "# Yankee\n\n" + section("Yankee", "yankeeword")})
    build([keep, gone])
    (gone / "y.md").unlink()
    gone.rmdir()
    report = build()
    assert src(gone) in dict(report.skipped) and report.removed == [src(gone / "y.md")]
    assert load_index(tiny_settings.index_dir).manifest["roots"] == [src(keep)]


def test_rebuild_embeds_everything(tmp_path, build):
    root = three_files(tmp_path / "notes")
    build([root])
    report = build(rebuild=True)
    assert report.version and report.embedded == report.chunks > 0
    assert report.added  # nothing from the old version is trusted


def test_missing_path_is_an_ingest_error(tmp_path, build):
    with pytest.raises(IngestError, match="no such file or directory"):
        build([tmp_path / "nope"])


# --- index versions ------------------------------------------------------------------------

def test_old_reader_keeps_working_after_a_new_build(tmp_path, build, tiny_settings, embedder):
    root = three_files(tmp_path / "notes")
    build([root])
    old = load_index(tiny_settings.index_dir)
    old_retriever = Retriever(old, embedder)
    (root / "b.txt").write_text("Bravo notes\n\nThe bravoword is gone; now it is about novemberword.")
    new_report = build([root])
    assert current_version(tiny_settings.index_dir) == new_report.version != old.version
    # The old reader still answers from its own, complete version.
    hit = old_retriever.search("bravoword", k=1)[0]
    assert hit.chunk.source == src(root / "b.txt") and "bravoword idea" in hit.chunk.text
    new = load_index(tiny_settings.index_dir)
    assert new.version == new_report.version
    assert "novemberword" in Retriever(new, embedder).search("novemberword", k=1)[0].chunk.text
    assert not (tiny_settings.index_dir / ".CURRENT.tmp").exists()
    assert not [p for p in (tiny_settings.index_dir / "versions").iterdir() if p.name.startswith(".")]


def test_only_two_versions_are_kept(tmp_path, build, tiny_settings):
    root = three_files(tmp_path / "notes")
    made = []
    for i in range(4):
        (root / "b.txt").write_text(f"Bravo notes\n\nRevision {i} of the bravo text.")
        made.append(build([root]).version)
        kept = versions(tiny_settings.index_dir)
        assert kept == set(made[-2:]), f"after build {i + 1}: kept {sorted(kept)}, built {made}"
        assert current_version(tiny_settings.index_dir) == made[-1]


def test_missing_index_says_run_ingest(tmp_path):
    with pytest.raises(IndexMissing, match="tutor ingest"):
        load_index(tmp_path / "never-built")


@pytest.fixture
def built(tmp_path, build, tiny_settings):
    """An index of three small files; returns the live version's directory."""
    build([three_files(tmp_path / "notes")])
    return tiny_settings.index_dir / "versions" / current_version(tiny_settings.index_dir)


def test_garbage_faiss_file_is_index_corrupt(built, tiny_settings, build):
    (built / "dense.faiss").write_bytes(os.urandom(512))
    with pytest.raises(IndexCorrupt, match=re.escape("tutor ingest --rebuild")):
        load_index(tiny_settings.index_dir)
    # Ingest recovers by building a fresh version.
    report = build()
    assert report.version and report.embedded == report.chunks
    assert load_index(tiny_settings.index_dir).version == report.version


def test_manifest_disagreeing_with_rows_is_index_corrupt(built, tiny_settings):
    manifest = json.loads((built / "manifest.json").read_text())
    (built / "manifest.json").write_text(json.dumps({**manifest, "chunks": manifest["chunks"] + 1}))
    with pytest.raises(IndexCorrupt, match="inconsistent.*tutor ingest --rebuild"):
        load_index(tiny_settings.index_dir)


def test_missing_chunk_row_is_index_corrupt(built, tiny_settings):
    with sqlite3.connect(built / "chunks.db") as db:
        db.execute("DELETE FROM chunks WHERE position = 0")
    with pytest.raises(IndexCorrupt, match="tutor ingest --rebuild"):
        load_index(tiny_settings.index_dir)


def test_unreadable_manifest_is_index_corrupt(built, tiny_settings):
    (built / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorrupt, match="tutor ingest --rebuild"):
        load_index(tiny_settings.index_dir)


# --- the shipped corpus --------------------------------------------------------------------

def test_shipped_corpus_index(corpus_index, embedder):
    index = load_index(corpus_index.index_dir)
    kinds = {c.kind for c in index.chunks}
    assert kinds == {"roadmap", "faq", "paper", "career", "guide"}
    assert len(index.chunks) > 300 and all(len(c.text) <= MAX_CHARS for c in index.chunks)
    assert len({c.id for c in index.chunks}) == len(index.chunks)
    hit = Retriever(index, embedder).search("residual connections deep networks", k=5, kinds=("paper",))
    assert any(h.chunk.doc_id == "paper-resnet" for h in hit)


# --- the CLI -------------------------------------------------------------------------------

def run_cli(*args: str, corpus: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TUTOR_CORPUS_DIR": str(corpus)}
    return subprocess.run([str(TUTOR), *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_ingest_prints_counts(tmp_path, tiny_corpus):
    root = three_files(tmp_path / "notes")
    index = tmp_path / "index"
    done = run_cli("ingest", str(root), "--index", str(index), corpus=tiny_corpus)
    assert done.returncode == 0, done.stderr
    counts = re.search(r"(\d+) files, (\d+) chunks, embedded (\d+); index version (\S+)", done.stdout)
    assert counts, done.stdout
    files, chunks, embedded = map(int, counts.groups()[:3])
    assert files == 4 and chunks == embedded == len(load_index(index).chunks)
    assert counts.group(4) == current_version(index)
    assert "added" in done.stdout

    again = run_cli("ingest", "--index", str(index), corpus=tiny_corpus)
    assert again.returncode == 0, again.stderr
    assert "embedded 0" in again.stdout and "up to date" in again.stdout

    (root / "b.txt").write_text("Bravo notes\n\nRewritten.")
    dry = run_cli("ingest", "--dry-run", "--index", str(index), corpus=tiny_corpus)
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and "would embed 1" in dry.stdout and "changed" in dry.stdout
    assert current_version(index) == counts.group(4)


def test_cli_missing_path_is_one_line_without_traceback(tmp_path, tiny_corpus):
    missing = tmp_path / "does" / "not" / "exist" / "with-a-rather-long-name-to-test-wrapping"
    done = run_cli("ingest", str(missing), "--index", str(tmp_path / "index"), corpus=tiny_corpus)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "no such file or directory" in lines[0] and str(missing) in lines[0]
    assert not (tmp_path / "index" / "CURRENT").exists()


# --- a stage's papers ------------------------------------------------------------------------

def test_a_paper_summary_states_its_authors_and_year(corpus_index):
    """The front matter's authors and year, which no chunk held ("who wrote the attention is
    all you need paper" was withdrawn), end the summary's last section."""
    chunks = load_index(corpus_index.index_dir).chunks
    papers = {c.doc_id for c in chunks if c.kind == "paper"}
    last = {d: max((c for c in chunks if c.doc_id == d), key=lambda c: int(c.id.split("#")[1])) for d in papers}
    assert len(papers) == 30 and all(" was published in " in c.text for c in last.values())
    assert last["paper-attention-is-all-you-need"].text.endswith(
        "The paper was published in 2017 by Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser and Polosukhin.")
    assert last["paper-random-forests"].text.endswith("The paper was published in 2001 by Breiman.")
    assert last["paper-dqn"].text.rstrip().endswith("The paper was published in 2015 by Mnih et al.")  # not "al.."


def test_each_stage_gets_a_section_naming_its_paper_summaries(corpus_index):
    """"Which papers should I read in stage 3?" had no section to route to: the stage's
    resources list one paper beside The Illustrated Transformer, and the model called both
    papers. The section is made from the chunks of the stage documents and the paper files."""
    from ingest.roadmap_docs import stage_papers

    chunks = load_index(corpus_index.index_dir).chunks
    lists = {c.stage: c for c in chunks if c.doc_id.startswith("stage-") and c.doc_id.endswith("-papers")}
    assert sorted(lists) == [1, 2, 3, 4]
    for stage, listed in lists.items():
        names = {c.title.split(" — ")[0].split(": ")[0] for c in chunks if c.kind == "paper" and c.stage == stage}
        assert all(name in listed.text for name in names) and len(names) >= 2, (stage, names, listed.text)
        assert listed.title.endswith(f"weeks {'1-8 9-16 17-24 25-36'.split()[stage - 1]}): papers")
    assert "Attention Is All You Need (the Transformer)" in lists[3].text and "BERT" in lists[3].text
    # made again from the same chunks, it is the same: an unchanged tree writes no new version
    again = [d for d in stage_papers([c for c in chunks if not c.doc_id.endswith("-papers")])]
    assert [chunk_document(d)[0].text for d in again] == [lists[s].text for s in sorted(lists)]


def test_a_corpus_without_paper_summaries_gets_no_papers_section(build, tiny_settings):
    build()
    chunks = load_index(tiny_settings.index_dir).chunks
    assert chunks and not [c for c in chunks if c.doc_id.endswith("-papers")]


def test_a_quarter_names_every_stage_it_spans(corpus_index):
    """Q2 spans stages 2 and 3; written "corresponds to stage 2, 3", it was answered as
    "Q2 lines up with Stage 2" (run 9, a-quarter-09)."""
    opening = {c.doc_id: c.text for c in load_index(corpus_index.index_dir).chunks
               if c.doc_id.startswith("quarter-") and c.id.endswith("#0")}
    assert "corresponds to stages 2 and 3." in opening["quarter-q2"]
    assert "corresponds to stage 1." in opening["quarter-q1"]
    # a quarter states its own months (the prompt adds "(3 months)"): the only length Q1's text gave was its maths block's
    # "4-6 weeks", which the model served as the quarter's length (session 16's reading)
    assert "Q1 is months 1-3 of the year." in opening["quarter-q1"]
    assert "Q4 is months 10-12 of the year." in opening["quarter-q4"]
