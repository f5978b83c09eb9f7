"""Rate limits shared by every replica: per learner, per client address, and one ceiling
for the whole service, counted in the service database (PostgreSQL when scaled out), so two
replicas behind a round-robin proxy admit what one would.

Each limit is N requests per window of W seconds, estimated over a sliding window from two
fixed counters: `previous * (1 - elapsed/W) + current`. That smooths the burst a plain fixed
window allows at every boundary, and under steady overload it spreads admissions evenly
over the window instead of letting the first N through and refusing the rest. Only admitted
requests are counted (a refused one is taken back), so a flood does not lock its own key out
for longer than the limit says.

A request is checked against its keys in one transaction: each counter is incremented with
one upsert (INSERT ... ON CONFLICT DO UPDATE ... RETURNING, atomic on SQLite and PostgreSQL)
and, when any limit would be exceeded, the increments are undone before commit. Keys are
stored hashed: the table never holds a learner id or an IP address.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection, Engine

from tutor.models import RateCounter

TABLE = RateCounter.__table__


@dataclass(frozen=True)
class Limit:
    scope: str  # "learner", "address", "global": named in the 429 message
    value: str  # the learner id, the address, "" for global
    per_window: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    scope: str | None = None
    retry_after: int = 0  # whole seconds, >= 1 when refused


def counter_key(limit: Limit) -> str:
    digest = hashlib.sha256(limit.value.encode()).hexdigest()[:32]
    return f"{limit.scope}:{digest}"


def _upsert(conn: Connection, key: str, window: int, delta: int) -> int:
    values = {"key": key, "window": window, "count": delta}
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(TABLE).values(values)
        stmt = stmt.on_conflict_do_update(index_elements=["key", "window"],
                                          set_={"count": TABLE.c.count + delta}).returning(TABLE.c.count)
        return conn.execute(stmt).scalar_one()
    # any other database: update, else insert (a lost race on the insert retries the update)
    where = (TABLE.c.key == key) & (TABLE.c.window == window)
    if conn.execute(TABLE.update().where(where).values(count=TABLE.c.count + delta)).rowcount == 0:
        conn.execute(TABLE.insert().values(values))
    return conn.execute(select(TABLE.c.count).where(where)).scalar_one()


def _count(conn: Connection, key: str, window: int) -> int:
    row = conn.execute(select(TABLE.c.count).where((TABLE.c.key == key) & (TABLE.c.window == window)))
    return row.scalar_one_or_none() or 0


def seconds_until_room(previous: int, current: int, limit: int, fraction: float, window_seconds: int) -> float:
    """Seconds until one more request fits, given the counts without it. Counts only grow
    while a window lasts, so no request can fit sooner: a process may refuse a key locally
    until then without asking the database."""
    if current + 1 <= limit and previous > 0:  # this window has room once `previous` weighs less
        needed = 1 - (limit - current - 1) / previous
        return max((needed - fraction) * window_seconds, 0.0)
    # this window is full: wait for the next, where `current` becomes the previous
    needed = 1 - (limit - 1) / current if current > 0 else 0.0
    return (1 - fraction) * window_seconds + max(needed, 0.0) * window_seconds


def retry_after(previous: int, current: int, limit: int, fraction: float, window_seconds: int) -> int:
    """The same in whole seconds, at least 1 (the Retry-After header)."""
    return max(1, math.ceil(seconds_until_room(previous, current, limit, fraction, window_seconds)))


class RateLimiter:
    def __init__(self, engine: Engine, window_seconds: int, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.window_seconds = window_seconds
        self.clock = clock
        self._swept = -1  # the last window this process deleted old counters in
        self._lock = threading.Lock()
        self._full_until: dict[str, float] = {}  # keys known to refuse until then (see seconds_until_room)

    def precheck(self, limits: list[Limit]) -> Decision | None:
        """The decision when it needs no database (no limit applies, or a key is known to be
        full), else None. Cheap enough for the event loop: under a flood, refusals cost no
        query and no thread."""
        limits = [lim for lim in limits if lim.per_window > 0]
        if not limits:
            return Decision(True)
        now = self.clock()
        for limit in limits:
            until = self._full_until.get(counter_key(limit))
            if until is not None and now < until:
                return Decision(False, limit.scope, max(1, math.ceil(until - now)))
        return None

    def check(self, limits: list[Limit]) -> Decision:
        """Admit the request under every limit (and count it), or say which refused it and when to retry."""
        limits = [lim for lim in limits if lim.per_window > 0]
        if not limits:
            return Decision(True)
        now = self.clock()
        window = int(now // self.window_seconds)
        fraction = (now % self.window_seconds) / self.window_seconds
        self._sweep(window)
        with self.engine.begin() as conn:
            counted: list[str] = []
            for limit in limits:
                key = counter_key(limit)
                current = _upsert(conn, key, window, 1)
                counted.append(key)
                previous = _count(conn, key, window - 1)
                if previous * (1 - fraction) + current > limit.per_window:
                    for done in counted:
                        _upsert(conn, done, window, -1)
                    wait = seconds_until_room(previous, current - 1, limit.per_window, fraction, self.window_seconds)
                    self._remember_full(key, now + wait, now)
                    return Decision(False, limit.scope, max(1, math.ceil(wait)))
        return Decision(True)

    def _remember_full(self, key: str, until: float, now: float) -> None:
        with self._lock:
            if len(self._full_until) > 10_000:  # many keys under attack: keep the live ones
                self._full_until = {k: t for k, t in self._full_until.items() if t > now}
            self._full_until[key] = until

    def _sweep(self, window: int) -> None:
        """Once per window per process: drop counters no estimate reads any more."""
        with self._lock:
            if self._swept == window:
                return
            self._swept = window
        with self.engine.begin() as conn:
            conn.execute(delete(TABLE).where(TABLE.c.window < window - 1))

    def rows(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(TABLE)).scalar_one()
