"""The schema of tutor/models.py when migrations began (2026-11-30).

Revision ID: 0001
Revises:
Create Date: 2026-11-30

A frozen copy of the tables, not an import of tutor/models.py: later revisions change the
models, never this file. On an empty database it creates every table. On a database made
before migrations existed (by SQLModel's create_all, up to this version) it creates the
tables that are missing and adds the nullable columns older versions lacked (such as
message.held_back), so such a database is adopted without losing a row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = sa.MetaData()

sa.Table('chatevent', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('learner_id', sa.String(), nullable=True),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_chatevent_learner_id', 'learner_id'),
         )
sa.Table('conversation', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('learner_id', sa.String(), nullable=True),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_conversation_learner_id', 'learner_id'),
         )
sa.Table('learner', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('display_name', sa.String(), nullable=False),
         sa.Column('track', sa.String(), nullable=False),
         sa.Column('hours_per_week', sa.Integer(), nullable=False),
         sa.Column('current_stage', sa.Integer(), nullable=False),
         sa.Column('known_concepts', sa.String(), nullable=False),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.Column('updated_at', UTCDateTime(), nullable=False),
         sa.PrimaryKeyConstraint('id'),
         )
sa.Table('lease', SCHEMA,
         sa.Column('name', sa.String(), nullable=False),
         sa.Column('holder', sa.String(), nullable=False),
         sa.Column('expires_at', UTCDateTime(), nullable=False),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.PrimaryKeyConstraint('name'),
         )
sa.Table('quizitem', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('stage', sa.Integer(), nullable=False),
         sa.Column('concept_id', sa.String(), nullable=True),
         sa.Column('concepts', sa.String(), nullable=False),
         sa.Column('kind', sa.String(), nullable=False),
         sa.Column('question', sa.String(), nullable=False),
         sa.Column('options', sa.String(), nullable=False),
         sa.Column('answer', sa.String(), nullable=False),
         sa.Column('explanation', sa.String(), nullable=False),
         sa.Column('fact', sa.String(), nullable=False),
         sa.Column('chunk_id', sa.String(), nullable=False),
         sa.Column('source_title', sa.String(), nullable=False),
         sa.Column('source', sa.String(), nullable=False),
         sa.Column('status', sa.String(), nullable=False),
         sa.Column('reasons', sa.String(), nullable=False),
         sa.Column('scores', sa.String(), nullable=False),
         sa.Column('backend', sa.String(), nullable=False),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_quizitem_chunk_id', 'chunk_id'),
         sa.Index('ix_quizitem_concept_id', 'concept_id'),
         sa.Index('ix_quizitem_stage', 'stage'),
         sa.Index('ix_quizitem_status', 'status'),
         )
sa.Table('chatthread', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('conversation_id', sa.String(), nullable=False),
         sa.Column('learner_id', sa.String(), nullable=True),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_chatthread_conversation_id', 'conversation_id'),
         sa.Index('ix_chatthread_learner_id', 'learner_id'),
         )
sa.Table('chatuser', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('learner_id', sa.String(), nullable=False),
         sa.Column('remind', sa.Boolean(), nullable=False),
         sa.Column('reminded_at', UTCDateTime(), nullable=True),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.ForeignKeyConstraint(['learner_id'], ['learner.id']),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_chatuser_learner_id', 'learner_id'),
         )
sa.Table('linkcode', SCHEMA,
         sa.Column('code', sa.String(), nullable=False),
         sa.Column('learner_id', sa.String(), nullable=False),
         sa.Column('expires_at', UTCDateTime(), nullable=False),
         sa.Column('used_at', UTCDateTime(), nullable=True),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.ForeignKeyConstraint(['learner_id'], ['learner.id']),
         sa.PrimaryKeyConstraint('code'),
         sa.Index('ix_linkcode_learner_id', 'learner_id'),
         )
sa.Table('mastery', SCHEMA,
         sa.Column('learner_id', sa.String(), nullable=False),
         sa.Column('concept_id', sa.String(), nullable=False),
         sa.Column('p_known', sa.Float(), nullable=False),
         sa.Column('attempts', sa.Integer(), nullable=False),
         sa.Column('correct', sa.Integer(), nullable=False),
         sa.Column('updated_at', UTCDateTime(), nullable=False),
         sa.ForeignKeyConstraint(['learner_id'], ['learner.id']),
         sa.PrimaryKeyConstraint('learner_id', 'concept_id'),
         )
sa.Table('message', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('conversation_id', sa.String(), nullable=False),
         sa.Column('role', sa.String(), nullable=False),
         sa.Column('content', sa.String(), nullable=False),
         sa.Column('status', sa.String(), nullable=False),
         sa.Column('question', sa.String(), nullable=True),
         sa.Column('citations', sa.String(), nullable=False),
         sa.Column('support', sa.Float(), nullable=True),
         sa.Column('error', sa.String(), nullable=True),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.Column('held_back', sa.String(), nullable=True),
         sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_message_conversation_id', 'conversation_id'),
         sa.Index('ix_message_created_at', 'created_at'),
         )
sa.Table('quiz', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('learner_id', sa.String(), nullable=True),
         sa.Column('stage', sa.Integer(), nullable=False),
         sa.Column('item_ids', sa.String(), nullable=False),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.Column('graded_at', UTCDateTime(), nullable=True),
         sa.ForeignKeyConstraint(['learner_id'], ['learner.id']),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_quiz_learner_id', 'learner_id'),
         )
sa.Table('quizhint', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('conversation_id', sa.String(), nullable=False),
         sa.Column('item_id', sa.String(), nullable=False),
         sa.Column('level', sa.Integer(), nullable=False),
         sa.Column('fallback', sa.Boolean(), nullable=False),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id']),
         sa.ForeignKeyConstraint(['item_id'], ['quizitem.id']),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_quizhint_conversation_id', 'conversation_id'),
         sa.Index('ix_quizhint_item_id', 'item_id'),
         )
sa.Table('review', SCHEMA,
         sa.Column('learner_id', sa.String(), nullable=False),
         sa.Column('item_id', sa.String(), nullable=False),
         sa.Column('card', sa.String(), nullable=False),
         sa.Column('due', UTCDateTime(), nullable=False),
         sa.Column('updated_at', UTCDateTime(), nullable=False),
         sa.ForeignKeyConstraint(['item_id'], ['quizitem.id']),
         sa.ForeignKeyConstraint(['learner_id'], ['learner.id']),
         sa.PrimaryKeyConstraint('learner_id', 'item_id'),
         sa.Index('ix_review_due', 'due'),
         )
sa.Table('feedback', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('message_id', sa.String(), nullable=False),
         sa.Column('rating', sa.Integer(), nullable=False),
         sa.Column('comment', sa.String(), nullable=True),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.ForeignKeyConstraint(['message_id'], ['message.id']),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_feedback_message_id', 'message_id'),
         )
sa.Table('quizattempt', SCHEMA,
         sa.Column('id', sa.String(), nullable=False),
         sa.Column('quiz_id', sa.String(), nullable=False),
         sa.Column('item_id', sa.String(), nullable=False),
         sa.Column('learner_id', sa.String(), nullable=True),
         sa.Column('given', sa.String(), nullable=False),
         sa.Column('correct', sa.Boolean(), nullable=False),
         sa.Column('created_at', UTCDateTime(), nullable=False),
         sa.ForeignKeyConstraint(['item_id'], ['quizitem.id']),
         sa.ForeignKeyConstraint(['learner_id'], ['learner.id']),
         sa.ForeignKeyConstraint(['quiz_id'], ['quiz.id']),
         sa.PrimaryKeyConstraint('id'),
         sa.Index('ix_quizattempt_item_id', 'item_id'),
         sa.Index('ix_quizattempt_learner_id', 'learner_id'),
         sa.Index('ix_quizattempt_quiz_id', 'quiz_id'),
         )


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in SCHEMA.sorted_tables:
        if table.name not in existing:
            table.create(bind)
        else:
            _add_missing_columns(bind, table)


def _add_missing_columns(bind, table: sa.Table) -> None:
    have = {c["name"] for c in sa.inspect(bind).get_columns(table.name)}
    missing = [c for c in table.columns if c.name not in have]
    for column in missing:
        if not column.nullable:
            raise RuntimeError(f"table {table.name} lacks the required column {column.name}: this database "
                               "was not made by the tutor; start from an empty one")
        op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))


def downgrade() -> None:
    for table in reversed(SCHEMA.sorted_tables):
        op.drop_table(table.name)
