"""LLM backends behind one seam (see base.py), picked by name with `get_llm(settings)`.

| name     | class           | heavy import        |
|----------|-----------------|---------------------|
| llamacpp | LlamaCppLLM     | xllamacpp (default) |
| hf       | TransformersLLM | transformers        |
| openai   | OpenAICompatLLM | none (httpx)        |
| vllm     | VLLMLocal       | vllm (own env)      |
| fake     | FakeLLM         | none                |

Each module imports its heavy library inside the constructor, so choosing one backend
never loads another.
"""

from __future__ import annotations

import logging

from tutor.config import BACKENDS, Settings
from tutor.errors import BackendUnavailable, ConfigError
from tutor.llm.base import LLM, Completion

log = logging.getLogger(__name__)


def default_model(settings: Settings):
    from tutor.assets import assemble_default_model, default_model_path, smollm2_path

    if settings.model_path is not None:
        return settings.model_path
    if settings.llm_backend == "hf":
        return smollm2_path()
    path = default_model_path(settings.model_cache)
    return path if path.is_file() else assemble_default_model(settings.model_cache)


def get_llm(settings: Settings) -> LLM:
    name = settings.llm_backend
    if name == "llamacpp":
        from tutor.llm.llamacpp import LlamaCppLLM

        return LlamaCppLLM(default_model(settings), threads=settings.llm_threads, n_ctx=settings.n_ctx,
                           parallel=settings.llm_parallel)
    if name == "hf":
        from tutor.llm.hf import TransformersLLM

        return TransformersLLM(default_model(settings), threads=settings.llm_threads)
    if name == "openai":
        from tutor.llm.openai_compat import OpenAICompatLLM

        llm = OpenAICompatLLM(settings.openai_base_url, settings.openai_model, settings.openai_api_key,
                              connect_timeout=settings.openai_connect_timeout,
                              read_timeout=settings.openai_read_timeout, retries=settings.openai_retries,
                              connect_budget=settings.openai_connect_budget)
        from tutor.llm.breaker import CircuitBreaker

        # a server that goes away: fail fast while it is down (tutor/fallback.py answers)
        breaker = CircuitBreaker(llm, failures=settings.llm_breaker_failures, cooldown=settings.llm_breaker_cooldown)
        if settings.openai_check_schema:
            try:
                llm.check_schema()
            except BackendUnavailable as exc:  # down at start-up: start degraded, not dead
                llm.check_pending = True
                breaker.trip(f"the openai server was not reachable at start-up ({exc})")
                log.warning("%s; answering from retrieval only, trying it again in %.0f s",
                            exc, settings.llm_breaker_cooldown)
        return breaker
    if name == "vllm":
        from tutor.llm.vllm_local import VLLMLocal

        return VLLMLocal(str(settings.model_path or settings.openai_model))
    if name == "fake":
        from tutor.llm.fake import FakeLLM

        return FakeLLM(delay=settings.fake_delay)
    raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["LLM", "Completion", "get_llm"]
