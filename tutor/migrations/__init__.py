"""Alembic migrations of the service database; run them with `tutor db upgrade`.

env.py is the environment, versions/ holds one file per revision. A new table or column
in tutor/models.py needs a revision: `alembic revision --autogenerate -m "what"` from the
repository root (alembic.ini points here), then read and trim what it wrote.
tests/test_db_migrations.py fails while the models and the revisions disagree.
"""
