"""The curriculum graph in corpus/roadmap.yaml: a typed schema and its invariants.

Loading validates the shape (pydantic) and the graph: every prerequisite exists, the
prerequisite graph is acyclic, a concept never depends on a later stage, and every
concept is reachable from the stage-1 roots. Ingest turns it into documents; the
learner features (what to learn next) walk the same graph.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutor.errors import IngestError

ResourceKind = Literal["course", "book", "docs", "video", "platform", "paper", "tool", "community"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resource(_Strict):
    kind: ResourceKind
    title: str = Field(min_length=1)
    note: str = ""


class WeekBlock(_Strict):
    weeks: tuple[int, int]
    focus: str = Field(min_length=1)


class Stage(_Strict):
    id: int = Field(ge=1)
    slug: str
    title: str = Field(min_length=1)
    weeks: tuple[int, int]
    goal: str = Field(min_length=1)
    milestone: str = Field(min_length=1)
    week_plan: list[WeekBlock] = []
    resources: list[Resource] = []

    @property
    def length(self) -> int:
        """Its weeks counted: weeks 9-16 are 8."""
        return self.weeks[1] - self.weeks[0] + 1


class Concept(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str = Field(min_length=1)
    stage: int = Field(ge=1)
    prerequisites: list[str] = []
    summary: str = Field(min_length=1)


class Topic(_Strict):
    title: str
    detail: str
    concepts: list[str] = []


class Quarter(_Strict):
    id: str
    title: str
    stages: list[int]
    summary: str
    topics: list[Topic] = []
    projects: list[str] = []


class MonthBlock(_Strict):
    months: tuple[int, int]
    focus: str


class Track(_Strict):
    id: str
    title: str
    summary: str
    emphasis: list[str] = []
    months: list[MonthBlock] = []


class Specialisation(_Strict):
    id: str
    title: str
    summary: str
    topics: list[str] = []
    concepts: list[str] = []
    risk: str = ""


class RoadmapInfo(_Strict):
    id: str
    title: str
    summary: str
    duration: str
    prerequisites: list[str] = []


class Roadmap(_Strict):
    roadmap: RoadmapInfo
    stages: list[Stage]
    concepts: list[Concept]
    quarters: list[Quarter] = []
    tracks: list[Track] = []
    specialisations: list[Specialisation] = []

    @cached_property
    def concept_by_id(self) -> dict[str, Concept]:
        return {c.id: c for c in self.concepts}

    @cached_property
    def stage_by_id(self) -> dict[int, Stage]:
        return {s.id: s for s in self.stages}

    def problems(self) -> list[str]:
        """Every broken invariant, as readable sentences (empty when the graph is sound)."""
        found = []
        stage_ids = set(self.stage_by_id)
        if len(self.concept_by_id) != len(self.concepts):
            found.append("duplicate concept ids")
        for c in self.concepts:
            if c.stage not in stage_ids:
                found.append(f"concept {c.id} names unknown stage {c.stage}")
            for p in c.prerequisites:
                pre = self.concept_by_id.get(p)
                if pre is None:
                    found.append(f"concept {c.id} names unknown prerequisite {p}")
                elif pre.stage > c.stage:
                    found.append(f"concept {c.id} (stage {c.stage}) depends on later {p}")
        if cycle := self.find_cycle():
            found.append("prerequisite cycle: " + " -> ".join(cycle))
        unreachable = set(self.concept_by_id) - self.reachable_from_roots()
        if unreachable:
            found.append("not reachable from stage-1 roots: " + ", ".join(sorted(unreachable)))
        for group in (self.quarters, self.specialisations):
            for item in group:
                names = getattr(item, "concepts", []) + [
                    cid for t in getattr(item, "topics", []) if isinstance(t, Topic) for cid in t.concepts
                ]
                found += [f"{item.id} names unknown concept {n}" for n in names if n not in self.concept_by_id]
        return found

    def find_cycle(self) -> list[str] | None:
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done

        def visit(cid: str, path: list[str]) -> list[str] | None:
            state[cid] = 1
            for p in self.concept_by_id[cid].prerequisites:
                if p not in self.concept_by_id:
                    continue
                if state.get(p) == 1:
                    return path[path.index(p):] + [p] if p in path else [cid, p]
                if p not in state and (cycle := visit(p, path + [p])):
                    return cycle
            state[cid] = 2
            return None

        for cid in self.concept_by_id:
            if cid not in state and (cycle := visit(cid, [cid])):
                return cycle
        return None

    def reachable_from_roots(self) -> set[str]:
        dependents: dict[str, list[str]] = {}
        for c in self.concepts:
            for p in c.prerequisites:
                dependents.setdefault(p, []).append(c.id)
        frontier = [c.id for c in self.concepts if c.stage == 1 and not c.prerequisites]
        seen = set(frontier)
        while frontier:
            for nxt in dependents.get(frontier.pop(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        return seen


def load_roadmap(path: Path) -> Roadmap:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        roadmap = Roadmap.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise IngestError(f"cannot read roadmap {path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise IngestError(f"{path}: {where}: {first['msg']} ({exc.error_count()} problem(s))") from None
    if problems := roadmap.problems():
        raise IngestError(f"{path}: " + "; ".join(problems[:5]))
    return roadmap
