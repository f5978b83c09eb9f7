"""In-process llama.cpp through xllamacpp: the CPU default.

xllamacpp's `handle_chat_completions` blocks and calls back once per OpenAI-style delta;
we run it on a worker thread and hand deltas over a queue, so callers get an ordinary
iterator. Returning True from the callback stops decoding, which is how a cancelled
request frees the model at once. `cache_prompt` keeps the KV cache of the byte-identical
system prefix between requests (most of the time-to-first-token budget on 2 cores).
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tutor.errors import BackendUnavailable, ModelNotFound
from tutor.llm.base import LLM, Cancel, Completion, Messages

_DONE = object()

# llama.cpp's CPU kernels, by the instruction sets its build was compiled for. PyPI's
# xllamacpp wheel is built for any x86-64 with AVX2; compiled on the machine (`make native`)
# it also uses AVX-512 and VNNI where the CPU has them: on 2 cores of an AVX-512 machine the
# time to first token fell by about a sixth (README, "Speed on your CPU").
_WIDER = {"AVX512": "avx512f", "AVX512_VNNI": "avx512_vnni", "AVX_VNNI": "avx_vnni"}  # llama.cpp's name: /proc/cpuinfo's


def build_features(system_info: str) -> set[str]:
    """The instruction sets a llama.cpp build uses, from its system info line
    ("CPU : SSE3 = 1 | AVX2 = 1 | ... | OPENMP = 1 |")."""
    return {name for name, on in re.findall(r"([A-Z0-9_]+) = (\d)", system_info) if on == "1"}


def cpu_flags(cpuinfo: str) -> set[str]:
    """Which of the wider instruction sets this CPU has, from /proc/cpuinfo, named as
    llama.cpp names them."""
    line = next((ln for ln in cpuinfo.splitlines() if ln.startswith("flags")), "")
    flags = set(line.partition(":")[2].split())
    return {name for name, flag in _WIDER.items() if flag in flags}


def installed_features() -> set[str] | None:
    """What the installed xllamacpp's llama.cpp was compiled for; None without xllamacpp."""
    try:
        import xllamacpp
    except ImportError:
        return None
    return build_features(xllamacpp.get_system_info())


def native_build_hint() -> str | None:
    """One line for the operator when this CPU has instruction sets the installed llama.cpp
    was not compiled for; None when the build already uses them (or this is not Linux)."""
    try:
        cpu = cpu_flags(Path("/proc/cpuinfo").read_text())
    except OSError:
        return None
    if (built := installed_features()) is None:
        return None
    missing = sorted(cpu - built)
    if not missing:
        return None
    return (f"llama.cpp here is the portable build; this CPU also has {', '.join(missing)}: "
            "`make native` compiles it for this CPU (first tokens about 1.2x sooner)")


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
