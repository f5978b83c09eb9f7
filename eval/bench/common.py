"""Shared pieces of the benchmarks: statistics, thread pinning, the index under test,
the query set, rich tables and the results file.

Nothing here holds a figure: every number a section prints is measured in the same
process run, and every ratio divides by a baseline measured in that run too.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import platform
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
QUERIES_FILE = BENCH_DIR / "queries.yaml"
RESULTS_FILE = BENCH_DIR / "results" / "latest.json"

console = Console()
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = 120  # piped into a log or `make`: do not wrap tables at 80 columns


# -- statistics -----------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in 0..100."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: list[float]) -> dict:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "mean": sum(values) / len(values) if values else math.nan}


def ratio(ours: float, baseline: float) -> float:
    return ours / baseline if baseline else math.nan


def verdict(ok: bool) -> str:
    return "[green]PASS[/]" if ok else "[red]FAIL[/]"


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Timed loops run without the cyclic collector (as timeit does)."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def clock() -> float:
    return time.perf_counter()


# -- environment ----------------------------------------------------------------------

def pin_threads(n: int) -> None:
    """Same thread budget for ours and the baseline (2 shared cores: oversubscription
    turns every comparison into noise)."""
    import faiss
    import torch

    torch.set_num_threads(n)
    faiss.omp_set_num_threads(n)


def quiet_libraries() -> None:
    import warnings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")  # langchain_community's sunset notice and friends
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


def load_queries(path: Path = QUERIES_FILE) -> list[dict]:
    entries = yaml.safe_load(path.read_text())["queries"]
    return [e if isinstance(e, dict) else {"q": str(e)} for e in entries]


@contextlib.contextmanager
def index_under_test(label: str = "bench") -> Iterator[tuple[Path, dict]]:
    """TUTOR_INDEX_DIR when set, else the shipped corpus built into a temporary directory.
    Yields (index_dir, info) where info says which and how long the build took."""
    given = os.environ.get("TUTOR_INDEX_DIR")
    if given:
        yield Path(given), {"index_dir": given, "built": False}
        return
    from ingest.build import build_index
    from tutor.config import load_settings

    with tempfile.TemporaryDirectory(prefix=f"roadmap-tutor-{label}-") as tmp:
        settings = load_settings(index_dir=Path(tmp))
        started = clock()
        report = build_index(settings, rebuild=True)
        info = {"index_dir": tmp, "built": True, "chunks": report.chunks,
                "build_seconds": round(clock() - started, 3)}
        console.print(f"[dim]built a temporary index of {report.chunks} chunks in "
                      f"{info['build_seconds']:.1f}s ({tmp})[/]")
        yield Path(tmp), info


# -- output ---------------------------------------------------------------------------

def table(title: str, columns: list[str], rows: list[list], caption: str | None = None) -> Table:
    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for i, name in enumerate(columns):
        t.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*(cell if isinstance(cell, str) else fmt(cell) for cell in row))
    return t


def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def machine() -> dict:
    import torch

    return {"host": platform.node(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "load_avg_1m": round(os.getloadavg()[0], 2)}


def save_section(name: str, data: dict, path: Path = RESULTS_FILE) -> None:
    """Write this section into latest.json. Sections measured by earlier invocations are
    kept, each stamped with its own time, so `python -m eval.bench llm` does not erase the
    retrieval figures; every ratio inside a section comes from one run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        results = {}
    results.setdefault("sections", {})[name] = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), **data}
    results["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_clean(results), indent=1) + "\n")
    os.replace(tmp, path)


def _clean(value):
    """JSON-safe: NaN becomes null, floats keep 4 decimals, paths become strings."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, Path):
        return str(value)
    return value


def free_port() -> int:
    """A loopback port nothing listens on (for a server the bench starts, or to find closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
