"""Leases: a named job that one process of several holds for a while (the quiz top-up of
a stage). Replicas share the database, not memory, so the claim is a row: inserting it
wins when no one holds the name, taking it over wins only when the holder's lease has
expired (a crashed process frees its jobs after `seconds`), and both are single
statements the database serialises, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tutor.models import Lease

# Who this process is, in every lease it takes (a pid alone repeats across machines).
PROCESS = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(engine: Engine, name: str, seconds: float, holder: str = PROCESS) -> bool:
    """Take the lease `name` for `seconds`; False while another holder's is unexpired."""
    now = datetime.now(timezone.utc)
    until = now + timedelta(seconds=seconds)
    with Session(engine) as session:
        session.add(Lease(name=name, holder=holder, expires_at=until))
        try:
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
        taken = session.exec(update(Lease).where(Lease.name == name, Lease.expires_at < now)
                             .values(holder=holder, expires_at=until, created_at=now))
        session.commit()
        return taken.rowcount == 1


def release(engine: Engine, name: str, holder: str = PROCESS) -> None:
    """Give the lease up (only if still ours: an expired one may have been taken over)."""
    with Session(engine) as session:
        session.exec(delete(Lease).where(Lease.name == name, Lease.holder == holder))
        session.commit()
