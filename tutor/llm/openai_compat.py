"""Any OpenAI-compatible server (`vllm serve`, llama.cpp's server, ...) over HTTP.

Written on httpx rather than the openai SDK so tests can inject failures with
httpx.MockTransport; transport errors become one BackendUnavailable that says what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from tutor.errors import BackendUnavailable
from tutor.llm.base import LLM, Cancel, Messages, parse_json_object

HINT = "start `vllm serve MODEL` (or another OpenAI-compatible server) or set TUTOR_LLM_BACKEND=llamacpp"


class OpenAICompatLLM(LLM):
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str = "not-needed", *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 120.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._client = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout,
                                    headers={"Authorization": f"Bearer {api_key}"})

    def _post(self, body: dict, stream: bool):
        request = self._client.build_request("POST", "/chat/completions", json={"model": self.model, **body})
        try:
            response = self._client.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"cannot reach {self.base_url} ({type(exc).__name__}): {HINT}") from None
        if response.status_code >= 400:
            detail = response.read().decode(errors="replace")[:200]
            response.close()
            raise BackendUnavailable(f"{self.base_url} answered {response.status_code}: {detail}")
        return response

    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: Cancel | None = None) -> Iterator[str]:
        body = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "stream": True}
        if stop:
            body["stop"] = stop
        response = self._post(body, stream=True)
        try:
            for line in response.iter_lines():
                if cancel and cancel():
                    break  # closing the response makes the server abort the request
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise BackendUnavailable(f"{self.base_url} sent a malformed stream event") from None
                for choice in chunk.get("choices", []):
                    if text := (choice.get("delta") or {}).get("content"):
                        yield text
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"stream from {self.base_url} broke ({type(exc).__name__}): {HINT}") from None
        finally:
            response.close()

    def json(self, messages: Messages, schema: dict, *, max_tokens: int = 512,
             temperature: float = 0.0, **_) -> dict:
        response = self._post({"messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                               "response_format": {"type": "json_schema",
                                                   "json_schema": {"name": "output", "schema": schema}}},
                              stream=False)
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError):
            raise BackendUnavailable(f"{self.base_url} sent an unexpected response") from None
        return parse_json_object(content, self.name)

    def close(self) -> None:
        self._client.close()
