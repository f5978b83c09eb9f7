"""In-process vLLM (`vllm.LLM`) for offline batch work on GPU machines: quiz-bank builds
and eval runs. vllm lives in its own environment (`pip install roadmap-tutor[vllm]`), so it
is imported only here, inside the constructor. For serving, run `vllm serve` and use the
`openai` backend instead."""

from __future__ import annotations

import atexit
from collections.abc import Iterator

from tutor.errors import BackendUnavailable
from tutor.llm.base import LLM, Cancel, Completion, Messages, parse_json_object


class VLLMLocal(LLM):
    name = "vllm"

    def __init__(self, model: str):
        try:
            from vllm import LLM as _VLLM
        except ImportError:
            raise BackendUnavailable(
                "vllm is not installed in this environment: install `roadmap-tutor[vllm]` on a GPU "
                "machine, or set TUTOR_LLM_BACKEND=llamacpp") from None
        try:
            self._llm = _VLLM(model=model)
        except Exception as exc:
            raise BackendUnavailable(f"vllm could not load {model}: {exc}") from None
        # vLLM's engine runs in a child process. A command that exits without close() (the
        # CLI holds its tutor to the end) would otherwise hang in multiprocessing's exit
        # handler, waiting for that process forever (seen with `tutor quiz build`); atexit
        # runs handlers last-registered first, so this one comes before it.
        atexit.register(self.close)

    def close(self) -> None:
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is not None:
            atexit.unregister(self.close)
            # vLLM 0.32's engine client (a stand-in without one has nothing to stop; if vLLM
            # moves it, tests/test_vllm_cpu.py sees the exit hang again)
            engine = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
            if engine is not None:
                engine.shutdown()

    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: Cancel | None = None) -> Iterator[str]:
        # Offline vLLM returns whole completions; batch work does not need token streaming.
        yield self._texts([messages], self._params(max_tokens, temperature, stop))[0]

    def json(self, messages: Messages, schema: dict, *, max_tokens: int = 512,
             temperature: float = 0.0, **_) -> dict:
        return self.json_many([messages], schema, max_tokens=max_tokens, temperature=temperature)[0]

    def complete_many(self, conversations: list[Messages], *, max_tokens: int = 256,
                      temperature: float = 0.0, stop: list[str] | None = None, **_) -> list[Completion]:
        """Every conversation in one `LLM.chat` call: vLLM schedules them as one batch."""
        texts = self._texts(conversations, self._params(max_tokens, temperature, stop))
        return [Completion(text, self.name) for text in texts]

    def json_many(self, conversations: list[Messages], schema: dict, *, max_tokens: int = 512,
                  temperature: float = 0.0, **_) -> list[dict]:
        # vLLM 0.32's name; GuidedDecodingParams / guided_decoding= of older releases are gone
        from vllm.sampling_params import StructuredOutputsParams

        params = self._params(max_tokens, temperature, None, structured_outputs=StructuredOutputsParams(json=schema))
        return [parse_json_object(text, self.name) for text in self._texts(conversations, params)]

    def _params(self, max_tokens: int, temperature: float, stop: list[str] | None, **extra):
        from vllm import SamplingParams

        return SamplingParams(max_tokens=max_tokens, temperature=temperature, stop=stop, **extra)

    def _texts(self, conversations: list[Messages], params) -> list[str]:
        outputs = self._llm.chat(conversations, params, use_tqdm=False)
        return [output.outputs[0].text for output in outputs]
