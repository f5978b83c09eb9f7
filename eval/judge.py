"""An optional LLM judge of support (`tutor eval --judge`): for each (sentence, sources) it
asks the packaged model the yes/no question in prompts/judge.j2, generates one token, and
reads the probability the model gives to "yes" versus "no" from the returned top
log-probabilities:

    p = P(yes) / (P(yes) + P(no))      (tokens compared case- and space-insensitively)

Reading probabilities instead of the sampled word gives a graded score and avoids the
model's bias toward one answer at temperature 0 deciding every borderline case. It needs
llama.cpp's log-probabilities: the llamacpp backend's `Server.handle_chat_completions` with
{"logprobs": true, "top_logprobs": k, "max_tokens": 1} returns OpenAI-style
`choices[0].logprobs.content[0].top_logprobs` (checked with xllamacpp 2026.10.11549:
tokens "Yes"/"No"/"yes" with their log-probabilities); llama.cpp's native `n_probs` form
(`completion_probabilities`, older servers) is read too. Other backends fall back to the generated word
(1.0 for yes, 0.0 for no), which the report labels as such.

A 1.5B model is a weak judge; it is a second opinion beside the support scorer, not ground
truth (the labelled set in eval/gold/support_labels.yaml is the ground truth for both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tutor.context import heading
from tutor.prompts import Prompts
from tutor.text import with_durations
from tutor.types import Chunk

TOP_LOGPROBS = 10
SOURCE_CHARS = 700  # per source: the judge prompt is prefilled at ~75 tokens/s on 2 cores


def evidence(source: str | Chunk) -> str:
    """What the judge reads of a source: a text's first SOURCE_CHARS; a chunk of the index
    under the heading line the answer prompt showed it with (tutor/context.py), spans with
    their length ("weeks 9-16, 8 weeks"), as the support scorer reads it. Judged on the bare
    text, a served sentence that names what only the heading says ("you should build 3-5
    end-to-end projects in Q2", under "Q2: ...: projects") was unsupported."""
    if isinstance(source, str):
        return source[:SOURCE_CHARS]
    return with_durations(f"{heading(source)}\n{source.text[:SOURCE_CHARS]}")


def _word(token: str) -> str:
    return token.strip().strip(".,!\"'").lower()


def top_logprobs(response: dict) -> dict[str, float]:
    """token -> log-probability of the first generated token, from either response shape."""
    choice = (response.get("choices") or [{}])[0]
    content = (choice.get("logprobs") or {}).get("content") or []
    if content:
        first = content[0]
        pairs = {t["token"]: t["logprob"] for t in first.get("top_logprobs", [])}
        pairs.setdefault(first.get("token", ""), first.get("logprob", -math.inf))
        return pairs
    probs = response.get("completion_probabilities") or []
    if probs:
        first = probs[0]
        entries = first.get("top_logprobs") or first.get("probs") or []
        return {e.get("token", e.get("tok_str", "")):
                e["logprob"] if "logprob" in e else math.log(max(e.get("prob", 0.0), 1e-12))
                for e in entries}
    return {}


def p_yes(logprobs: dict[str, float]) -> float | None:
    """P(yes) / (P(yes) + P(no)) summed over spellings ("yes", " Yes", "YES"); None when
    neither word is among the top tokens."""
    yes = sum(math.exp(lp) for t, lp in logprobs.items() if _word(t) == "yes")
    no = sum(math.exp(lp) for t, lp in logprobs.items() if _word(t) == "no")
    return yes / (yes + no) if yes + no > 0 else None


@dataclass
class Verdict:
    p_yes: float
    graded: bool  # False: read from the generated word, not from probabilities


class Judge:
    def __init__(self, llm, prompts: Prompts):
        self.llm = llm
        self.prompts = prompts
        self.graded = getattr(llm, "_server", None) is not None

    def messages(self, sentence: str, sources: Sequence[str | Chunk]) -> list[dict]:
        return self.prompts.messages("judge", sentence=sentence, sources=[evidence(s) for s in sources])

    def judge(self, sentence: str, sources: Sequence[str | Chunk]) -> Verdict:
        messages = self.messages(sentence, sources)
        if self.graded:
            response = self.llm._server.handle_chat_completions({
                "messages": messages, "max_tokens": 1, "temperature": 0.0, "cache_prompt": True,
                "logprobs": True, "top_logprobs": TOP_LOGPROBS})
            p = p_yes(top_logprobs(response)) if isinstance(response, dict) else None
            if p is not None:
                return Verdict(p, True)
        text = self.llm.complete(messages, max_tokens=2, temperature=0.0).text
        return Verdict(1.0 if _word(text).startswith("yes") else 0.0, False)
