"""Text of the bot's messages, from the service's JSON: answers with a compact sources
footer and visible marks, what to learn next, progress, quiz questions and their grades.
Plain functions of dicts, so they are tested without Discord."""

from __future__ import annotations

LETTERS = "ABCDEFGH"
DRAFT_CURSOR = " ▍"
REFUSED_MARK = "🚫 **Not in the roadmap material.**"
WITHDRAWN_MARK = "🚫 **Held back: the sources did not support the draft.**"


def _stage(stage) -> str:
    return f" (stage {stage})" if stage else ""


def sources_footer(citations: list[dict]) -> str:
    """`-#` is Discord's small-text line: one line, titles and stages, numbered as in the answer."""
    if not citations:
        return ""
    seen = " · ".join(f"[{c['n']}] {c['title']}{_stage(c.get('stage'))}" for c in citations)
    return f"-# Sources: {seen}"


def answer(done: dict) -> str:
    """The final, checked answer: it replaces the streamed draft."""
    lines = []
    if done.get("withdrawn"):
        lines.append(WITHDRAWN_MARK)
    elif done.get("refused"):
        lines.append(REFUSED_MARK)
    lines.append(done["answer"].strip())
    held = len(done.get("held_back") or [])
    if held and not done.get("withdrawn"):
        sentences = "sentence" if held == 1 else "sentences"
        lines.append(f"-# ✂️ {held} {sentences} of the draft left out: the sources do not support "
                     f"{'it' if held == 1 else 'them'}.")
    footer = sources_footer(done.get("citations") or [])
    if footer:
        lines.append(footer)
    return "\n\n".join(lines)


def draft(text: str) -> str:
    return (text.strip() or "…") + DRAFT_CURSOR


def next_step(body: dict) -> str:
    if body.get("finished"):
        return "You have mastered every concept in the roadmap. 🎉 Pick a specialisation project next."
    lines = [(f"**What to learn next** (you are in stage {body['stage']}, "
              f"{body['stage_time_left']} left in it):")]
    for step in body["next"]:
        lines.append(f"• **{step['name']}** (stage {step['stage']}, {step['time']}): {step['why']}")
    if body.get("papers"):
        lines.append("Papers you are ready for: " + ", ".join(p["title"] for p in body["papers"][:3]))
    return "\n".join(lines)


def progress(body: dict) -> str:
    lines = ["**Your progress**"]
    for s in body["progress"]:
        total = len(s["mastered"]) + len(s["in_progress"]) + len(s["not_started"])
        lines.append(f"• Stage {s['stage']} {s['title']}: {len(s['mastered'])}/{total} mastered, "
                     f"{len(s['in_progress'])} in progress; milestone {s['milestone_status'].replace('_', ' ')}")
    return "\n".join(lines)


def quiz_item(item: dict, n: int, total: int) -> str:
    lines = [f"**Question {n} of {total}**: {item['question']}"]
    if item["kind"] == "mcq":
        lines += [f"**{LETTERS[i]}**. {opt}" for i, opt in enumerate(item["options"])]
    elif item["kind"] == "tf":
        lines.append("True or false?")
    else:
        lines.append("Press Answer to type a short answer.")
    return "\n".join(lines)


def grade(result: dict) -> str:
    """One graded item: the verdict, the key, the explanation, and its source."""
    key = result["key"]
    right = key.get("letter") and f"{key['letter']}. {key['text']}" or str(key.get("answer")).lower()
    verdict = "✅ Right." if result["correct"] else f"❌ Not quite: the answer is **{right}**."
    lines = [verdict]
    if result.get("explanation"):
        lines.append(result["explanation"])
    citation = result.get("citation") or {}
    if citation.get("title"):
        lines.append(f"-# Source: {citation['title']}{_stage(citation.get('stage'))}")
    return "\n".join(lines)
