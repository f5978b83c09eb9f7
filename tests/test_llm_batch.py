"""The batch calls of the LLM seam: `complete_many` / `json_many` are a plain loop for a
backend without batching, and one `vllm.LLM.chat` call for the vllm backend. vllm itself
needs a GPU environment of its own, so a stand-in module takes its place at the import:
what is tested is that the whole batch goes in one call and comes back in order."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass

import pytest

from tutor.llm.fake import FakeLLM

BATCH = [[{"role": "user", "content": f"Question {n}?"}] for n in range(3)]


def test_a_backend_without_batching_loops_in_order():
    llm = FakeLLM(["one", "two", "three"])
    assert [c.text for c in llm.complete_many(BATCH)] == ["one", "two", "three"]
    llm = FakeLLM(['{"n": 1}', '{"n": 2}'])
    assert llm.json_many(BATCH[:2], {"type": "object"}) == [{"n": 1}, {"n": 2}]


@dataclass
class _Out:
    text: str


@dataclass
class _Request:
    outputs: list


def _stand_in_vllm(monkeypatch, calls: list):
    class StandInLLM:
        def __init__(self, model):
            self.model = model

        def chat(self, conversations, params, use_tqdm=False):
            calls.append((conversations, params))
            guided = params.kwargs.get("structured_outputs")
            return [_Request([_Out(json.dumps({"q": c[-1]["content"]}) if guided else f"answer to {c[-1]['content']}")])
                    for c in conversations]

    class Params:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = StandInLLM, Params
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.StructuredOutputsParams = lambda json: {"json": json}
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", sampling)


def test_the_vllm_backend_sends_a_batch_in_one_call(monkeypatch):
    from tutor.llm.vllm_local import VLLMLocal

    calls = []
    _stand_in_vllm(monkeypatch, calls)
    llm = VLLMLocal("some/model")
    done = llm.complete_many(BATCH, max_tokens=20)
    assert [c.text for c in done] == ["answer to Question 0?", "answer to Question 1?", "answer to Question 2?"]
    assert len(calls) == 1 and len(calls[0][0]) == 3 and calls[0][1].kwargs["max_tokens"] == 20
    schema = {"type": "object"}
    assert llm.json_many(BATCH, schema) == [{"q": f"Question {n}?"} for n in range(3)]
    assert len(calls) == 2 and calls[1][1].kwargs["structured_outputs"] == {"json": schema}
    assert llm.complete(BATCH[0]).text == "answer to Question 0?"


QUESTIONS = ["How long is stage 1 and what is its milestone?", "What is the capital of France?",
             "im done with random forests and SVMs, whats my next step?", "What does dropout do?"]


def test_ask_many_gives_the_answers_ask_gives_with_the_model_called_once_for_the_batch(fake_tutor):
    one_by_one = [fake_tutor().ask(q) for q in QUESTIONS]
    tutor = fake_tutor()
    batches = []
    complete_many = tutor.llm.complete_many
    tutor.llm.complete_many = lambda conversations, **opts: batches.append(conversations) or \
        complete_many(conversations, **opts)
    batched = tutor.ask_many([(q, ()) for q in QUESTIONS])
    assert [a.answer for a in batched] == [a.answer for a in one_by_one]
    assert [a.refused for a in batched] == [False, True, False, False]
    assert [[c.chunk_id for c in a.citations] for a in batched] == \
        [[c.chunk_id for c in a.citations] for a in one_by_one]
    # one batch call holds the two questions answered from sources; the refusal needs no
    # model and "what next" is computed, then explained on the streamed path
    assert len(batches) == 1 and len(batches[0]) == 2
    assert "stage 1" in batches[0][0][-1]["content"] and "dropout" in batches[0][1][-1]["content"]


@pytest.mark.model
def test_llama_cpp_decodes_a_batch_in_its_slots_and_keeps_the_order(real_llm):
    asked = ["Reply with just the word apple.", "Reply with just the word banana.",
             "Reply with just the word cherry.", "Reply with just the word grape.", "Reply with just the word lemon."]
    done = real_llm.complete_many([[{"role": "user", "content": q}] for q in asked], max_tokens=8)
    assert [c.text.strip().strip(".").lower() for c in done] == ["apple", "banana", "cherry", "grape", "lemon"]
    assert real_llm.parallel >= 2  # more than one request decodes at a time
