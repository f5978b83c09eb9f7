"""The embedder: all-MiniLM-L6-v2 loaded from its package, unit-length float32 vectors
(so FAISS inner product is cosine similarity)."""

from __future__ import annotations

import os

import numpy as np

from tutor.assets import embedder_path

EMBEDDER_NAME = "all-MiniLM-L6-v2"
DIMS = 384


class Embedder:
    name = EMBEDDER_NAME
    dims = DIMS

    def __init__(self, threads: int = 1):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        # On 2 cores the embedder and llama.cpp must not both spin 2 threads.
        torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(embedder_path()), device="cpu")

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMS), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
