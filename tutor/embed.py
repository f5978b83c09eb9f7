"""The embedder: all-MiniLM-L6-v2 loaded from its package, unit-length float32 vectors
(so FAISS inner product is cosine similarity).

Two backends compute the same vectors:

- `onnx` (the default): the int8-quantised model in onnxruntime, tokenised by `tokenizers`,
  mean-pooled and L2-normalised in numpy exactly as sentence-transformers does. About 3x
  faster per query than torch, and it never imports torch. The model file is built once by
  `python -m tutor.embedder_build` (`make setup`) and checked against torch (cosine >= 0.995).
- `torch`: sentence-transformers on torch, the reference, and the fallback whenever the
  verified ONNX file is missing (the Embedder then says so in `note` and in the log).

`TUTOR_EMBED_BACKEND` (Settings.embed_backend) chooses and `TUTOR_EMBED_THREADS`
(Settings.embed_threads) sizes it; `Embedder.backend` says which one is active and
`Embedder.name` ("all-MiniLM-L6-v2/onnx-int8" or ".../torch") is what index manifests record.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from tutor.assets import embedder_path, verified_embedder_onnx
from tutor.config import EMBED_BACKENDS

EMBEDDER_NAME = "all-MiniLM-L6-v2"
DIMS = 384
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of the packaged model
BACKEND_TAGS = {"onnx": "onnx-int8", "torch": "torch"}

log = logging.getLogger(__name__)


def embedder_name(backend: str) -> str:
    """The name an index manifest records for vectors from this backend."""
    return f"{EMBEDDER_NAME}/{BACKEND_TAGS[backend]}"


def _quiet_env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class TorchEncoder:
    """sentence-transformers on torch (the reference implementation)."""

    def __init__(self, threads: int = 1):
        _quiet_env()
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        # On 2 cores the embedder and llama.cpp must not both spin 2 threads.
        torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(embedder_path()), device="cpu")

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        vectors = self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class OnnxEncoder:
    """The exported transformer in onnxruntime; tokenisation, mean pooling over the
    attention mask and L2 normalisation reproduce sentence-transformers."""

    def __init__(self, model_file: Path, threads: int = 1):
        _quiet_env()
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(embedder_path() / "tokenizer.json"))
        # The file pads and truncates to a fixed 128; sentence-transformers pads to the
        # longest text of the batch and truncates at max_seq_length.
        tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        tokenizer.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]  # (batch, tokens, 384)
        weights = mask.astype(np.float32)
        summed = np.einsum("btd,bt->bd", hidden, weights)
        pooled = summed / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), DIMS), dtype=np.float32)
        # Longest first, as sentence-transformers does: batches of similar length pad less.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            ids = order[start:start + batch_size]
            out[ids] = self._batch([texts[i] for i in ids])
        return out


class Embedder:
    """`Embedder.from_settings(settings)` is how the tutor builds it (tutor/runtime.py):
    backend, threads and model cache all from Settings. `Embedder(threads)` is for scripts
    and tests: `backend=` and `model_cache=` (or `settings=`) given, else read from the
    environment (TUTOR_EMBED_BACKEND, TUTOR_MODEL_CACHE)."""

    dims = DIMS

    @classmethod
    def from_settings(cls, settings) -> Embedder:
        return cls(settings.embed_threads, backend=settings.embed_backend, model_cache=settings.model_cache)

    def __init__(self, threads: int = 1, *, backend: str | None = None,
                 model_cache: Path | None = None, settings=None):
        if backend is None or model_cache is None:
            if settings is None:
                from tutor.config import load_settings

                settings = load_settings()
            backend = backend or settings.embed_backend
            model_cache = model_cache or settings.model_cache
        if backend not in EMBED_BACKENDS:
            raise ValueError(f"unknown embed backend {backend!r}; choose one of {', '.join(EMBED_BACKENDS)}")
        self.requested = backend
        self.note = ""  # why the active backend is not the requested one
        self.model_file: Path | None = None
        self._encoder = None
        if backend == "onnx":
            self._encoder = self._try_onnx(Path(model_cache), threads)
        if self._encoder is None:
            self._encoder = TorchEncoder(threads)
            self.backend = "torch"
        else:
            self.backend = "onnx"
        self.name = embedder_name(self.backend)

    def _try_onnx(self, model_cache: Path, threads: int):
        path, why = verified_embedder_onnx(model_cache)
        if path is not None:
            try:
                encoder = OnnxEncoder(path, threads)
            except ImportError as exc:
                why = f"onnxruntime is not installed ({exc})"
            except Exception as exc:  # noqa: BLE001 - a broken file must not take the service down
                why = f"onnxruntime could not load {path}: {exc}"
            else:
                self.model_file = path
                return encoder
        self.note = f"int8 ONNX embedder unavailable, using torch: {why}"
        log.warning("%s", self.note)
        return None

    def __repr__(self) -> str:
        return f"Embedder(name={self.name!r}, backend={self.backend!r})"

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMS), dtype=np.float32)
        return self._encoder.encode(list(texts), batch_size=batch_size, progress=progress)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
