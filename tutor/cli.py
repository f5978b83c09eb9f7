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


def _runtime(settings: Settings):
    """The index, embedder, model and tutor of this command, each built on first use."""
    from tutor.runtime import Runtime

    return Runtime(settings)


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
    for source, flag in report.flags:  # hidden text (removed) or instructions to a model (ingest/scan.py)
        err.print(f"[yellow]flagged[/] {escape(source)}: {escape(flag)}")
    if report.reread:
        out.print("the ingest code changed since the last version: every file was read again")
    verb = "would embed" if dry_run else "embedded"
    for label, items in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        for item in items:
            out.print(f"{label:8} {item}")
    status = ("dry run: nothing written" if dry_run else
              f"index version {report.version}" if report.version else "index already up to date")
    out.print(f"{report.files} files, {report.chunks} chunks, {verb} {report.embedded}; {status} "
              f"({report.seconds:.1f}s)")
    if not dry_run:
        _load_shipped_bank(settings)


def _load_shipped_bank(settings, engine=None) -> None:
    """Put the corpus's shipped quiz items (corpus/quizzes) that the live index backs into
    the service database: no model call, idempotent (tutor/quiz/shipped.py)."""
    from tutor.db import make_engine
    from tutor.index import current_version
    from tutor.quiz.shipped import load_shipped

    if current_version(settings.index_dir) is None:
        return
    try:
        report = load_shipped(engine or make_engine(settings.database_url), settings.corpus_dir,
                              _runtime(settings).index.chunks)
    except TutorError as exc:  # a database behind the code: the bank waits for `tutor db upgrade`
        err.print(f"[yellow]quiz bank not loaded:[/] {escape(str(exc))}")
        return
    out.print(report.summary(), highlight=False)
    for dropped in report.dropped:
        err.print(f"[yellow]dropped[/] {escape(dropped)}")


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
    tutor = _runtime(settings).tutor
    if as_json:
        answer = next(p for k, p in _events(tutor, question, stage=stage) if k == "done")
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    _print_sources(_stream(_events(tutor, question, stage=stage)))


def _events(tutor, message: str, history=(), stage: int | None = None):
    """A reply's events as every client gets them: the retrieval-only answer when the LLM
    cannot be reached (tutor/fallback.py), through the output filter (tutor/guard.py)."""
    from tutor.fallback import answer_events
    from tutor.guard import guarded

    return guarded(tutor, answer_events(tutor, message, history, stage=stage))


def _stream(events):
    """Show the draft as it streams (on a terminal), then replace it with the checked answer,
    so the terminal ends with the same text the widget and /v1's final message show; piped
    output gets the checked answer only. Returns the Answer."""
    from rich.live import Live
    from rich.text import Text

    answer, draft = None, ""
    if out.is_terminal:
        with Live(Text(""), console=out, transient=True, refresh_per_second=12) as live:
            for kind, payload in events:
                if kind == "token":
                    draft += payload
                    live.update(Text(draft))
                elif kind == "done":
                    answer = payload
    else:
        answer = next(payload for kind, payload in events if kind == "done")
    out.print(answer.answer, markup=False, highlight=False)
    return answer


def _print_sources(answer) -> None:
    from tutor.answer import held_back_note

    if answer.held_back and not answer.withdrawn:  # sentences of the draft left out of the answer
        out.print(held_back_note(answer.held_back), style="dim", markup=False, highlight=False)
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

    tutor = _runtime(_settings(index, backend, model)).tutor
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
        out.print("tutor>")
        try:
            answer = _stream(_events(tutor, message, history, stage=stage))
        except TutorError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            continue
        if answer.question != message:
            out.print(f"[dim](understood as: {escape(answer.question)})[/]")
        _print_sources(answer)
        history += [Turn("user", message), Turn("assistant", answer.answer)]


learner_app = typer.Typer(help="Read and update learner profiles.", no_args_is_help=True)
app.add_typer(learner_app, name="learner")


def _learning(settings: Settings):
    from tutor.db import make_engine
    from tutor.roadmap import load_roadmap

    return make_engine(settings.database_url), load_roadmap(settings.corpus_dir / "roadmap.yaml")


@app.command("next")
def next_(
    learner: Annotated[str, typer.Option("--learner", help="learner id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    explain: Annotated[bool, typer.Option(help="have the tutor explain the choice, with citations")] = False,
    index: IndexOpt = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
):
    """What this learner should study next: computed from the prerequisite graph, their
    mastery, goal track and hours per week."""
    from tutor import coach

    settings = _settings(index, backend, model)
    runtime = _runtime(settings)
    engine, roadmap = _learning(settings)
    rec = coach.recommendation_for(engine, roadmap, coach.papers_in(runtime.index), learner)
    body = {"learner_id": learner, **coach.recommendation_json(rec)}
    if explain:
        body["explanation"] = coach.explain(runtime.tutor, rec).to_json()
    if as_json:
        print(json.dumps(body, ensure_ascii=False))
        return
    if rec.finished:
        out.print("Every concept of the roadmap is mastered.")
    out.print(f"[bold]Stage {rec.stage}[/] · {rec.time_left} left in it at your pace")
    for step in body["next"]:
        out.print(f"- [bold]{escape(step['name'])}[/] ({step['time']}): {escape(step['why'])}")
    for paper in body["papers"]:
        out.print(f"  read: {escape(paper['title'])}")
    if explain:
        out.print(body["explanation"]["answer"], markup=False)


@learner_app.command("show")
def learner_show(learner_id: str, index: IndexOpt = None):
    """A learner's profile and progress per stage, as JSON."""
    from sqlmodel import Session

    from tutor import learners
    from tutor.mastery import mastery_map
    from tutor.next_step import progress

    engine, roadmap = _learning(_settings(index))
    with Session(engine) as session:
        learner = learners.get_learner(session, learner_id)
        known = learners.known_concepts(learner)
        profile = {"id": learner.id, "display_name": learner.display_name, "track": learner.track,
                   "hours_per_week": learner.hours_per_week, "current_stage": learner.current_stage,
                   "known_concepts": known}
    rows = mastery_map(engine, learner_id)
    profile["progress"] = progress(roadmap, {c: (r.p_known, r.attempts) for c, r in rows.items()}, set(known))
    print(json.dumps(profile, ensure_ascii=False, indent=1))


@learner_app.command("set")
def learner_set(
    learner_id: str,
    name: Annotated[Optional[str], typer.Option(help="display name")] = None,
    track: Annotated[Optional[str], typer.Option(help="industry, research or freelance")] = None,
    hours: Annotated[Optional[int], typer.Option(help="study hours per week")] = None,
    stage: Annotated[Optional[int], typer.Option(help="current stage")] = None,
    known: Annotated[Optional[str], typer.Option(help="comma-separated concept ids already known")] = None,
):
    """Create or update a learner; only the options given change."""
    from tutor import learners

    engine, roadmap = _learning(_settings())
    learner = learners.upsert_learner(
        engine, learner_id, concept_ids=set(roadmap.concept_by_id), stages=set(roadmap.stage_by_id),
        display_name=name, track=track, hours_per_week=hours, current_stage=stage,
        known=[k.strip() for k in known.split(",") if k.strip()] if known is not None else None)
    out.print(f"learner {learner.id}: track {learner.track}, {learner.hours_per_week} h/week, "
              f"stage {learner.current_stage}")


@app.command()
def progress(
    learner: Annotated[str, typer.Option("--learner", help="learner id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
):
    """A learner's roadmap: the four stages with their weeks, each concept marked mastered,
    in progress or not started, the next step and why, and each stage's milestone."""
    from tutor.progress_view import learner_progress, render

    engine, roadmap = _learning(_settings())
    data = learner_progress(engine, roadmap, learner)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    out.print(render(data, roadmap, out.width), soft_wrap=False)  # concepts wrap inside their stage


export_app = typer.Typer(help="Export learning records.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("xapi")
def export_xapi(
    learner: Annotated[Optional[str], typer.Option("--learner", help="only this learner")] = None,
    home_page: Annotated[Optional[str], typer.Option(
        "--home-page", help="the tutor's public address, which names actors and activities "
                            "(default: http://TUTOR_HOST:TUTOR_PORT, as the service names them)")] = None,
    output: Annotated[Optional[Path], typer.Option("--out", help="write to this file instead of stdout")] = None,
):
    """Quiz attempts and progress as xAPI 1.0.3 statements (a JSON list), for an LMS or a
    learning record store; the same statements as GET /admin/api/xapi."""
    from tutor.xapi import statements

    settings = _settings()
    engine, roadmap = _learning(settings)
    found = statements(engine, roadmap, home_page or f"http://{settings.host}:{settings.port}", learner)
    text = json.dumps(found, ensure_ascii=False, indent=1)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"{len(found)} statements written to {output}")
    else:
        print(text)


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
    from tutor.api.streaming import stopping

    settings = _settings(index, backend, model, host=host, port=port)
    app_ = create_app(settings)
    out.print(f"Roadmap Tutor on http://{settings.host}:{settings.port} (docs at /docs)")
    if settings.llm_backend == "llamacpp":
        from tutor.llm.llamacpp import native_build_hint

        if hint := native_build_hint():
            out.print(escape(hint), style="dim")
    # proxy_headers off: X-Forwarded-For is believed only from TUTOR_TRUSTED_PROXIES (tutor/api/security.py)
    # On SIGTERM/SIGINT open streams end with an "error" event (tutor/api/streaming.py) and
    # uvicorn waits for them; whatever still runs after 20 s is cancelled.
    server = uvicorn.Server(uvicorn.Config(app_, host=settings.host, port=settings.port, log_level="warning",
                                           proxy_headers=False, timeout_graceful_shutdown=20))
    exit_ = server.handle_exit

    def handle_exit(sig, frame):
        stopping(app_).set()
        exit_(sig, frame)

    server.handle_exit = handle_exit
    server.run()


@app.command()
def discord(
    api_url: Annotated[Optional[str], typer.Option("--api-url", help="the tutor service (TUTOR_DISCORD_API_URL)")] = None,
):
    """Run the Discord bot beside `tutor serve` (token: DISCORD_TOKEN; key: TUTOR_SERVICE_KEY)."""
    import asyncio
    import logging

    from tutor.discord.bot import run_bot

    settings = load_settings(discord_api_url=api_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord").setLevel(logging.WARNING)
    out.print(f"Discord bridge to {settings.discord_api_url}")
    asyncio.run(run_bot(settings))


quiz_app = typer.Typer(help="Practice quizzes per stage or concept: `tutor quiz --stage N` (or `--concept ID`) "
                            "serves one from the bank, `tutor quiz build` fills the bank.")
app.add_typer(quiz_app, name="quiz")
ConceptOpt = Annotated[Optional[str], typer.Option(
    "--concept", help="a concept id from corpus/roadmap.yaml (e.g. linear-algebra): only questions on it")]


def _quiz_concept(settings, concept: str | None, stage: int | None):
    """The roadmap Concept for --concept (checked against --stage), or None."""
    from tutor.quiz.bank import check_concept
    from tutor.roadmap import load_roadmap

    if concept is None:
        return None
    return check_concept(load_roadmap(settings.corpus_dir / "roadmap.yaml"), concept, stage)


@quiz_app.callback(invoke_without_command=True)
def quiz(
    ctx: typer.Context,
    stage: StageOpt = None,
    concept: ConceptOpt = None,
    count: Annotated[int, typer.Option(min=1, max=20, help="number of questions")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    index: IndexOpt = None,
):
    """Serve a quiz for a stage or a concept from the bank (questions only: keys stay on the server)."""
    if ctx.invoked_subcommand is not None:
        return
    if stage is None and concept is None:
        raise typer.BadParameter("give --stage N or --concept ID (or run `tutor quiz build`)", param_hint="--stage")
    from tutor.db import make_engine
    from tutor.quiz.bank import check_stage, public_item, serve_quiz, shortfall, stages_of
    from tutor.quiz.shipped import load_shipped

    settings = _settings(index)
    found = _quiz_concept(settings, concept, stage)
    stage = found.stage if found else stage
    chunks = _runtime(settings).index.chunks
    check_stage(stages_of(chunks), stage)
    engine = make_engine(settings.database_url)
    load_shipped(engine, settings.corpus_dir, chunks)  # a no-op once loaded
    served, items = serve_quiz(engine, stage, count, concept=found)
    message = shortfall(stage, count, len(items), concept=found)
    body = {"quiz_id": served.id, "stage": stage, "concept": concept, "items": [public_item(i) for i in items],
            "requested": count, "available": len(items), "message": message}
    if as_json:
        print(json.dumps(body, ensure_ascii=False))
        return
    title = f"{found.name} ({found.id}, stage {stage})" if found else f"Stage {stage}"
    out.print(f"[bold]{escape(title)} quiz[/] ({served.id}); answer with POST /api/quizzes/{served.id}/answers")
    if message:
        build = f"--concept {concept}" if found else f"--stage {stage}"
        out.print(f"[yellow]{escape(message)}[/] (`tutor quiz build {build}` writes more)")
    for n, item in enumerate(body["items"], 1):
        out.print(f"{n}. {escape(item['question'])}" + ("  (true or false?)" if item["kind"] == "tf" else ""))
        for letter, option in zip("ABCD", item.get("options", [])):
            out.print(f"   {letter}) {escape(option)}")


@quiz_app.command("build")
def quiz_build(
    stage: StageOpt = None,
    concept: ConceptOpt = None,
    per_stage: Annotated[int, typer.Option("--per-stage", min=1, help="accepted items wanted per stage")] = 10,
    max_candidates: Annotated[Optional[int], typer.Option(
        "--max-candidates", min=1, help="stop a stage after this many candidates (default: twice --per-stage)")] = None,
    export: Annotated[Optional[Path], typer.Option(
        "--export", help="write the shipped bank instead: build in a throwaway database and write "
                         "DIR/stage-N.yaml (e.g. corpus/quizzes; see tutor/quiz/shipped.py)")] = None,
    extend: Annotated[bool, typer.Option(
        "--extend", help="with --export: keep the file's items and add --per-stage new ones")] = False,
    batch: Annotated[int, typer.Option(
        min=1, help="candidates written per model call (LLM.json_many: one vLLM batch; llama.cpp decodes "
                    "them in its TUTOR_LLM_PARALLEL slots)")] = 1,
    kinds: Annotated[Optional[str], typer.Option(
        help="item kinds to write, in turn: comma-separated mcq, tf, short (default: the bank's mix, "
             "mcq,mcq,tf,mcq,short); e.g. --kinds mcq,short for a stage short of those")] = None,
    max_seconds: Annotated[Optional[float], typer.Option(
        "--max-seconds", min=1, help="stop a stage after this long (checked between model calls) and keep "
                                     "what it accepted; Ctrl-C does the same")] = None,
    index: IndexOpt = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
):
    """Fill the quiz bank: generate items from each stage's chunks, validate each against its
    source, store accepted and rejected ones (with reasons). The shipped items of the corpus
    are loaded first, so the model only adds to them. --concept ID: only from the sources
    about that concept, in its stage (items are tagged with it unless their words point to
    another concept of their source more)."""
    from tutor.db import make_engine
    from tutor.quiz.bank import build_stage, check_stage, stages_of
    from tutor.quiz.shipped import export_stage, load_shipped

    settings = _settings(index, backend, model)
    from tutor.quiz.bank import KIND_CYCLE
    from tutor.quiz.schema import KINDS

    cycle = tuple(k.strip() for k in kinds.split(",") if k.strip()) if kinds else KIND_CYCLE
    if not cycle or set(cycle) - set(KINDS):
        raise typer.BadParameter(f"{kinds!r}: give one or more of {', '.join(KINDS)}, comma-separated",
                                 param_hint="--kinds")
    if concept is not None and export is not None:
        raise typer.BadParameter("the shipped bank is built per stage: --concept does not go with --export",
                                 param_hint="--concept")
    found = _quiz_concept(settings, concept, stage)
    stage = found.stage if found else stage
    tutor = _runtime(settings).tutor
    stages = stages_of(tutor)
    if stage is not None:
        check_stage(stages, stage)
    if export is not None:
        for s in [stage] if stage is not None else stages:
            path, report, written = export_stage(tutor, s, export, per_stage, max_candidates, extend=extend,
                                                 batch=batch, kinds=cycle, max_seconds=max_seconds)
            out.print(f"stage {s}: {written} items written to {path} ({report.accepted} accepted of "
                      f"{report.candidates} candidates, {report.seconds:.0f}s{_stopped(report)})")
            if report.stopped == "Ctrl-C":
                return  # the whole run, not only this stage
        return
    engine = make_engine(settings.database_url)
    out.print(load_shipped(engine, settings.corpus_dir, tutor.index.chunks).summary())
    for s in [stage] if stage is not None else stages:
        report = build_stage(tutor, engine, s, per_stage, max_candidates=max_candidates, batch=batch, concept=concept,
                             kinds=cycle, max_seconds=max_seconds)
        per_valid = f"{report.seconds_per_valid:.1f}s per valid item" if report.accepted else "no valid item"
        reasons = ", ".join(f"{r} {n}" for r, n in report.reasons.most_common()) or "none"
        on = f" ({sum(k[1] == concept for k in report.kept)} of them tagged {concept})" if concept else ""
        out.print(f"stage {s}: {report.accepted} accepted{on}, {report.rejected} rejected of {report.candidates} "
                  f"({report.pass_rate:.0%}); rejections: {reasons}; {per_valid}{_stopped(report)}")
        if report.stopped == "Ctrl-C":
            return


def _stopped(report) -> str:
    return f"; stopped early ({report.stopped}), what was accepted is kept" if report.stopped else ""



@app.command("eval")
def eval_(
    limit: Annotated[Optional[int], typer.Option(min=1, help="only N gold items (stratified by kind)")] = None,
    no_baseline: Annotated[bool, typer.Option("--no-baseline", help="skip the naive LangChain baseline")] = False,
    baseline_from: Annotated[Optional[Path], typer.Option(
        "--baseline-from",
        help="reuse the baseline answers of an earlier full report (same items, backend, support threshold)")] = None,
    items_from: Annotated[Optional[Path], typer.Option(
        "--items-from",
        help="run the items an earlier report answered (a report directory or an eval/results summary), "
             "to compare runs as the gold set grows; instead of --limit")] = None,
    other_than: Annotated[Optional[list[Path]], typer.Option(
        "--other-than",
        help="leave out the items an earlier report answered (with --limit: a stratified pick of the rest), "
             "to measure on questions the answer path was not mended on; give it once per report")] = None,
    judge: Annotated[bool, typer.Option("--judge", help="also ask the LLM judge about every answer sentence")] = False,
    fast: Annotated[bool, typer.Option("--fast", help="CI subset: no LLM; fails below eval/thresholds.yaml")] = False,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    batch: Annotated[int, typer.Option(min=1, help="tutor answers per batched model call (LLM.complete_many: "
                                       "vLLM batches them, llama.cpp decodes them in its slots); 1 streams each, "
                                       "as a learner gets it")] = 1,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="report directory (default eval/reports/<time>)")] = None,
    thresholds: Annotated[Optional[Path], typer.Option(help="thresholds YAML for --fast")] = None,
    index: IndexOpt = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
):
    """Measure the tutor on the gold set beside a naive RAG baseline: retrieval, key facts,
    groundedness, citations, refusals, quiz items and hints, with bootstrap intervals;
    writes report.json and report.html."""
    from eval.report import summary_table
    from eval.runner import THRESHOLDS_FILE, Options, run

    if items_from and limit:
        raise typer.BadParameter("give --items-from or --limit, not both", param_hint="--items-from")
    if items_from and other_than:
        raise typer.BadParameter("give --items-from or --other-than, not both", param_hint="--other-than")
    settings = _settings(index, "fake" if fast else backend, model)
    options = Options(limit=limit, items_from=items_from, other_than=tuple(other_than or ()), baseline=not no_baseline,
                      judge=judge and not fast, fast=fast, seed=seed, out=out_dir,
                      thresholds=thresholds or THRESHOLDS_FILE, baseline_from=baseline_from, batch=batch)
    report, code = run(settings, options, progress=lambda line: err.print(line, highlight=False, markup=False))
    out.print(summary_table(report))
    scorer = report["scorer"]
    splits = ", ".join(f"{k} {v:.3f}" for k, v in scorer.get("by_split", {}).items())
    out.print(f"support scorer (decides serving) on {scorer['n']} labelled sentences: balanced accuracy "
              f"{scorer['balanced_accuracy']:.3f} ({splits}) at SUPPORT_THRESHOLD {scorer['threshold']}; "
              f"calibrated threshold {scorer['calibrated_threshold']} (balanced accuracy "
              f"{scorer['calibrated_balanced_accuracy']:.3f})", highlight=False)
    if report.get("grounding"):
        g = report["grounding"]["checker"]["balanced_accuracy"]
        out.print(f"trained grounding check (not serving): balanced accuracy dev {g['dev']:.3f}, "
                  f"test {g['test']:.3f}", highlight=False)
    if "judge_labels" in report:
        j = report["judge_labels"]
        out.print(f"LLM judge on the labels: balanced accuracy {j['balanced_accuracy_at_0_5']:.3f} at P(yes) 0.5",
                  highlight=False)
    quiz = report["quiz"]
    if quiz.get("note"):
        out.print(f"[dim]{escape(quiz['note'])}[/]")
    elif quiz.get("item_validity") is not None:
        leaks = "n/a" if quiz.get("key_leak_rate") is None else f"{quiz['key_leak_rate']:.3f}"
        out.print(f"quiz ({quiz.get('built') or str(quiz['items']) + ' bank items'}): item validity "
                  f"{quiz['item_validity']:.3f}, key support {quiz['key_support']:.3f}, key leaks {leaks}",
                  highlight=False)
    for row in report.get("thresholds", []):
        mark = "[green]ok[/]" if row["ok"] else "[red]FAIL[/]"
        value = "N/A" if row["value"] is None else f"{row['value']:.3f}"
        sign = "<=" if row["kind"] == "ceiling" else ">="
        out.print(f"{mark} {row['key']}: {value} (must be {sign} {row['bound']})")
    out.print(f"report: {report['out']}/report.html ({report['seconds']}s)")
    raise typer.Exit(code)


db_app = typer.Typer(help="The service database's schema (Alembic migrations in tutor/migrations/).",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")
DatabaseOpt = Annotated[Optional[str], typer.Option("--database", help="SQLAlchemy URL (TUTOR_DATABASE_URL)")]


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOpt = None,
               revision: Annotated[str, typer.Option(help="target revision")] = "head"):
    """Migrate the database to this version's schema (creates it when empty; safe to re-run),
    then load the shipped quiz bank of the live index (TUTOR_INDEX_DIR), if there is one."""
    from tutor.db import connect, upgrade

    settings = load_settings(database_url=database)
    engine = connect(settings.database_url)
    before, after = upgrade(engine, revision)
    out.print(f"database at {after}" + ("" if before == after else f" (was {before or 'unversioned'})"),
              highlight=False)
    if revision == "head":
        _load_shipped_bank(settings, engine)  # the shipped quiz bank of the live index, if there is one


@db_app.command("current")
def db_current(database: DatabaseOpt = None):
    """Print the database's revision and this version's, and whether an upgrade is due."""
    from tutor.db import SchemaBehind, check_schema, connect, current_revision, head_revision

    engine = connect(load_settings(database_url=database).database_url)
    current, head = current_revision(engine), head_revision()
    try:
        check_schema(engine)
        state = "up to date"
    except SchemaBehind as exc:
        state = str(exc)
    out.print(f"database {current or 'unversioned'}, code {head}: {state}", highlight=False)
    raise typer.Exit(0 if current == head else 1)


@db_app.command("purge")
def db_purge(database: DatabaseOpt = None,
             days: Annotated[Optional[int], typer.Option(
                 min=1, help="delete conversations idle longer than this (default: TUTOR_RETENTION_DAYS)")] = None):
    """Delete old conversations with their messages, feedback and hints (the retention limit
    the service also applies on its own when TUTOR_RETENTION_DAYS is set)."""
    from tutor.db import make_engine
    from tutor.privacy import purge_once

    settings = load_settings(database_url=database)
    days = days or settings.retention_days
    if days is None:
        raise TutorError("no retention limit: pass --days N or set TUTOR_RETENTION_DAYS")
    counts = purge_once(make_engine(settings.database_url), days)
    if counts is None:
        raise TutorError("another process is purging right now; try again in a few minutes")
    done = ", ".join(f"{n} {table}" for table, n in counts.items()) or "nothing"
    out.print(f"deleted {done} (conversations idle more than {days} days)", highlight=False)


def main() -> None:
    try:
        app()
    except TutorError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
