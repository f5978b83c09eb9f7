"""Heading-aware chunking: one chunk per `#`/`##`/`###` section, long sections split at
paragraph then sentence boundaries, tiny sections merged into the next. Each chunk keeps
its document's kind, stage, concepts and source, and a title naming document and section.
"""

from __future__ import annotations

import re

from tutor.text import sentences
from tutor.types import Chunk, Document

MAX_CHARS = 900
MIN_CHARS = 120
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) pairs; text before the first heading has heading ''."""
    out: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            out.append((match.group(2).strip(), []))
        else:
            out[-1][1].append(line)
    return [(h, "\n".join(body).strip()) for h, body in out if h or "\n".join(body).strip()]


def _pieces(body: str, limit: int) -> list[str]:
    """Split a long body into pieces of at most `limit` chars at natural boundaries."""
    if len(body) <= limit:
        return [body]
    units = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    units = [s for u in units for s in (sentences(u) if len(u) > limit else [u])]
    units = [w for u in units for w in (_wrap(u, limit) if len(u) > limit else [u])]
    return _pack(units, limit, "\n")


def _pack(units: list[str], limit: int, sep: str) -> list[str]:
    """Join consecutive units with `sep` greedily while the result stays within `limit`."""
    packed, current = [], ""
    for unit in units:
        if current and len(current) + len(unit) + 1 > limit:
            packed.append(current)
            current = unit
        else:
            current = f"{current}{sep}{unit}" if current else unit
    if current:
        packed.append(current)
    return packed


def _wrap(text: str, limit: int) -> list[str]:
    """Cut a run-on "sentence" (a PDF page or table without punctuation) at word boundaries;
    a single word longer than `limit` is cut where it stands."""
    words = [w[i:i + limit] for w in text.split() for i in range(0, len(w), limit)]
    return _pack(words, limit, " ")


def chunk_document(doc: Document, max_chars: int = MAX_CHARS) -> list[Chunk]:
    merged: list[tuple[str, str]] = []
    pending = ""
    for heading, body in sections(doc.text):
        text = f"{pending}\n\n{body}".strip() if pending else body
        if len(text) < MIN_CHARS and heading == "" and not merged:
            pending = text
            continue
        pending = ""
        if merged and len(merged[-1][1]) < MIN_CHARS and len(merged[-1][1]) + len(text) <= max_chars:
            prev_heading, prev_text = merged.pop()
            heading = prev_heading or heading
            text = f"{prev_text}\n\n{text}".strip()
        merged.append((heading, text))
    if pending:
        merged.append(("", pending))
    chunks = []
    for heading, body in merged:
        if not body.strip():
            continue
        title = doc.title if not heading or heading == doc.title else f"{doc.title} — {heading}"
        for piece in _pieces(body, max_chars):
            chunks.append(Chunk(f"{doc.id}#{len(chunks)}", doc.id, piece, title, doc.kind,
                                doc.source, doc.stage, doc.concepts))
    return chunks
