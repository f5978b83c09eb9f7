"""The embedder's two backends: the int8 ONNX model (onnxruntime, the default) must give the
torch embedder's vectors (cosine >= 0.99 per text, unit length) and the same retrieval
results; without its verified file the Embedder falls back to torch and says so.

The ONNX file is built once per machine into the real model cache (what `make setup`
does); every fallback test points model_cache at an empty tmp directory instead.
"""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

from tutor.assets import embedder_onnx_path, embedder_onnx_record, verified_embedder_onnx
from tutor.config import load_settings
from tutor.embed import DIMS, EMBEDDER_NAME, Embedder
from tutor.embedder_build import build_embedder_onnx
from tutor.errors import ConfigError, ModelNotFound

SENTENCES = [
    "What should I study after finishing the Python foundations stage?",
    "Linear algebra: vectors, matrices, matrix multiplication and eigenvalues.",
    "Gradient descent moves the parameters against the gradient of the loss.",
    "Backpropagation applies the chain rule layer by layer, from the output back to the input.",
    "Overfitting means the model memorises noise in the training data.",
    "Use a validation set to choose hyperparameters, and touch the test set once.",
    "Regularisation (L2, dropout, early stopping) trades a little bias for less variance.",
    "Convolutional networks share weights across positions in an image.",
    "Residual connections add a block's input to its output, so very deep networks still train.",
    "Attention Is All You Need introduced the transformer: self-attention without recurrence.",
    "BERT is pretrained by masking tokens and predicting them from both sides.",
    "How many hours per week do I need to finish the roadmap in a year?",
    "Do I need a degree to get a machine learning engineer job?",
    "An MLOps engineer owns deployment, monitoring and retraining pipelines.",
    "Track experiments with a tool like MLflow or Weights & Biases so runs are reproducible.",
    "Cloud GPUs are rented by the hour; a free notebook tier is enough for the first stages.",
    "Read papers in three passes: abstract and figures, then method, then the details.",
    "Stage 3 milestone: train and evaluate a small neural network from scratch in PyTorch.",
    "precision recall f1",
    "Feeling burnt out? Keep a small daily habit instead of long irregular sessions. " * 20,
]

QUERIES = {
    "residual connections deep networks": ("paper",),
    "do I need a degree": ("faq",),
    "what does an MLOps engineer do": ("career",),
    "how many hours per week should I study": None,
    "self-attention transformer paper": None,
}


@pytest.fixture(scope="module")
def onnx_embedder() -> Embedder:
    cache = load_settings().model_cache
    build_embedder_onnx(cache)  # quick when `make setup` already built it
    embedder = Embedder(threads=2, backend="onnx", model_cache=cache)
    assert embedder.backend == "onnx", embedder.note
    return embedder


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    embedder = Embedder(threads=1, backend="torch")  # not 2: see tests/test_llm.py's hf backend
    assert (embedder.backend, embedder.note) == ("torch", "")
    return embedder


def test_onnx_vectors_match_torch(onnx_embedder, torch_embedder):
    got, ref = onnx_embedder.encode(SENTENCES, batch_size=8), torch_embedder.encode(SENTENCES, batch_size=8)
    assert got.shape == ref.shape == (len(SENTENCES), DIMS)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(got * ref, axis=1)
    assert cosines.min() >= 0.99, dict(zip(SENTENCES, cosines.round(4)))


def test_onnx_encode_one_and_batches_agree(onnx_embedder):
    """Padding to the longest text of a batch must not change a text's vector."""
    batch = onnx_embedder.encode(SENTENCES, batch_size=32)
    for i in (0, 11, 18, 19):
        np.testing.assert_allclose(onnx_embedder.encode_one(SENTENCES[i]), batch[i], atol=1e-4)
    assert onnx_embedder.encode([]).shape == (0, DIMS)


def test_same_top1_with_either_backend(corpus_index, onnx_embedder, torch_embedder):
    from tutor.index import load_index
    from tutor.retrieve import Retriever

    index = load_index(corpus_index.index_dir)
    ours, ref = Retriever(index, onnx_embedder), Retriever(index, torch_embedder)
    for query, kinds in QUERIES.items():
        a, b = ours.search(query, k=4, kinds=kinds), ref.search(query, k=4, kinds=kinds)
        assert a[0].chunk.id == b[0].chunk.id, query
        assert abs(a[0].dense - b[0].dense) < 0.02, query


def test_names_record_the_backend(onnx_embedder, torch_embedder, corpus_index, embedder):
    from tutor.index import load_index

    assert onnx_embedder.name == f"{EMBEDDER_NAME}/onnx-int8"
    assert torch_embedder.name == f"{EMBEDDER_NAME}/torch"
    assert load_index(corpus_index.index_dir).manifest["embedder"] == embedder.name


def test_missing_onnx_file_falls_back_to_torch(tmp_path, caplog):
    settings = load_settings(model_cache=tmp_path / "empty-cache")
    with caplog.at_level(logging.WARNING, logger="tutor.embed"):
        embedder = Embedder(threads=1, settings=settings)
    assert (embedder.requested, embedder.backend) == ("onnx", "torch")
    assert embedder.name == f"{EMBEDDER_NAME}/torch"
    assert "using torch" in embedder.note and "python -m tutor.embedder_build" in embedder.note
    assert embedder.note in caplog.text
    vector = embedder.encode_one("gradient descent")
    assert vector.shape == (DIMS,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert not (tmp_path / "empty-cache").exists()  # a fallback never builds anything


def test_file_from_other_weights_is_not_used(onnx_embedder, tmp_path):
    cache = tmp_path / "cache"
    embedder_onnx_path(cache).parent.mkdir(parents=True)
    shutil.copy(onnx_embedder.model_file, embedder_onnx_path(cache))
    record = json.loads(embedder_onnx_record(load_settings().model_cache).read_text())
    assert verified_embedder_onnx(cache) == (None, verified_embedder_onnx(cache)[1])  # no record yet
    record["source"]["weights_size"] += 1
    embedder_onnx_record(cache).write_text(json.dumps(record))
    path, why = verified_embedder_onnx(cache)
    assert path is None and "other weights" in why


def test_build_refuses_a_model_that_does_not_match_torch(tmp_path, monkeypatch):
    import tutor.embedder_build as embedder_build

    monkeypatch.setattr(embedder_build, "_export_fp32", lambda out: out.write_bytes(b"fp32"))
    monkeypatch.setattr(embedder_build, "_quantize_int8", lambda fp32, int8: int8.write_bytes(b"int8"))
    monkeypatch.setattr(embedder_build, "_compare_with_torch", lambda path: [0.999, 0.97, 0.998])
    with pytest.raises(ModelNotFound, match=r"lowest cosine 0\.9700"):
        build_embedder_onnx(tmp_path)
    assert not embedder_onnx_path(tmp_path).exists() and not embedder_onnx_record(tmp_path).exists()
    assert verified_embedder_onnx(tmp_path)[0] is None


def test_embed_backend_setting_is_validated(monkeypatch):
    assert load_settings().embed_backend == "onnx"
    monkeypatch.setenv("TUTOR_EMBED_BACKEND", "torch")
    assert load_settings().embed_backend == "torch"
    with pytest.raises(ConfigError, match="unknown embed backend 'tensorflow'"):
        load_settings(embed_backend="tensorflow")
