"""The `tutor` command. Every command builds Settings from TUTOR_* plus its options and
passes them down; project errors become one red line and a non-zero exit, never a
traceback. This is the only module in tutor/ that imports ingest/ and eval/."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from tutor.config import BACKENDS, Settings, load_settings
from tutor.errors import TutorError

app = typer.Typer(help="Roadmap Tutor: answers about a learning roadmap, with citations, offline.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="index directory (TUTOR_INDEX_DIR)")]
BackendOpt = Annotated[Optional[str], typer.Option("--backend", help=f"LLM backend: {', '.join(BACKENDS)}")]
ModelOpt = Annotated[Optional[Path], typer.Option("--model", help="model file for llamacpp/hf")]
StageOpt = Annotated[Optional[int], typer.Option("--stage", min=1, help="only use material of this stage")]


def _settings(index: Path | None = None, backend: str | None = None, model: Path | None = None,
              **extra) -> Settings:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return load_settings(index_dir=index, llm_backend=backend, model_path=model, **extra)


def _tutor(settings: Settings):
    from tutor.answer import Tutor

    return Tutor.from_settings(settings)


@app.command()
def ingest(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="files or folders of your own material")] = None,
    index: IndexOpt = None,
    rebuild: Annotated[bool, typer.Option(help="ignore the previous version; embed everything")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would change; write nothing")] = False,
    forget: Annotated[Optional[list[Path]], typer.Option(help="stop indexing this folder or file")] = None,
):
    """Build or refresh the index from the shipped corpus plus PATHs (Markdown, text, HTML,
    PDF, roadmap YAML). Unchanged files are not embedded again."""
    from rich.progress import Progress

    from ingest.build import build_index

    settings = _settings(index)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("embedding", total=None)
        report = build_index(settings, list(paths or []), rebuild=rebuild, dry_run=dry_run,
                             forget=list(forget or []),
                             on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    for source, reason in report.skipped:
        err.print(f"[yellow]skipped[/] {escape(source)}: {escape(reason)}")
    verb = "would embed" if dry_run else "embedded"
    for label, items in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        for item in items:
            out.print(f"{label:8} {item}")
    status = ("dry run: nothing written" if dry_run else
              f"index version {report.version}" if report.version else "index already up to date")
    out.print(f"{report.files} files, {report.chunks} chunks, {verb} {report.embedded}; {status} "
              f"({report.seconds:.1f}s)")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="your question")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    stage: StageOpt = None,
    index: IndexOpt = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
):
    """Answer one question from the roadmap, with citations."""
    from tutor.answer import validate_question

    settings = _settings(index, backend, model)
    validate_question(question, settings.max_question_chars)  # before loading any model
    tutor = _tutor(settings)
    if as_json:
        answer = tutor.ask(question, stage=stage)
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    answer = None
    for kind, payload in tutor.events(question, stage=stage):
        if kind == "token":
            out.print(payload, end="", markup=False, highlight=False)
        elif kind == "done":
            answer = payload
    out.print()
    _print_sources(answer)


def _print_sources(answer) -> None:
    for c in answer.citations:
        stage = f", stage {c.stage}" if c.stage else ""
        out.print(f"  [{c.n}] {c.title} ({c.source}{stage})", markup=False, highlight=False)
    if not answer.refused:
        out.print(f"[dim]support {answer.support:.2f} · {answer.backend}[/]")


@app.command()
def chat(
    stage: StageOpt = None,
    index: IndexOpt = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
):
    """Talk to the tutor in the terminal; follow-ups use the conversation so far.
    Type /reset to start over, /quit or Ctrl-D to leave."""
    from tutor.answer import Turn

    tutor = _tutor(_settings(index, backend, model))
    history: list[Turn] = []
    out.print("[bold]Roadmap Tutor[/] — ask about the roadmap. /reset starts over, /quit leaves.")
    while True:
        try:
            message = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if message in ("/quit", "/exit"):
            return
        if message == "/reset":
            history.clear()
            continue
        if not message:
            continue
        out.print("tutor> ", end="")
        answer = None
        try:
            for kind, payload in tutor.events(message, history, stage=stage):
                if kind == "token":
                    out.print(payload, end="", markup=False, highlight=False)
                elif kind == "done":
                    answer = payload
        except TutorError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            continue
        out.print()
        if answer.question != message:
            out.print(f"[dim](understood as: {escape(answer.question)})[/]")
        _print_sources(answer)
        history += [Turn("user", message), Turn("assistant", answer.answer)]


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="address to bind (TUTOR_HOST)")] = None,
    port: Annotated[Optional[int], typer.Option(help="port (TUTOR_PORT)")] = None,
    index: IndexOpt = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
):
    """Serve the HTTP API (docs at /docs)."""
    import uvicorn

    from tutor.api import create_app

    settings = _settings(index, backend, model, host=host, port=port)
    app_ = create_app(settings)
    out.print(f"Roadmap Tutor on http://{settings.host}:{settings.port} (docs at /docs)")
    uvicorn.run(app_, host=settings.host, port=settings.port, log_level="warning")


def main() -> None:
    try:
        app()
    except TutorError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
