"""In-process vLLM (`vllm.LLM`) for offline batch work on GPU machines: quiz-bank builds
and eval runs. vllm lives in its own environment (`pip install roadmap-tutor[vllm]`), so it
is imported only here, inside the constructor. For serving, run `vllm serve` and use the
`openai` backend instead."""

from __future__ import annotations

from collections.abc import Iterator

from tutor.errors import BackendUnavailable
from tutor.llm.base import LLM, Cancel, Messages


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

    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: Cancel | None = None) -> Iterator[str]:
        from vllm import SamplingParams

        params = SamplingParams(max_tokens=max_tokens, temperature=temperature, stop=stop)
        # Offline vLLM returns whole completions; batch work does not need token streaming.
        outputs = self._llm.chat([messages], params, use_tqdm=False)
        yield outputs[0].outputs[0].text

    def json(self, messages: Messages, schema: dict, *, max_tokens: int = 512,
             temperature: float = 0.0, **_) -> dict:
        from vllm import SamplingParams
        from vllm.sampling_params import GuidedDecodingParams

        from tutor.llm.base import parse_json_object

        params = SamplingParams(max_tokens=max_tokens, temperature=temperature,
                                guided_decoding=GuidedDecodingParams(json=schema))
        text = self._llm.chat([messages], params, use_tqdm=False)[0].outputs[0].text
        return parse_json_object(text, self.name)
