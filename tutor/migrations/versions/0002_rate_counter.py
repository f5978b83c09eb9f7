"""Rate-limit counters shared by replicas (tutor/ratelimit.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("ratecounter",
                    sa.Column("key", sa.String(length=200), nullable=False),
                    sa.Column("window", sa.BigInteger(), nullable=False),
                    sa.Column("count", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("key", "window"))


def downgrade() -> None:
    op.drop_table("ratecounter")
