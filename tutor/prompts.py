"""Prompts are data: one Jinja2 template per task in prompts/, rendered with
StrictUndefined (a missing variable is an error, not an empty string).

A template defines `system()` and `user(...)` macros. `system()` takes no arguments, so
the system prefix is byte-identical across requests and llama.cpp reuses its KV cache.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined


@lru_cache(maxsize=8)
def _environment(prompts_dir: str) -> Environment:
    return Environment(loader=FileSystemLoader(prompts_dir), undefined=StrictUndefined,
                       autoescape=False, keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True)


class Prompts:
    def __init__(self, prompts_dir: Path):
        self.env = _environment(str(prompts_dir))

    def messages(self, task: str, **variables) -> list[dict]:
        module = self.env.get_template(f"{task}.j2").module
        return [{"role": "system", "content": str(module.system()).strip()},
                {"role": "user", "content": str(module.user(**variables)).strip()}]
