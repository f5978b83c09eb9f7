"""Who wrote a paper, or when, when a question asks it and the answer leaves it out.

Asked "GRU paper - what do the reset and update gates do, and who wrote it?", the packaged
model explained the gates and named no author in three of the last six full runs (run 23's
a-paper-33), though the prompt showed the summary's closing sentence ("The paper was published
in 2014 by Cho, van Merriënboer, ..."). That sentence is then composed into the answer, cited
(Tutor._completed), as a concept's definition is (tutor/definition.py).
"""

from __future__ import annotations

import re

from tutor.context import Source
from tutor.text import ASKS_WHEN_PUBLISHED, ASKS_WHO, PUBLISHED, sentences

_BY = re.compile(rf"^{PUBLISHED} (\d{{4}}) by ([^,.]+)")
_ET_AL = re.compile(r"\s+et al$")  # "Mnih et al.": the surname is Mnih


def unstated_published(question: str, text: str, sources: list[Source], paper: str | None) -> tuple[int, str] | None:
    """(source number, published sentence) of `paper` (the doc id of the paper the question
    names first) when `question` asks who wrote it or when, the prompt shows that sentence,
    and `text` lacks its first author's surname (who) or its year (when); None otherwise."""
    who, when = ASKS_WHO.search(question), ASKS_WHEN_PUBLISHED.search(question)
    if paper is None or not (who or when):
        return None
    for n, source in enumerate(sources, 1):
        if source.chunk.doc_id != paper:
            continue
        for sentence in sentences(source.text):
            if found := _BY.match(sentence):
                year, surname = found.group(1), _ET_AL.sub("", found.group(2)).split()[-1]
                missing = (who and surname.lower() not in text.lower()) or (when and year not in text)
                return (n, sentence) if missing else None
    return None
