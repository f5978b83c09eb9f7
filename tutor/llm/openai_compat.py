"""Any OpenAI-compatible server (`vllm serve`, llama.cpp's server, ...) over HTTP.

Written on httpx rather than the openai SDK so tests can inject failures with
httpx.MockTransport; transport errors become one BackendUnavailable that names the server.

- Timeouts are explicit: a short connect timeout (a server that is not there fails fast)
  and a read timeout between two pieces of a stream (a server that hangs fails too).
- A request is retried, with exponential backoff, only until its first token: a refused
  connection, a 429 or a 5xx before any text. Once text has reached the caller a broken
  stream is an error, never a retry, which would send the beginning of the answer twice.
- One connect budget per request (`connect_budget`, 1.2 s by default) bounds all its
  attempts together: each connect waits at most what is left of it, and no attempt starts
  once it is spent. A host that drops packets (down, or a firewall) so costs the budget, not
  attempts x the connect timeout, before the caller answers from retrieval (tutor/fallback.py).
  The read timeout (a server that connected and is thinking) is not part of it.
- Structured output uses `response_format: json_schema`. Some servers accept the field and
  ignore it, returning free text; `check_schema()` asks for a value no model writes by
  itself and reports whether the server held it to the schema. `get_llm` runs it at start-up;
  when the server is not there yet, the check waits for the first structured call instead.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import httpx

from tutor.errors import BackendUnavailable
from tutor.llm.base import LLM, Cancel, Messages, parse_json_object

HINT = "start `vllm serve MODEL` (or another OpenAI-compatible server) or set TUTOR_LLM_BACKEND=llamacpp"
RETRY_STATUS = {429, 500, 502, 503, 504}
CHECK_VALUE = "tutor-schema-check"
CHECK_SCHEMA = {"type": "object", "properties": {"check": {"type": "string", "enum": [CHECK_VALUE]}},
                "required": ["check"], "additionalProperties": False}
log = logging.getLogger(__name__)


class _Retryable(Exception):
    """A failure before the first token: worth another attempt."""


class OpenAICompatLLM(LLM):
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str = "not-needed", *,
                 transport: httpx.BaseTransport | None = None, connect_timeout: float = 1.0,
                 read_timeout: float = 60.0, retries: int = 2, backoff: float = 0.2,
                 connect_budget: float = 1.2):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.retries = retries
        self.backoff = backoff
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.connect_budget = connect_budget
        self.schema_enforced: bool | None = None  # unknown until check_schema() runs
        self.check_pending = False  # run check_schema() before the next json() (the server was down)
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._client = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout,
                                    headers={"Authorization": f"Bearer {api_key}"})

    # -- requests ------------------------------------------------------------------------------

    def _send(self, body: dict, stream: bool, connect: float) -> httpx.Response:
        """One attempt, connecting for at most `connect` seconds: the response (status < 400),
        or _Retryable / BackendUnavailable."""
        timeout = httpx.Timeout(self.read_timeout, connect=connect)
        request = self._client.build_request("POST", "/chat/completions", json={"model": self.model, **body},
                                             timeout=timeout)
        try:
            response = self._client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"{self.base_url} did not answer in time ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise _Retryable(f"cannot reach {self.base_url} ({type(exc).__name__}): {HINT}") from None
        if response.status_code >= 400:
            detail = response.read().decode(errors="replace")[:200]
            response.close()
            message = f"{self.base_url} answered {response.status_code}: {detail}"
            if response.status_code in RETRY_STATUS:
                raise _Retryable(message)
            raise BackendUnavailable(message)
        return response

    def _attempts(self) -> Iterator[float]:
        """Yield each attempt's connect timeout, sleeping with exponential backoff between
        attempts, until the retries or the request's connect budget run out."""
        deadline = time.monotonic() + self.connect_budget
        for attempt in range(self.retries + 1):
            if attempt:
                pause = self.backoff * 2 ** (attempt - 1)
                if time.monotonic() + pause >= deadline:
                    return  # no time left to connect after the pause
                time.sleep(pause)
            left = deadline - time.monotonic()
            if left <= 0:
                return
            yield min(self.connect_timeout, left)

    def _post(self, body: dict) -> httpx.Response:
        last = "no attempt was made"
        for connect in self._attempts():
            try:
                return self._send(body, stream=False, connect=connect)
            except _Retryable as exc:
                last = str(exc)
        raise BackendUnavailable(last)

    # -- the seam --------------------------------------------------------------------------------

    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: Cancel | None = None) -> Iterator[str]:
        body = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "stream": True}
        if stop:
            body["stop"] = stop
        last = "no attempt was made"
        for connect in self._attempts():
            sent = False
            try:
                for piece in self._stream_once(body, cancel, connect):
                    sent = True
                    yield piece
                return
            except _Retryable as exc:
                if sent:  # text already went out: a retry would repeat it
                    raise BackendUnavailable(f"stream from {self.base_url} broke: {exc}") from None
                last = str(exc)
        raise BackendUnavailable(last)

    def _stream_once(self, body: dict, cancel: Cancel | None, connect: float) -> Iterator[str]:
        response = self._send(body, stream=True, connect=connect)
        try:
            for line in response.iter_lines():
                if cancel and cancel():
                    return  # closing the response makes the server abort the request
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                yield from self._pieces(data)
        except httpx.HTTPError as exc:
            raise _Retryable(f"the stream from {self.base_url} broke ({type(exc).__name__}): {HINT}") from None
        finally:
            response.close()

    def _pieces(self, data: str) -> Iterator[str]:
        try:
            chunk = json.loads(data)
        except ValueError:
            raise BackendUnavailable(f"{self.base_url} sent a malformed stream event") from None
        if "error" in chunk:  # some servers report a failure inside the stream
            raise BackendUnavailable(f"{self.base_url} reported an error: {str(chunk['error'])[:200]}")
        for choice in chunk.get("choices", []):
            if text := (choice.get("delta") or {}).get("content"):
                yield text

    def json(self, messages: Messages, schema: dict, *, max_tokens: int = 512,
             temperature: float = 0.0, **_) -> dict:
        if self.check_pending:
            self.check_schema()
        if self.schema_enforced is False:
            raise BackendUnavailable(
                f"{self.base_url} ignores response_format json_schema (checked at start-up), so its JSON "
                "cannot be trusted: serve the model with `vllm serve` or llama.cpp's server, which enforce it")
        return parse_json_object(self._json_text(messages, schema, max_tokens, temperature), self.name)

    def _json_text(self, messages: Messages, schema: dict, max_tokens: int, temperature: float) -> str:
        response = self._post({"messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                               "response_format": {"type": "json_schema",
                                                   "json_schema": {"name": "output", "schema": schema,
                                                                   "strict": True}}})
        try:
            return response.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise BackendUnavailable(f"{self.base_url} sent an unexpected response") from None

    def check_schema(self) -> bool:
        """Ask for a greeting under a schema whose only valid value is CHECK_VALUE: a server that
        enforces the schema returns it; one that ignores response_format returns a greeting.
        Also fails fast, naming the server, when it cannot be reached."""
        messages = [{"role": "user", "content": "Say hello to the learner in one short sentence."}]
        text = self._json_text(messages, CHECK_SCHEMA, max_tokens=48, temperature=0.0)
        self.check_pending = False
        try:
            self.schema_enforced = json.loads(text) == {"check": CHECK_VALUE}
        except ValueError:
            self.schema_enforced = False
        if not self.schema_enforced:
            log.warning("%s ignores response_format json_schema (it answered %r); quiz building and "
                        "other structured output will refuse to use it", self.base_url, text[:80])
        return self.schema_enforced

    def close(self) -> None:
        self._client.close()
