"""Load files into documents: the shipped corpus (schema YAML + Markdown with front
matter) and operators' material (Markdown, plain text, HTML, PDF, schema YAML).

Each loader returns documents or raises IngestError with the reason; the caller reports
the file and goes on with the rest.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import yaml

from ingest import scan
from ingest.roadmap_docs import roadmap_documents
from tutor.errors import IngestError
from tutor.roadmap import load_roadmap
from tutor.text import PUBLISHED
from tutor.types import KINDS, Document

SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".yaml", ".yml"}
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def split_front_matter(text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = yaml.safe_load(match.group(1)) or {}
    if not isinstance(meta, dict):
        raise IngestError("front matter is not a mapping")
    return meta, text[match.end():]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise IngestError("not UTF-8 text") from None
    except OSError as exc:
        raise IngestError(exc.strerror or str(exc)) from None


def _title_from(text: str, path: Path) -> str:
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def load_markdown(path: Path, source: str, user: bool, flags: list | None = None) -> list[Document]:
    try:
        meta, body = split_front_matter(_read_text(path))
    except yaml.YAMLError as exc:
        raise IngestError(f"front matter is not valid YAML: {exc}") from None
    if user:  # comments and hidden inline HTML do not render: a reader never sees what they say
        body, found = scan.strip_comments(body)
        body, hidden = strip_hidden_html(body)
        if flags is not None:
            flags += found + hidden
    if user or not meta:
        return [Document(f"user:{source}", meta.get("title") or _title_from(body, path),
                         body, "user", source, _stage(meta.get("stage")), tuple(meta.get("concepts") or ()))]
    kind = meta.get("kind")
    if kind not in KINDS or not meta.get("id") or not meta.get("title"):
        raise IngestError(f"front matter needs id, title and a kind in {KINDS}")
    if kind == "paper" and meta.get("authors") and meta.get("year"):
        body = f"{body.rstrip()} {_authors_and_year(str(meta['authors']), meta['year'])}\n"
    return [Document(str(meta["id"]), str(meta["title"]), body, kind, source,
                     _stage(meta.get("stage")), tuple(meta.get("concepts") or ()))]


def _authors_and_year(authors: str, year) -> str:
    """A paper summary's front matter as the last sentence of its last section ("where it
    fits"): "who wrote the attention is all you need paper" was withdrawn, since no chunk held
    the authors. tutor/routing.py routes "who wrote", "authors", "what year" to that section;
    tutor/context.py shows the sentence only to such questions."""
    names = [a.strip() for a in authors.split(",") if a.strip()]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    # "Mnih et al." ends the sentence with its own full stop (it read "Mnih et al..")
    return f"{PUBLISHED} {year} by {listed}{'' if listed.endswith('.') else '.'}"


_TAG = re.compile(r"<([a-zA-Z][\w-]*)\b[^>]*>")
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.S | re.I)
_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "source", "col", "area", "base", "embed"}


def _element_end(text: str, start: re.Match) -> int:
    """Where the element opened at `start` ends: its matching closing tag, or (none written)
    the end of its HTML block, the next blank line, as Markdown renders it."""
    name = start.group(1).lower()
    if name in _VOID or start.group(0).endswith("/>"):
        return start.end()
    depth = 1
    for tag in re.finditer(rf"<(/?){re.escape(name)}\b[^>]*>", text[start.end():], re.I):
        depth += -1 if tag.group(1) else (0 if tag.group(0).endswith("/>") else 1)
        if depth == 0:
            return start.end() + tag.end()
    blank = re.compile(r"\n[ \t]*\n").search(text, start.end())
    return blank.start() if blank else len(text)


def strip_hidden_html(text: str) -> tuple[str, list]:
    """The inline HTML of a Markdown file, as a renderer shows it: elements hidden by their
    style, the hidden attribute or a rule of a <style> block in the file are cut out and
    flagged (ingest/scan.py), and the <style> blocks themselves (not text) go too. The
    Markdown around them is left byte for byte: only the cut spans change."""
    if "<" not in text:
        return text, []
    from bs4 import BeautifulSoup

    sheets = _STYLE_BLOCK.findall(text)
    text = _STYLE_BLOCK.sub("", text)
    kept, flags, pos = [], [], 0
    for start in _TAG.finditer(text):
        if start.start() < pos:
            continue  # inside an element already cut
        end = _element_end(text, start)
        soup = BeautifulSoup(text[start.start():end], "html.parser")
        element = soup.find(True)
        rule = element and scan.hidden_rule(element, scan.hidden_by_sheets(soup, sheets) if sheets else None)
        if rule:
            if element.get_text(strip=True):
                flags.append(scan.hidden_flag(rule, element))
            kept.append(text[pos:start.start()])
            pos = end
    return "".join(kept) + text[pos:], flags


def _stage(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise IngestError(f"stage must be a number or null, got {value!r}")


def load_text(path: Path, source: str) -> list[Document]:
    text = _read_text(path)
    return [Document(f"user:{source}", _title_from(text, path), text, "user", source)]


_HTML_HEADINGS = ("h1", "h2", "h3")
_HTML_BLOCKS = ("h4", "h5", "h6", "p", "li", "pre", "td", "th", "tr", "blockquote", "div", "section",
                "article", "main", "header", "footer", "aside", "nav", "dt", "dd", "figcaption", "br", "hr")


def load_html(path: Path, source: str, flags: list | None = None) -> list[Document]:
    """Visible text of a page: block elements become lines, h1-h3 become `##` sections.
    Text is taken from every element (not only <p>), so div-and-span pages are read too;
    comments and elements styled invisible, inline or by the page's <style> sheets, are
    left out (and flagged: ingest/scan.py)."""
    from bs4 import BeautifulSoup

    raw = _read_text(path)
    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    sheets = [tag.get_text() for tag in soup("style")]  # read before they go: a class may hide text
    for tag in soup(["head", "title", "script", "style", "noscript", "template", "iframe", "svg"]):
        tag.decompose()
    found = scan.strip_comments(raw)[1] + scan.hidden_elements(soup, sheets)
    if flags is not None:
        flags += found
    for el in soup.find_all(_HTML_HEADINGS):
        el.insert_before("\n## ")
        el.insert_after("\n")
    for el in soup.find_all(_HTML_BLOCKS):
        el.insert_before("\n")
        el.insert_after("\n")
    # No separator: inline tags (<b>, <a>, <span>) join the words around them as rendered.
    raw = soup.get_text()
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    lines = [line for line in lines if line and line != "##"]
    if not lines:
        raise IngestError("no readable text in the HTML page")
    return [Document(f"user:{source}", title or _title_from("\n".join(lines), path),
                     "\n\n".join(lines), "user", source)]


def load_pdf(path: Path, source: str) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"not a readable PDF ({exc})") from None
    if not any(pages):
        raise IngestError("the PDF has no extractable text (scanned images need OCR first)")
    text = "\n\n".join(f"## Page {i}\n{t}" for i, t in enumerate(pages, 1) if t)
    meta_title = (reader.metadata.title if reader.metadata else None) or path.stem
    return [Document(f"user:{source}", str(meta_title), text, "user", source)]


def load_yaml(path: Path, source: str, user: bool) -> list[Document]:
    try:
        raw = yaml.safe_load(_read_text(path))
    except yaml.YAMLError as exc:
        raise IngestError(f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or "stages" not in raw:
        raise IngestError("YAML files must follow the roadmap schema (see corpus/README.md)")
    # Every document names the file it came from, so an unchanged file's chunks can be
    # found again by source (incremental ingest) and cited by the name it was loaded under.
    docs = [replace(d, source=source) for d in roadmap_documents(load_roadmap(path))]
    if not user:
        return docs
    return [Document(f"user:{source}:{d.id}", d.title, d.text, "user", source, d.stage, d.concepts)
            for d in docs]


def load_file(path: Path, source: str, user: bool = True, flags: list | None = None) -> list[Document]:
    """Documents from one file; IngestError names the reason it cannot be read. Hidden text
    is removed, and what was hidden or reads like instructions to a model is appended to
    `flags` (ingest/scan.py)."""
    flags = [] if flags is None else flags
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
        docs = load_markdown(path, source, user, flags)
    elif suffix == ".txt":
        docs = load_text(path, source)
    elif suffix in (".html", ".htm"):
        docs = load_html(path, source, flags)
    elif suffix == ".pdf":
        docs = load_pdf(path, source)
    elif suffix in (".yaml", ".yml"):
        docs = load_yaml(path, source, user)
    else:
        raise IngestError(f"unsupported file type {suffix or '(none)'}; supported: {sorted(SUFFIXES)}")
    flags += scan.invisible_flags("".join(d.title + d.text for d in docs))
    docs = [replace(d, title=scan.strip_invisible(d.title), text=scan.strip_invisible(d.text)) for d in docs]
    if not any(d.text.strip() for d in docs):
        raise IngestError("the file is empty")
    for d in docs:
        flags += scan.instruction_flags(d.text)
    return docs


def discover(paths: list[Path]) -> list[Path]:
    """Files under the given paths that a loader understands, in a stable order."""
    found = []
    for p in paths:
        if p.is_dir():
            found += [f for f in sorted(p.rglob("*")) if f.is_file() and f.suffix.lower() in SUFFIXES
                      and not any(part.startswith(".") for part in f.relative_to(p).parts)]
        elif p.is_file():
            found.append(p)
        else:
            raise IngestError(f"no such file or directory: {p}")
    return found


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The shipped corpus: roadmap.yaml plus Markdown entries in its subfolders."""
    if not (corpus_dir / "roadmap.yaml").is_file():
        raise IngestError(f"no roadmap.yaml in {corpus_dir}: set TUTOR_CORPUS_DIR")
    return [corpus_dir / "roadmap.yaml"] + sorted(corpus_dir.glob("*/*.md"))
