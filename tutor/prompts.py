"""Prompts are data: one Jinja2 template per task in prompts/, rendered with
StrictUndefined (a missing variable is an error, not an empty string).

A template defines `system()` and `user(...)` macros. `system()` takes no arguments, so
the system prefix is byte-identical across requests and llama.cpp reuses its KV cache; the
one value it shows, the deployment's canary (tutor/guard.py), is fixed per Prompts object.
Retrieved text goes through the `data` filter, which keeps it inside its <data> fence.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_FENCE = re.compile(r"</?\s*data\s*>", re.I)


def as_data(text) -> str:
    """Retrieved text made unable to close or open the fence it is shown in."""
    return _FENCE.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), str(text))


@lru_cache(maxsize=8)
def _environment(prompts_dir: str) -> Environment:
    env = Environment(loader=FileSystemLoader(prompts_dir), undefined=StrictUndefined,
                      autoescape=False, keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True)
    env.filters["data"] = as_data
    return env


class Prompts:
    def __init__(self, prompts_dir: Path, canary: str = ""):
        self.env = _environment(str(prompts_dir))
        self.dir = Path(prompts_dir)
        self.canary = canary  # "" (eval, tests): system prompts without the canary line
        self._modules: dict = {}

    def _module(self, task: str):
        if task not in self._modules:
            self._modules[task] = self.env.get_template(f"{task}.j2").make_module({"canary": self.canary})
        return self._modules[task]

    def messages(self, task: str, **variables) -> list[dict]:
        module = self._module(task)
        return [{"role": "system", "content": str(module.system()).strip()},
                {"role": "user", "content": str(module.user(**variables)).strip()}]

    def systems(self) -> dict[str, str]:
        """Every task's system prompt, by task (what the output filter must not let out)."""
        return {p.stem: str(self._module(p.stem).system()).strip() for p in sorted(self.dir.glob("*.j2"))}
