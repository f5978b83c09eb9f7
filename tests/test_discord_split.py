"""Splitting replies into Discord messages (tutor/discord/split.py), proven by property
tests: every message within the limit, nothing lost or reordered, no code block broken."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tutor.discord.split import LIMIT, clip, is_fence, split, split_parts

words = st.text(alphabet="abcdefghij xyz`@#*_-", min_size=1, max_size=30)
sentence = st.builds(lambda ws, end: " ".join(ws) + end, st.lists(words, min_size=1, max_size=25),
                     st.sampled_from([".", "!", "?", "", "...", ".)"]))
paragraph = st.lists(sentence, min_size=1, max_size=12).map(" ".join)
code_line = st.text(alphabet="abc =()[]{}`.:#\t ", max_size=80)
code_block = st.builds(lambda lang, lines: f"```{lang}\n" + "\n".join(lines) + "\n```",
                       st.sampled_from(["", "python", "bash", "json"]), st.lists(code_line, max_size=40))
long_word = st.integers(min_value=1, max_value=5000).map(lambda n: "w" * n)
document = st.lists(st.one_of(paragraph, code_block, long_word), min_size=1, max_size=25).map(
    lambda blocks: "\n\n".join(blocks))
limits = st.sampled_from([LIMIT, 500, 200])


def fence_count(text: str) -> int:
    return sum(is_fence(line) for line in text.splitlines())


def inside_code(text: str) -> list[bool]:
    """For each line, whether it is inside a code block (fence lines count as inside)."""
    state, out = False, []
    for line in text.splitlines():
        if is_fence(line):
            out.append(True)
            state = not state
        else:
            out.append(state)
    return out


@settings(max_examples=300, deadline=None, database=None)
@given(document, limits)
def test_parts_fit_lose_nothing_and_keep_every_code_block_closed(text, limit):
    parts = split_parts(text, limit)
    assert "".join(p.raw for p in parts) == text  # nothing lost, nothing reordered
    for i, part in enumerate(parts):
        assert len(part.text) <= limit
        # every block opened in a message is closed in it (the last one may carry an
        # unclosed block only when the input itself ends inside one)
        wanted = fence_count(text) % 2 if i == len(parts) - 1 else 0
        assert fence_count(part.text) % 2 == wanted, part.text
        assert part.raw in part.text  # only fence lines are added around the slice
        extra = part.text.replace(part.raw, "", 1)
        assert all(is_fence(line) for line in extra.splitlines() if line)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=6000), limits)
def test_any_text_fits_and_loses_nothing(text, limit):
    parts = split_parts(text, limit)
    assert "".join(p.raw for p in parts) == text
    assert all(len(p.text) <= limit for p in parts)
    assert all(m.strip() for m in split(text, limit))
    # counted in UTF-16 units too (an emoji is two): every message still fits
    assert all(len(m.encode("utf-16-le")) // 2 <= limit for m in split(text, limit))


@settings(max_examples=200, deadline=None, database=None)
@given(document)
def test_code_stays_code(text):
    """A line that was inside a code block is inside one in the message that carries it."""
    original = inside_code(text)
    lines_in_order = []
    for part in split_parts(text):
        flags = inside_code(part.text)
        lines = part.text.splitlines()
        for line, flag in zip(lines, flags):
            if not is_fence(line):
                lines_in_order.append((line, flag))
    # every non-fence original line that is whole in one message keeps its flag
    body = [(line, flag) for line, flag in zip(text.splitlines(), original) if not is_fence(line)]
    whole = {line: flag for line, flag in body}
    for line, flag in lines_in_order:
        if line in whole and line.strip() and sum(1 for b, _ in body if b == line) == 1:
            assert flag == whole[line], line


def test_short_text_is_one_message_unchanged():
    assert split("Stage 2 covers deep learning.") == ["Stage 2 covers deep learning."]


def test_cuts_at_paragraphs_then_sentences():
    paras = ["First paragraph. " * 40, "Second paragraph. " * 40, "Third. " * 40]
    text = "\n\n".join(p.strip() for p in paras)
    out = split(text, 1000)
    assert all(len(m) <= 1000 for m in out)
    assert out[0].endswith("paragraph.\n\n")  # the first break is a paragraph break
    assert all(m.rstrip().endswith(".") for m in out)  # every other cut is at a sentence end


def test_a_long_code_block_is_closed_and_reopened_with_its_language():
    code = "\n".join(f"x_{i} = compute({i})" for i in range(200))
    text = f"Here is the loop:\n\n```python\n{code}\n```\n\nThat is all."
    out = split(text, 1000)
    assert len(out) > 2
    assert out[0].rstrip().endswith("```") and out[1].startswith("```python\n")
    assert all(fence_count(m) % 2 == 0 for m in out)
    assert "".join(p.raw for p in split_parts(text, 1000)) == text


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=5000))
def test_a_clipped_draft_fits_however_discord_counts(text):
    draft = clip(text, 1900)
    assert text.startswith(draft) and len(draft.encode("utf-16-le")) // 2 <= 1900
