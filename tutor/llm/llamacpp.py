"""In-process llama.cpp through xllamacpp: the CPU default.

xllamacpp's `handle_chat_completions` blocks and calls back once per OpenAI-style delta;
we run it on a worker thread and hand deltas over a queue, so callers get an ordinary
iterator. Returning True from the callback stops decoding, which is how a cancelled
request frees the model at once. `cache_prompt` keeps the KV cache of the byte-identical
system prefix between requests (most of the time-to-first-token budget on 2 cores).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tutor.errors import BackendUnavailable, ModelNotFound
from tutor.llm.base import LLM, Cancel, Completion, Messages

_DONE = object()


class LlamaCppLLM(LLM):
    name = "llamacpp"

    def __init__(self, model_path: Path, *, threads: int = 2, n_ctx: int = 8192, parallel: int = 4):
        if not Path(model_path).is_file():
            raise ModelNotFound(f"model file not found: {model_path} (run `make setup`, or pass --model PATH)")
        try:
            import xllamacpp
        except ImportError:
            raise BackendUnavailable("xllamacpp is not installed: run `make setup`") from None
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = n_ctx
        # Several slots: llama.cpp routes each request to the slot sharing the longest prefix,
        # so the condense prompt does not evict the answer prompt's cached system prefix, and
        # concurrent requests decode in one batch (on 2 cores about 1.3x the tokens per second
        # of one at a time: eval/bench/concurrency.py). Each slot gets n_ctx / parallel tokens.
        params.n_parallel = parallel
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.cache_prompt = True
        params.warmup = False
        params.verbosity = -1
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # a file that is not a GGUF model
            raise ModelNotFound(f"cannot load model {model_path}: {exc}") from None
        self.model_path = Path(model_path)
        self.parallel = parallel

    def _request(self, messages: Messages, max_tokens: int, temperature: float,
                 stop: list[str] | None, **extra) -> dict:
        body = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                "cache_prompt": True, **extra}
        if stop:
            body["stop"] = stop
        return body

    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: Cancel | None = None) -> Iterator[str]:
        pieces: queue.Queue = queue.Queue()
        stopped = threading.Event()

        def on_delta(chunk: dict) -> bool:
            for choice in chunk.get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    pieces.put(text)
            return stopped.is_set() or bool(cancel and cancel())

        def run() -> None:
            try:
                result = self._server.handle_chat_completions(
                    self._request(messages, max_tokens, temperature, stop, stream=True), on_delta)
                if isinstance(result, dict) and "error" in result:
                    pieces.put(BackendUnavailable(f"llama.cpp error: {result['error']}"))
            except Exception as exc:
                pieces.put(BackendUnavailable(f"llama.cpp failed: {exc}"))
            finally:
                pieces.put(_DONE)

        worker = threading.Thread(target=run, name="llamacpp-generate", daemon=True)
        worker.start()
        try:
            while (item := pieces.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stopped.set()  # the consumer stopped early: stop decoding too
            worker.join()

    def json(self, messages: Messages, schema: dict, *, max_tokens: int = 512,
             temperature: float = 0.0, **_) -> dict:
        from tutor.llm.base import parse_json_object

        body = self._request(messages, max_tokens, temperature, None, response_format={
            "type": "json_schema", "json_schema": {"name": "output", "schema": schema}})
        try:
            result = self._server.handle_chat_completions(body)
        except Exception as exc:
            raise BackendUnavailable(f"llama.cpp failed: {exc}") from None
        if "error" in result:
            raise BackendUnavailable(f"llama.cpp error: {result['error']}")
        return parse_json_object(result["choices"][0]["message"]["content"], self.name)

    # Batches: one request per slot at a time, so the slots decode together (the batching
    # llama.cpp does; on 2 cores it is bounded by compute: eval/bench/concurrency.py).

    def complete_many(self, conversations: list[Messages], **opts) -> list[Completion]:
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="llamacpp-batch") as pool:
            return list(pool.map(lambda messages: self.complete(messages, **opts), conversations))

    def json_many(self, conversations: list[Messages], schema: dict, **opts) -> list[dict]:
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="llamacpp-batch") as pool:
            return list(pool.map(lambda messages: self.json(messages, schema, **opts), conversations))

    def close(self) -> None:
        self._server = None
