"""The Runtime (tutor/runtime.py): one place that builds the index, embedder, LLM and tutor
from Settings, each on first use; what the caller gives is used as is."""

from __future__ import annotations

import pytest

from tutor.config import Settings, load_settings
from tutor.errors import IndexMissing
from tutor.llm.fake import FakeLLM
from tutor.runtime import Runtime


def test_nothing_is_built_until_asked_and_then_once(corpus_index, embedder):
    runtime = Runtime(corpus_index, embedder=embedder, llm=FakeLLM())
    assert "index" not in vars(runtime) and "tutor" not in vars(runtime)
    tutor = runtime.tutor
    assert tutor is runtime.tutor and tutor.index is runtime.index  # kept, not rebuilt
    assert tutor.embedder is embedder and tutor.llm is runtime.llm
    assert tutor.ask("How long is stage 1?").citations


def test_a_missing_index_fails_before_any_model_is_built(tmp_path):
    runtime = Runtime(load_settings(index_dir=tmp_path / "none", llm_backend="llamacpp"))
    with pytest.raises(IndexMissing, match="tutor ingest"):
        runtime.tutor
    assert "llm" not in vars(runtime) and "embedder" not in vars(runtime)


def test_a_ready_tutor_supplies_the_rest(fake_tutor):
    tutor = fake_tutor()
    runtime = Runtime(tutor.settings, tutor=tutor)
    assert (runtime.tutor, runtime.index, runtime.embedder, runtime.llm) == (
        tutor, tutor.index, tutor.embedder, tutor.llm)


def test_the_embedder_takes_backend_and_threads_from_settings_not_the_environment(monkeypatch, tmp_path):
    cache = Settings.model_fields["model_cache"].default  # where `make setup` built the ONNX file
    settings = load_settings(embed_backend="onnx", model_cache=cache, embed_threads=1)
    monkeypatch.setenv("TUTOR_EMBED_BACKEND", "torch")  # read again, these would give torch
    monkeypatch.setenv("TUTOR_MODEL_CACHE", str(tmp_path / "elsewhere"))
    embedder = Runtime(settings).embedder
    assert (embedder.requested, embedder.backend) == ("onnx", "onnx"), embedder.note
    assert embedder.model_file.is_relative_to(cache)


def test_ingest_embeds_with_the_cores_the_model_would_use():
    settings = load_settings(llm_threads=2, embed_threads=1)
    assert Runtime.for_ingest(settings).settings.embed_threads == 2
    assert Runtime(settings).settings.embed_threads == 1
    assert Runtime.for_ingest(load_settings(llm_threads=1, embed_threads=3)).settings.embed_threads == 3

