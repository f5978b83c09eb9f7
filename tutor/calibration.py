"""Constants fitted on data (the refusal gate's cosine, the support threshold), kept in
tutor/data/calibration.json beside how, on what and when each was measured. The scripts
that fit them write that file (`record`), never source code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

CALIBRATION_FILE = Path(__file__).resolve().parent / "data" / "calibration.json"


def calibrated(name: str, path: Path = CALIBRATION_FILE) -> float:
    return float(json.loads(path.read_text())[name]["value"])


def record(name: str, value: float, path: Path = CALIBRATION_FILE, **how) -> None:
    """Set `name` to `value` with what it was fitted on (`how`: dev_set, balanced_accuracy, ...),
    keeping the other entries; written whole to a temporary file, then renamed."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = {**data.get(name, {}), "value": round(value, 4), **how, "date": dt.date.today().isoformat()}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)
