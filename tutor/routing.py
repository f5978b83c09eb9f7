"""Which section of a structured entry a question asks for: routed sections.

Much of the material is structured: every stage document has the same sections (goal,
week-by-week plan, resources, milestone, concepts covered, what comes after, before, and the
papers summarised for it: ingest/roadmap_docs.py), every paper summary too (problem, key idea, result, why it matters,
where it fits, ending with the authors and year), and so do the tracks (month-by-month plan, what to emphasise), the Roadmap B
quarters (projects), the specialisations (topics) and the career paths (what the role does,
its skills, its track, its portfolio). Learners ask for one section of one
entry ("Which concepts are covered in stage 2?", "what results did the ResNet paper get?",
"What's the research track plan month by month?"), and dense retrieval barely tells one
section of an entry from another: it ranked "Before stage 2" first for the concept list,
and the ResNet concept entry for the paper's results. So a question that names an entry and
uses a cue word of one of its sections gets that section first among its hits
(retrieve.Retriever.search), at most ROUTED_MAX of them; a question that names one quarter,
track or specialisation and no section of it gets the entry's opening section ("overview").

An entry is named as learners name it: a stage by number, ordinal or a week inside it
(retrieve.stages_named), a paper by what its title calls it ("ResNet", "ViT", "GoogLeNet"),
a quarter as "Q1", a track as "research track", a specialisation by its name beside the word
"specialisation", a career by its role ("MLOps engineer", "ML engineer", "AI researcher").
Cue words are compared by stem (text.stem).

A question choosing among the tracks without naming one ("which track should I choose?") gets
the FAQ whose title names the tracks; ranked by words, the track pages came first.

A concept is named by its page's title or id ("CNNs", "transfer learning"); a question on
what comes before or after one, with no stage named, gets the concept's page first, whose
links line says both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from tutor.text import (
    ASKS_NEIGHBOURS, ASKS_WHEN_PUBLISHED, ASKS_WHO, DEFINITION, PUBLISHED_CUES, WHAT_COMES, singular,
    spelled_either_way, stem, week_spans, words,
)

STAGE_CUES = {
    # its first sentence names the stage and its weeks: "when does the deep learning stage
    # start?" was shown the milestone first and answered with it
    "goal": "goal aim focus about overview name called title start starts begin begins long duration",
    # "what do I learn first in stage 3?" was answered with the Hugging Face course (a resource)
    # "which algorithms are in stage 1?": the plan names them week by week (the concepts list
    # is longer than the prompt's whole budget, so routed there nothing of it was shown)
    "week-by-week plan": "week plan schedule timeline doing happens first algorithms",
    # before resources: "Which papers should I read in stage 3?" uses both cues, and the
    # resources list one paper (ingest/roadmap_docs.stage_papers makes this section)
    "papers": "paper papers",
    "resources": "resources books courses read reading materials tutorials",
    "milestone": "milestone close closes deliverable",  # not "finish": "finished stage 4, what next?"
    "concepts covered": "concepts topics covered cover",
    "what comes after": "after next comes",
    "before": "before builds",
}
PAPER_CUES = {
    "problem": "problem problems solve solved solves address addressed invented",
    # "What does the Adam paper propose?" was shown "why it matters" alone and answered with
    # the AdamW variant that section names
    "key idea": "idea ideas work works approach trick propose proposes proposed introduce introduces "
                "introduced contribution",
    "result": "result results achieve achieved score accuracy error benchmark win won performance fast speed",
    "why it matters": "matter matters impact important influence",
    # not "roadmap": every question may name it; its last sentence is the front matter's
    # authors and year (ingest/loaders.py)
    "where it fits": f"fit fits {PUBLISHED_CUES}",
}
TRACK_CUES = {
    "month-by-month plan": "month months plan schedule when",
    "what to emphasise": "emphasise emphasize emphasis",
}
# "overview": the quarter's opening section, its summary ("What does Q2 cover?")
QUARTER_CUES = {"projects": "project projects build", "overview": "cover covers covered overview summary"}
SPECIALISATION_CUES = {"topics": "topics topic covered cover learn study"}
# A career page's four sections, each titled with the role's name ("What an MLOps engineer
# does", "A portfolio that shows applied science"), keyed by how their titles open. "what an
# applied scientist's portfolio would need to show?" was shown the portfolio section's first
# sentence and the role's description, not the section's evidence (paper re-implementations,
# baselines, significance checks): nothing sent a question to one section of a career page.
# No section stands for a whole career page: a question naming the role in passing ("Can I work
# as a freelance machine learning engineer?", "why do communication skills matter for an ML
# engineer?") is answered elsewhere, and routed to what the role does it lost its FAQ.
CAREER_SECTIONS = {"what it does": "what a", "skills": "which roadmap stages and skills",
                   "track": "which track fits", "portfolio": "a portfolio that shows"}
CAREER_CUES = {
    # not "do" or "does": "do paper re-implementations count?", "Does the research track ... fit?"
    "what it does": "role job day",
    "skills": "skills skill stages stage matter important",
    "track": "track tracks fit fits",
    "portfolio": "portfolio portfolios show showcase",
}
CUES = {"paper": PAPER_CUES, "track": TRACK_CUES, "quarter": QUARTER_CUES, "specialisation": SPECIALISATION_CUES,
        "career": CAREER_CUES}
# The section that stands for an entry asked about as a whole. A paper has no opening section:
# "What is YOLO?" tied its five sections on words and was shown result, placement and impact,
# not the key idea, and the packaged model answered from memory (withdrawn, session 20). Only
# asked what it is (text.DEFINITION): "for the bert milestone what baseline should i compare
# against" or "LoRA paper - by how much does it reduce trainable params?" lost their facts to it.
# Nor when a concept page has the name: "What is dropout?" is the concept's own summary.
WHOLE = {"paper": "key idea"}
ROUTED_MAX = 2  # sections routed to one question at most

_ASKS_WHY = re.compile(r"\bwhy\b", re.I)
_STAGE_TITLE = re.compile(r"^Stage (\d+) \(([^)]*?),?\s*\bweeks (\d+)-(\d+)\): (.+)$")  # a stage section's title
_STAGE_LINK = re.compile(r"^(What comes after|Before) stage \d+$", re.I)
_SPECIALISATION = re.compile(r"\bspeciali[sz]ation", re.I)
# "which track should I choose?", "how do I choose between the tracks?", "what track is best
# for me?": a choice among the tracks, answered by the FAQ whose title names them
_CHOOSES_TRACK = re.compile(r"\b(?:which|what)\b[^?.]*?\btracks?\b[^?.]*?\b(?:choose|pick|follow|take|go\s+for|"
                            r"(?:best|right)\s+for\s+me|suits?\s+me)\b|\bchoose\s+(?:between\s+|among\s+)?"
                            r"(?:the\s+)?tracks\b", re.I)
# "when do we get to transfer learning?", "which weeks cover clustering and PCA?": a question on
# when a concept comes is answered by its stage's week plan, which the concept's own page does
# not hold (it gives the stage's whole span). "when" only opening a question: "why reuse the
# tokenizer when fine-tuning" asks no time; or asking in a second part: "what is batch
# normalization and when do I learn it?" was answered "in the second stage", with no weeks.
_ASKS_WHEN = re.compile(r"^\W*(?:(?:so|and|ok|okay)\W+)?(?:when|at what point)\b|\b(?:which|what) weeks?\b"
                        r"|\b(?:and|but)\s+when\s+(?:do|does|did|will|would|should|is|are|can)\b", re.I)
# "when did the resnet paper come out?" asks the year of a paper, not its weeks in the plan:
# it was served "The roadmap's plan covers the ResNet in weeks 13-14 of stage 2" first
_ASKS_RELEASED = re.compile(r"\bwhen (?:was|were|did)\b[^?.]*?\b(?:papers?|published|publish|come out|came out|"
                            r"released?|written|write|wrote)\b", re.I)


def _asks_when(question: str) -> bool:
    """Whether `question` asks when in the roadmap something comes."""
    return bool(_ASKS_WHEN.search(question)) and not _ASKS_RELEASED.search(question)


# what may follow the concept's name in a question that asks only what it is: "explain
# backpropagation like I'm five"; not "what is PCA used for?", which asks its use
_PLAIN_ASK = re.compile(r"^\W*(?:(?:like|as if)\b.*|simply|briefly|in (?:simple|plain) (?:terms|words|english))?\W*$",
                        re.I)


def asked_concept(question: str, names: dict[str, re.Pattern], *, alone: bool = False) -> str | None:
    """The concept (doc id) a question asks what it is, None for any other question: its
    subject is the concept's name and nothing else ("what are GANs?", "what is transfer
    learning and which stage is it in?"). `alone`: and the question asks nothing more."""
    found = DEFINITION.match(question)
    if not found or (alone and question[found.end(1):].strip(" ?!.")):
        return None
    subject = found.group(1)
    hits = [(m, doc) for doc, pattern in names.items() if (m := pattern.search(subject))]
    if len(hits) != 1:
        return None
    match, doc = hits[0]
    before, after = subject[:match.start()], subject[match.end():]
    return doc if not before.strip() and _PLAIN_ASK.match(after) else None


def sections_asked(question: str, cues: dict[str, str] = STAGE_CUES) -> list[str]:
    """The sections whose cue words the question uses, in `cues` order. A "why" question on a
    stage or a career is not routed: the reason is not in the section that states the fact
    ("why do communication skills matter for an ML engineer?" is an FAQ's, not the role's
    skills section). A "who" or "when" question on a paper asks for its authors and year. A
    question on a stage that names weeks by number asks for its week plan ("what are the first
    two weeks (weeks 9-10) of stage 2 about?" was shown the stage's goal alone: "weeks" is not
    the cue "week", stem to stem)."""
    if (cues is STAGE_CUES or cues is CAREER_CUES) and _ASKS_WHY.search(question):
        return []
    asked = {stem(w) for w in words(question)}
    # (week_spans, not weeks_asked, whose looser reading takes "How many weeks is stage 4?" as week 4)
    if cues is STAGE_CUES and week_spans(question):
        asked.add(stem("week"))
    found = [name for name, cue in cues.items() if asked & _stems(cue)]
    # "who invented the lstm", "who came up with dropout", "when did alexnet come out": who made a
    # paper and when is its last section's closing sentence. "invented" alone is the problem's cue
    # and sent "who invented the lstm" there: the model, shown no names, was withdrawn (session 21).
    # Not any "when": "When do I learn transformers?" asks for the roadmap's weeks. That section
    # first, beside what else it asks: "when did the resnet paper come out and what problem did
    # it solve?" was shown the authors and year alone and withdrawn
    if cues is PAPER_CUES and (ASKS_WHO.search(question) or ASKS_WHEN_PUBLISHED.search(question)):
        return ["where it fits", *(name for name in found if name != "where it fits")]
    return found


@lru_cache(maxsize=None)
def _stems(cue: str) -> frozenset[str]:
    """A cue string's stems, computed once (every question reads every cue table)."""
    return frozenset(stem(w) for w in cue.split())


def paper_names(title: str) -> list[str]:
    """What a learner calls a paper, from its summary's title: "ResNet" of "ResNet: Deep
    Residual Learning ...", "GoogLeNet" and "Inception" of "GoogLeNet / Inception: ...",
    "Vision Transformer" and "ViT" of "Vision Transformer (ViT): ..."."""
    name = title.split(": ", 1)[0]
    parts = re.split(r"\s*/\s*|\s*\(\s*(?:the\s+)?|\)", name)
    return [p.strip() for p in parts if len(p.strip()) >= 2]


def title_parts(title: str) -> list[str]:
    """The parts of a concept's "X and Y" title that name it on their own: "LSTM" and "GRU"
    of "LSTM and GRU" (the plan item says "LSTM versus GRU", so "when do i learn LSTM and
    GRU?" was shown no week of it), "TensorFlow" of "TensorFlow and Keras", "multi-GPU
    training" of "Distributed and multi-GPU training". A part of one word names it only when
    written as a name is (a capital after its first letter, or a digit: "T5", "GitHub"), not
    "Data" of "Data and model versioning"."""
    parts = [p.strip() for p in re.split(r"\s+and\s+", title)] if re.search(r"\s+and\s+", title) else []
    # and "diffusion" of "Diffusion models": the plan item lists "(VAE, GAN, diffusion)", and
    # "when do i learn about diffusion models" was served "Weeks 11-12"
    models = re.fullmatch(r"([\w-]+)\s+models", title)
    # and "GPT" of "GPT-style language models": "when do i learn about GPT" was shown no plan
    # and answered with calculus
    styled = re.match(r"([A-Z]{2,}[0-9]*)-\w+\s", title)
    return [p for p in parts if len(p) >= 2 and (" " in p or re.search(r"^.+[A-Z0-9]", p))] + \
        [m.group(1) for m in (models, styled) if m]


def _spellings(name: str) -> str:
    """A name's regex that also takes its American spelling: "batch normalization" for "Batch
    normalisation" (asked when it comes, it named no concept and was answered "the second
    stage" with no weeks), "k-nearest neighbors"; and a hyphen as a space too: "sequence to
    sequence models", "k nearest neighbours"."""
    return spelled_either_way(re.escape(name).replace(r"\-", r"[\s-]"))


def _pattern(names: list[str], after: str = "") -> re.Pattern:
    alternatives = "|".join(_spellings(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})s?{after}(?![\w-])", re.I)


@lru_cache(maxsize=64)
def stage_title_pattern(title: str, *, loose: bool = False) -> re.Pattern:
    """How a text names a stage by its title ("Foundations and Classical Machine Learning"):
    a part of two words or more anywhere ("classical ML", "deep learning fundamentals"), a
    part or its first words before "stage" ("the NLP stage", "the deep learning stage").
    `loose`: any part of three letters or more anywhere ("finished NLP": "what next" only,
    where a question's every word is about the learner's progress)."""
    parts = [p.strip().lower() for p in re.split(r"\s+and\s+", title) if len(p.strip()) >= 3]
    alike = [re.escape(p).replace(r"machine\ learning", r"(?:machine\ learning|ml)") for p in parts]
    anywhere = [a for p, a in zip(parts, alike) if loose or " " in p]
    words = [p.split() for p in parts]
    before_stage = {re.escape(" ".join(w[:n])) for w in words for n in range(1, len(w) + 1)}
    alternatives = [*anywhere, *(rf"(?:{a})\s+stage" for a in sorted(before_stage, key=len, reverse=True))]
    return re.compile(rf"(?<![\w-])(?:{'|'.join(alternatives)})(?![\w-])", re.I)


def entry_kind(doc_id: str, kind: str) -> str | None:
    """Which CUES table an entry's sections answer to (None: not a routed entry)."""
    if kind == "paper":
        return "paper"
    return next((k for k in ("track", "quarter", "specialisation", "career") if doc_id.startswith(f"{k}-")), None)


def entry_pattern(kind: str, doc_id: str, title: str) -> re.Pattern:
    """How a question names an entry: a paper by its names, a quarter as "Q1", a track as
    "research track"; a specialisation by its names ("NLP", "large language models", "Computer
    vision"), checked beside the word "specialisation" (named_in)."""
    if kind == "paper":
        return _pattern(paper_names(title))
    if kind == "quarter":
        return _pattern([doc_id.removeprefix("quarter-")])
    if kind == "track":
        return _pattern([title.split()[0]], after=r"\s+track")
    if kind == "career":  # "entry-level AI researcher" or "AI researcher", "machine learning" or "ML engineer"
        role = title.split(": ", 1)[-1]
        short = role.removeprefix("entry-level ")
        return _pattern(list(dict.fromkeys([role, short, short.replace("machine learning", "ML")])))
    return _pattern([n for n in re.split(r"\s+and\s+", title) if len(n) >= 2])


def named_in(question: str, patterns: dict[str, re.Pattern]) -> list[str]:
    """The keys of the patterns that match `question`, less those matched only inside a
    longer match ("Vision Transformer" is not also "the Transformer"), in the order the
    question names them: the first is its subject ("What was VGG's key idea after AlexNet's
    deep CNN ... with dropout?" names VGG first; in index order AlexNet and Dropout took
    both routed places)."""
    spans = sorted((m.start(), m.end(), key) for key, p in patterns.items() for m in p.finditer(question))
    return list(dict.fromkeys(key for a, b, key in spans
                              if not any(x <= a and b <= y and (y - x) > (b - a) for x, y, _ in spans)))


class Router:
    """The routed entries of an index's chunks: each stage's weeks, the first chunk of each
    (entry, section), and how a question names each entry."""

    def __init__(self, chunks):
        self.weeks: dict[int, tuple[int, int]] = {}
        self.sections: dict[tuple, int] = {}  # (stage number or doc id, section name) -> chunk index
        self.kinds: dict[str, str] = {}  # doc id -> its CUES key
        self.names: dict[str, re.Pattern] = {}
        self.concept_names: dict[str, re.Pattern] = {}  # concept page doc id -> how a question names it
        # and where a question asks when it comes, also by the parts of its title ("LSTM" of
        # "LSTM and GRU"): the plan items name it so. Not for the rest of the routing, where
        # "explain LoRA" would name the LoRA concept and lose the paper's key idea.
        self.concept_names_when: dict[str, re.Pattern] = {}
        self.concept_stage: dict[str, int] = {}
        self.concept_pages: dict[str, int] = {}  # concept page doc id -> its first chunk
        self.stage_names: dict[int, re.Pattern] = {}  # stage -> how a question names it by title
        track_words = {c.title.split()[0].lower() for c in chunks if entry_kind(c.doc_id, c.kind) == "track"}
        # the FAQ on choosing a track: its title names the word "track" and two tracks or more
        self.track_choice = [i for i, c in enumerate(chunks) if c.kind == "faq" and re.search(
            r"\btrack", (t := c.title.partition(" — ")[0].lower())) and len(track_words & set(words(t))) >= 2]
        for i, c in enumerate(chunks):
            doc_title, _, section = c.title.partition(" — ")
            if c.doc_id.startswith("concept-") and c.stage is not None:
                # and its id's words, singular too: "the transformer" names concept-transformers
                named = c.doc_id.removeprefix("concept-").replace("-", " ")
                names = paper_names(doc_title) + list(dict.fromkeys([named, singular(named)]))
                self.concept_names.setdefault(c.doc_id, _pattern(names))
                self.concept_names_when.setdefault(c.doc_id, _pattern(names + title_parts(doc_title)))
                self.concept_stage.setdefault(c.doc_id, c.stage)
                self.concept_pages.setdefault(c.doc_id, i)
            elif c.stage is not None and c.doc_id.startswith("stage-"):
                if found := _STAGE_TITLE.match(section):
                    self.weeks[c.stage] = (int(found.group(3)), int(found.group(4)))
                    self.sections.setdefault((c.stage, found.group(5).lower()), i)
                    if found.group(2):
                        self.stage_names.setdefault(c.stage, stage_title_pattern(found.group(2)))
                elif found := _STAGE_LINK.match(section):
                    self.sections.setdefault((c.stage, found.group(1).lower()), i)
            elif (kind := entry_kind(c.doc_id, c.kind)) and section:
                name = section.rsplit("): ", 1)[-1].rsplit(": ", 1)[-1] if kind != "paper" else section
                if section.startswith(doc_title) and not section[len(doc_title):].startswith(":"):
                    name = "overview"  # the entry's own title heads its opening section
                if kind == "career":
                    name = next((k for k, opening in CAREER_SECTIONS.items() if section.lower().startswith(opening)),
                                name)
                self.sections.setdefault((c.doc_id, name.lower()), i)
                if c.doc_id not in self.kinds:
                    self.kinds[c.doc_id] = kind
                    self.names[c.doc_id] = entry_pattern(kind, c.doc_id, doc_title)
        self.tracks = {d: p for d, p in self.names.items() if self.kinds[d] == "track"}
        # chunk index -> the tracks its document's title names (a track page, a track's FAQ)
        self.track_chunks = {i: set(found) for i, c in enumerate(chunks)
                             if (found := named_in(c.title.partition(" — ")[0], self.tracks))}

    def off_track(self, question: str) -> set[int]:
        """The chunks of the other tracks, where a question names a track: "what do I build in
        months 1-2 of the research track?" was shown the industry track's FAQ, whose "Months
        1-2" matched the question's (the research plan says "Months 1-3"), and answered from
        it."""
        asked = set(named_in(question, self.tracks))
        return {i for i, named in self.track_chunks.items() if not named & asked} if asked else set()

    def entries_named(self, question: str) -> list[str]:
        named = named_in(question, self.names)
        return [d for d in named if self.kinds[d] != "specialisation" or _SPECIALISATION.search(question)]

    def _plans_of_concepts(self, question: str) -> list[tuple[int, str]]:
        """The week plan sections of the stages of the concepts `question` names."""
        named = named_in(question, self.concept_names_when)
        return [(stage, "week-by-week plan") for stage in sorted({self.concept_stage[d] for d in named})]

    def asked_when(self, question: str) -> Callable[[str], bool] | None:
        """Whether a text names a concept a "when" question asks about ("when do we get to
        transfer learning?"), None for any other question: their items of the week plan are
        the answer, the rest of the plan is not. Shown all four items of stage 2's plan, the
        packaged model answered weeks 13-14 (CNNs) for transfer learning, which weeks 15-16
        hold. A name inside a longer one is not the concept's: "when do I get to transformers?"
        was shown the weeks 21-22 item too, for its "plus the Vision Transformer", and answered
        "weeks 19-20 and 21-22"."""
        asked = set(self.asked_when_named(question))
        return (lambda text: bool(asked.intersection(named_in(text, self.concept_names_when)))) if asked else None

    def asked_when_named(self, question: str) -> dict[str, str]:
        """The concepts a "when" question asks about (Router.asked_when), each with the words
        the question names it by: {"concept-bert": "BERT"}."""
        # "which weeks cover the transformer? and what comes right after those two weeks?" asks
        # for what follows the concept's weeks, not for them
        if not _asks_when(question) or WHAT_COMES.search(question):
            return {}
        # with an article before it: "the vision transformer", not "vision transformer"
        return {d: re.search(rf"(?:\bthe\s+)?{self.concept_names_when[d].pattern}", question, re.I).group(0)
                for d in named_in(question, self.concept_names_when)}

    def _as_a_whole(self, kind: str, question: str) -> list[str]:
        """The section that stands for the one entry a question names with no section's cue
        (WHOLE; "overview"): a paper's key idea only when the question asks what it is and no
        concept page has its name."""
        if kind not in WHOLE:
            return ["overview"]
        asks_what_it_is = DEFINITION.match(question) and not named_in(question, self.concept_names)
        return [WHOLE[kind]] if asks_what_it_is else []

    def routed(self, question: str, stages: set[int]) -> list[int]:
        """The chunks of the sections `question` asks for: of the stages it names (`stages`)
        and of the other entries it names."""
        found = [self.sections[(s, name)] for name in sections_asked(question) for s in sorted(stages)
                 if (s, name) in self.sections]
        if not stages and _asks_when(question):
            found += [self.sections[key] for key in self._plans_of_concepts(question) if key in self.sections]
        # Which of the stages it names holds a concept ("Is the transformer covered in stage 2
        # or stage 3?") is answered by the concept's page ("... is part of stage 3"); shown the
        # stages' own sections, the packaged model said stage 2 (session 23). With one stage
        # named the stage's sections stay first: "For the stage 2 milestone, why train the CNN
        # both from scratch and with transfer learning?" lost its milestone FAQ to two pages.
        if len(stages) > 1 and (concepts := named_in(question, self.concept_names)):
            found = [self.concept_pages[d] for d in concepts] + found
        named = self.entries_named(question)
        if not named and _CHOOSES_TRACK.search(question):
            # it ranked 13th, under the track pages (which say what each track emphasises, not
            # how to choose): "which track should I choose?" was answered with the research
            # track alone. Not when a track is named, nor a role it is chosen for ("which track
            # is right for an applied scientist?": the career page says).
            found += self.track_choice
        for doc in named:
            rest = self.names[doc].sub(" ", question)  # "reinforcement learning" is not the cue "learn"
            # one entry named with no section's cue is asked about as a whole: "What's in Q1 of
            # Roadmap B?" ranked Q1's overview 7th, under FAQs that mention Q1 in passing. Two
            # named ask how they connect ("I finished Q1, how do I start Q2?"): an FAQ says.
            kind = self.kinds[doc]
            names = sections_asked(rest, CUES[kind]) or (self._as_a_whole(kind, question) if len(named) == 1 else [])
            found += [self.sections[(doc, name)] for name in names if (doc, name) in self.sections]
        # "What do I need to know before learning CNNs?", "what builds on backpropagation?":
        # what comes before or after a concept is answered by the concept's own page (its links
        # line, which context.py shows for the same pattern); ranked by words alone, the FAQ on
        # what to know before the roadmap led it and the CNN page came fifth, past the prompt.
        # After a named entry's section: "What was VGG's key idea after AlexNet's deep CNN ...
        # with ReLU, dropout ...?" (a condensed follow-up) got the dropout and CNN pages in both
        # routed places and never saw VGG's key idea.
        if not stages and ASKS_NEIGHBOURS.search(question):
            found += [self.concept_pages[d] for d in named_in(question, self.concept_names)]
        # What a concept is, by its own page: "what are transformers?" ranked it below a
        # quarter's projects and an FAQ on RNNs, and the answer was withdrawn. Not with a second
        # part: "what is hugging face and why is it used in stage 3?" lost its FAQ's why to it;
        # but with "when" ("what is attention and which weeks cover it?", shown the plan and a
        # paper, was answered with the weeks alone)
        if (doc := asked_concept(question, self.concept_names, alone=not _asks_when(question))) is not None:
            found.append(self.concept_pages[doc])
        return list(dict.fromkeys(found))[:ROUTED_MAX]
