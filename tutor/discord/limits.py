"""Guards that need no I/O, so they run before the 3-second acknowledgement: a per-user
rate limit and the ids of events this process already took. Both live in memory: losing
them on a restart costs nothing (the service's event claim is the guard that matters)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque


class RateLimiter:
    """At most `per_minute` questions per user in any 60 s window (in memory: losing it on a
    restart costs nothing)."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute, self.clock = per_minute, clock
        self.asked: dict[int, deque] = {}

    def retry_after(self, user_id: int) -> float | None:
        """Seconds to wait, or None and the question is counted."""
        now = self.clock()
        times = self.asked.setdefault(user_id, deque())
        while times and now - times[0] >= 60:
            times.popleft()
        if len(times) >= self.per_minute:
            return 60 - (now - times[0])
        times.append(now)
        return None

    def forget(self, user_id: int) -> None:
        """Drop the user's question times (/forget: nothing of them stays, even in memory)."""
        self.asked.pop(user_id, None)


class Seen:
    """Event ids this process already took (the service's claim is the real guard)."""

    def __init__(self, size: int = 4096):
        self.ids: OrderedDict[str, None] = OrderedDict()
        self.size = size

    def first(self, event_id: str) -> bool:
        if event_id in self.ids:
            return False
        self.ids[event_id] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True
