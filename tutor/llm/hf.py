"""In-process Hugging Face transformers: small models with exact control.

Loads a GGUF file (transformers dequantises it), so the packaged SmolLM2 works with no
hub access. Generation runs on a worker thread feeding a TextIteratorStreamer; a
StoppingCriteria checks `cancel` between tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from tutor.errors import BackendUnavailable, ModelNotFound
from tutor.llm.base import LLM, Cancel, Messages


class TransformersLLM(LLM):
    name = "hf"

    def __init__(self, model_path: Path, *, threads: int = 2):
        model_path = Path(model_path)
        if not model_path.exists():
            raise ModelNotFound(f"model not found: {model_path} (pass --model PATH)")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise BackendUnavailable("transformers is not installed: run `make setup`") from None
        torch.set_num_threads(threads)
        if model_path.is_file():  # a GGUF file
            where, extra = str(model_path.parent), {"gguf_file": model_path.name}
        else:  # a local transformers checkpoint directory
            where, extra = str(model_path), {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True, **extra)
            self.model = AutoModelForCausalLM.from_pretrained(where, local_files_only=True, **extra)
        except Exception as exc:
            raise ModelNotFound(f"cannot load {model_path} with transformers: {exc}") from None
        self.model.eval()

    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: Cancel | None = None) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stopped = threading.Event()

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return stopped.is_set() or bool(cancel and cancel())

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        kwargs = dict(**inputs, max_new_tokens=max_tokens, streamer=streamer,
                      stopping_criteria=StoppingCriteriaList([_Cancelled()]),
                      pad_token_id=self.tokenizer.eos_token_id, **sampling)
        errors: list[Exception] = []

        def run():
            try:
                with torch.inference_mode():
                    self.model.generate(**kwargs)
            except Exception as exc:
                errors.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name="hf-generate", daemon=True)
        worker.start()
        text = ""
        try:
            for piece in streamer:
                if stop and any(s in text + piece for s in stop):
                    break
                text += piece
                if piece:
                    yield piece
        finally:
            stopped.set()
            worker.join()
        if errors:
            raise BackendUnavailable(f"transformers generation failed: {errors[0]}")

    def close(self) -> None:
        self.model = None
