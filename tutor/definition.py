"""What a concept is, when a question asks it and the answer leaves it out.

Asked "what is transfer learning and which stage is it in?" and shown the concept's page, the
packaged model answered only the second part: "Transfer learning is part of stage 2 ...". The
page's defining sentence ("Transfer learning reuses a model pre-trained on a large data set
...") is then composed into the answer, opening it, cited to the page (Tutor._completed), as
the plan's weeks are for a "when" question (tutor/concept_weeks.py).
"""

from __future__ import annotations

import re

from tutor.context import Source
from tutor.routing import asked_concept
from tutor.text import LINKS, PLACEMENT, sentences, term_stems

# the share of a defining sentence's words (less the concept's name) an answer states, under
# which it has left the definition out; a paraphrase keeps most of the nouns
MIN_STATED = 0.5


def defining_sentence(source: Source) -> str | None:
    """The first sentence of a concept's page that is neither its placement ("... is part of
    stage 2 ...") nor its links line, when the prompt shows it."""
    first = next((s for s in sentences(source.chunk.text) if not PLACEMENT.search(s) and not LINKS.match(s)), None)
    return first if first and first in sentences(source.text) else None


def unstated_definition(question: str, text: str, sources: list[Source],
                        names: dict[str, re.Pattern]) -> tuple[int, str] | None:
    """(source number, defining sentence) when `question` asks what a concept is (`names`:
    concept page doc id -> how a question names it), the prompt showed the concept's page and
    `text` states under MIN_STATED of the sentence's words; None otherwise."""
    doc = asked_concept(question, names)
    if doc is None:
        return None
    n, source = next(((n, s) for n, s in enumerate(sources, 1) if s.chunk.doc_id == doc), (0, None))
    if source is None or (sentence := defining_sentence(source)) is None:
        return None
    name = names[doc]
    words = term_stems(name.sub(" ", sentence)) - term_stems(question)
    if not words:
        return None
    stated = len(words & term_stems(text)) / len(words)
    return (n, sentence) if stated < MIN_STATED else None
