"""The `tutor` command as a user runs it (a subprocess): bad input gets one clear line and
a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TUTOR = str(Path(sys.executable).parent / "tutor")


def run(*args, env=None, input=None, timeout=300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([TUTOR, *args], capture_output=True, text=True, env=full_env,
                          input=input, timeout=timeout)


def assert_clean_failure(result, *needles):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_help_lists_the_public_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("ingest", "ask", "chat", "serve"):
        assert command in result.stdout


def test_empty_question(corpus_index):
    assert_clean_failure(run("ask", "   ", "--index", str(corpus_index.index_dir)), "question is empty")


def test_missing_index_names_tutor_ingest(tmp_path):
    assert_clean_failure(run("ask", "What is stage 1?", "--index", str(tmp_path / "none")),
                         "no index", "tutor ingest")


def test_corrupted_index_file(corpus_index, tmp_path):
    broken = tmp_path / "index"
    shutil.copytree(corpus_index.index_dir, broken)
    version = (broken / "CURRENT").read_text().strip()
    (broken / "versions" / version / "dense.faiss").write_bytes(b"\x00garbage" * 100)
    assert_clean_failure(run("ask", "What is stage 1?", "--index", str(broken)),
                         "cannot be read", "tutor ingest --rebuild")


def test_unknown_backend(corpus_index):
    assert_clean_failure(run("ask", "What is stage 1?", "--backend", "gpt9", "--index",
                             str(corpus_index.index_dir)), "unknown backend 'gpt9'", "llamacpp")
    assert_clean_failure(run("ask", "What is stage 1?", "--index", str(corpus_index.index_dir),
                             env={"TUTOR_LLM_BACKEND": "nope"}), "unknown backend 'nope'")


def test_missing_model_file(corpus_index, tmp_path):
    assert_clean_failure(run("ask", "What is stage 1?", "--model", str(tmp_path / "missing.gguf"),
                             "--index", str(corpus_index.index_dir)), "model file not found", "--model")


@pytest.mark.parametrize("argv", [["ask"], ["ask", "q", "--stage", "0"], ["nonsense"]])
def test_usage_errors_are_reported_by_the_cli(argv):
    result = run(*argv)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_chat_with_scripted_backend_keeps_history(corpus_index):
    """The REPL plumbing (history, /reset, quit) with the fake backend; the real model's
    follow-up understanding is tested in test_e2e_model.py."""
    result = run("chat", "--backend", "fake", "--index", str(corpus_index.index_dir),
                 input="What comes after stage 1?\nand how long does it take?\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "understood as: What comes after stage 1? and how long does it take?" in result.stdout
    assert result.stdout.count("tutor>") == 2


def test_the_cli_ends_with_the_checked_answer_not_the_draft(capsys):
    """Piped output gets the served answer only; the widget and /v1's final text are the same."""
    from tutor import cli
    from tutor.types import Answer

    served = Answer("Stage 2 runs weeks 9-16 [1].", (), False, 1.0, "fake", "q",
                    held_back=("Stage 2 ends with a medal.",))
    events = iter([("meta", {}), ("token", "Stage 2 runs weeks 9-16 [1]. "), ("token", "Stage 2 ends with a medal."),
                   ("citations", []), ("done", served)])
    assert cli._stream(events) is served
    cli._print_sources(served)
    printed = capsys.readouterr().out
    assert printed.startswith("Stage 2 runs weeks 9-16 [1].\n")
    assert "Left out of the checked answer" in printed and printed.count("medal") == 1
