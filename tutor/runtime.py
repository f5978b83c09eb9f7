"""The Runtime: the heavy things a process needs, built one way from its Settings.

The CLI, the HTTP service (tutor/api), ingest and the eval all take the index, the
embedder, the LLM and the Tutor from here instead of each building them its own way:

- `index`: the live version under `settings.index_dir` (IndexMissing says "run `tutor ingest`");
- `embedder`: `settings.embed_backend` with `settings.embed_threads` threads and the ONNX
  file of `settings.model_cache` (nothing is read from the environment again);
- `llm`: the backend `settings.llm_backend` names (tutor/llm);
- `tutor`: the Tutor over those three.

Each is built on first use and then kept, so a command that only reads the index never
loads a model, and one that needs the tutor loads the index first (a missing index fails
before any model is loaded). Whatever the caller already has (a test's scripted LLM, a
shared embedder, a ready tutor) is given to the constructor and used as it is.

A process that embeds in bulk with no model loaded (ingest, the gate calibration) uses
`Runtime.for_ingest`: the embedder also gets the cores the LLM would use while serving.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from tutor.config import Settings

if TYPE_CHECKING:
    from tutor.answer import Tutor
    from tutor.embed import Embedder
    from tutor.index import LoadedIndex
    from tutor.llm import LLM


class Runtime:
    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, llm: LLM | None = None,
                 tutor: Tutor | None = None):
        self.settings = settings
        # a cached_property reads the instance's __dict__ first: what is given is used as is
        given = {"embedder": embedder, "llm": llm}
        if tutor is not None:
            given.update(tutor=tutor, index=tutor.index, embedder=embedder or tutor.embedder,
                         llm=llm or tutor.llm)
        self.__dict__.update({name: thing for name, thing in given.items() if thing is not None})

    @classmethod
    def for_ingest(cls, settings: Settings, **given) -> Runtime:
        """For bulk embedding with no LLM in the process: embed_threads raised to llm_threads."""
        threads = max(settings.embed_threads, settings.llm_threads)
        return cls(settings.model_copy(update={"embed_threads": threads}), **given)

    @cached_property
    def index(self) -> LoadedIndex:
        from tutor.index import load_index

        return load_index(self.settings.index_dir)

    @cached_property
    def embedder(self) -> Embedder:
        from tutor.embed import Embedder

        return Embedder.from_settings(self.settings)

    @cached_property
    def llm(self) -> LLM:
        from tutor.llm import get_llm

        return get_llm(self.settings)

    @cached_property
    def tutor(self) -> Tutor:
        from tutor.answer import Tutor

        index = self.index  # fail fast, before loading any model
        return Tutor(self.settings, index, self.embedder, self.llm)
