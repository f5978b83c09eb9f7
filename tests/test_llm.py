"""The LLM seam, one contract parametrised over every backend we can run here:
scripted fake, llama.cpp and transformers on the packaged SmolLM2, and the openai backend
against a real llama.cpp HTTP server on loopback. Failure paths use httpx.MockTransport."""

from __future__ import annotations

import httpx
import pytest

from tutor.assets import smollm2_path
from tutor.config import load_settings
from tutor.errors import BackendUnavailable, ConfigError, ModelNotFound
from tutor.llm.fake import FakeLLM
from tutor.llm.openai_compat import OpenAICompatLLM

MESSAGES = [{"role": "user", "content": "Name three colours."}]


@pytest.fixture(scope="module")
def llama_server():
    """A real llama.cpp OpenAI-compatible server (xllamacpp) on a loopback port."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(smollm2_path())
    params.n_ctx = 1024
    params.cpuparams.n_threads = 2
    params.warmup = False
    params.verbosity = -1
    server = xllamacpp.Server(params)
    yield server.listening_address
    del server


def _make(name, request):
    if name == "fake":
        return FakeLLM(["Red, green and blue are three colours that everyone knows well."])
    if name == "llamacpp":
        from tutor.llm.llamacpp import LlamaCppLLM

        return LlamaCppLLM(smollm2_path(), threads=2, n_ctx=1024)
    if name == "hf":
        from tutor.llm.hf import TransformersLLM

        # One torch thread: once torch has run on two, llama.cpp in this same process (the
        # session's packaged model) decodes ~45% slower for the rest of the run (measured:
        # 100 tokens 3.9 -> 6.0 s after one 2-thread matmul, unchanged after 1 thread).
        return TransformersLLM(smollm2_path(), threads=1)
    if name == "openai":
        return OpenAICompatLLM(request.getfixturevalue("llama_server") + "/v1", "smollm2")
    raise AssertionError(name)


@pytest.fixture(scope="module", params=["fake", "llamacpp", "hf", "openai"])
def backend(request):
    llm = _make(request.param, request)
    yield llm
    llm.close()


def test_stream_yields_text_and_complete_joins_it(backend):
    pieces = list(backend.stream(MESSAGES, max_tokens=12))
    assert pieces and all(isinstance(p, str) for p in pieces)
    if backend.name != "fake":
        again = backend.complete(MESSAGES, max_tokens=12)  # temperature 0: deterministic
        assert again.text == "".join(pieces)
        assert again.backend == backend.name


def test_cancel_stops_generation_inside_the_backend(backend):
    if backend.name == "fake":
        backend.script = ["one two three four five six seven eight nine ten eleven twelve"]
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 3

    pieces = list(backend.stream([{"role": "user", "content": "Count from one to fifty."}],
                                 max_tokens=60, cancel=cancel))
    assert 0 < len(pieces) <= 6


def test_llamacpp_json_follows_the_schema():
    from tutor.llm.llamacpp import LlamaCppLLM

    llm = LlamaCppLLM(smollm2_path(), threads=2, n_ctx=1024)
    schema = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]},
                                               "confidence": {"type": "integer"}},
              "required": ["answer", "confidence"]}
    value = llm.json([{"role": "user", "content": "Is the sky blue? Reply in JSON."}], schema, max_tokens=40)
    assert value["answer"] in ("yes", "no") and isinstance(value["confidence"], int)


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown backend 'gpt5'.*llamacpp"):
        load_settings(llm_backend="gpt5")


def test_missing_model_file_is_reported(tmp_path):
    from tutor.llm import get_llm

    with pytest.raises(ModelNotFound, match="model file not found"):
        get_llm(load_settings(llm_backend="llamacpp", model_path=tmp_path / "nope.gguf"))
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelNotFound, match="cannot load model"):
        get_llm(load_settings(llm_backend="llamacpp", model_path=junk))


def test_vllm_backend_without_vllm_says_what_to_do():
    from tutor.llm import get_llm

    with pytest.raises(BackendUnavailable, match="TUTOR_LLM_BACKEND=llamacpp"):
        get_llm(load_settings(llm_backend="vllm"))


def test_openai_backend_unreachable_says_what_to_do():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    llm = OpenAICompatLLM("http://127.0.0.1:9/v1", "m", transport=httpx.MockTransport(refuse))
    with pytest.raises(BackendUnavailable, match="vllm serve"):
        list(llm.stream(MESSAGES))


def test_openai_backend_http_error_and_bad_stream():
    llm = OpenAICompatLLM("http://x/v1", "m", transport=httpx.MockTransport(
        lambda r: httpx.Response(500, text="model crashed")))
    with pytest.raises(BackendUnavailable, match="500: model crashed"):
        list(llm.stream(MESSAGES))
    bad = OpenAICompatLLM("http://x/v1", "m", transport=httpx.MockTransport(
        lambda r: httpx.Response(200, text="data: {not json\n\n")))
    with pytest.raises(BackendUnavailable, match="malformed"):
        list(bad.stream(MESSAGES))


def test_openai_backend_parses_a_stream():
    body = ('data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
            'data: {"choices":[{"delta":{"content":"lo"}}]}\n\ndata: [DONE]\n\n')
    llm = OpenAICompatLLM("http://x/v1", "m", transport=httpx.MockTransport(
        lambda r: httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})))
    assert list(llm.stream(MESSAGES)) == ["Hel", "lo"]


# What `make native` changes, read as llama.cpp reports it: the system info line of PyPI's
# wheel as xllamacpp printed it, and an AVX-512 machine's CPU flags (abridged).
PORTABLE_INFO = ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
                 "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ")
ZEN4_FLAGS = "flags\t\t: fpu sse sse2 avx avx2 fma avx512f avx512dq avx512bw avx512_vnni avx512_bf16\n"


def test_build_features_and_cpu_flags_are_read_as_llama_cpp_names_them():
    from tutor.llm.llamacpp import build_features, cpu_flags

    assert {"AVX2", "LLAMAFILE", "REPACK"} <= build_features(PORTABLE_INFO)
    assert "AVX512" not in build_features(PORTABLE_INFO)
    assert "AVX512" not in build_features("CPU : AVX2 = 1 | AVX512 = 0 |")
    assert cpu_flags(ZEN4_FLAGS) == {"AVX512", "AVX512_VNNI"}
    assert cpu_flags("flags\t\t: fpu sse avx avx2 fma\n") == set()


def test_native_hint_names_what_the_build_leaves_unused(monkeypatch):
    import xllamacpp

    from tutor.llm import llamacpp

    real_read = llamacpp.Path.read_text
    monkeypatch.setattr(llamacpp.Path, "read_text",
                        lambda self, *a, **k: ZEN4_FLAGS if str(self) == "/proc/cpuinfo" else real_read(self, *a, **k))
    monkeypatch.setattr(xllamacpp, "get_system_info", lambda: PORTABLE_INFO)
    hint = llamacpp.native_build_hint()
    assert hint and "AVX512, AVX512_VNNI" in hint and "make native" in hint
    monkeypatch.setattr(xllamacpp, "get_system_info", lambda: PORTABLE_INFO + "AVX512 = 1 | AVX512_VNNI = 1 | ")
    assert llamacpp.native_build_hint() is None
