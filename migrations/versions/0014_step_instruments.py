"""The instruments a step was done with (one per role of its template), with their calibration state that
day; and the deviation written when a test run used an uncalibrated cycler under a protocol demanding one.

Revision ID: 0014_step_instruments
Revises: 0012_channels
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0014_step_instruments"
down_revision: str | None = "0012_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "step_instruments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("role", _TEXT(length=64), nullable=False),
        sa.Column("used_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("calibration_state", _TEXT(length=16), nullable=False),
        sa.Column("calibration_due_on", sa.Date(), nullable=True),
        sa.Column("deviation", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["instrument_id"], ["instruments.id"]),
        sa.ForeignKeyConstraint(["step_id"], ["steps.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("step_id", "role"),
    )
    with op.batch_alter_table("step_instruments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_step_instruments_instrument_id"), ["instrument_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_step_instruments_step_id"), ["step_id"], unique=False)
    with op.batch_alter_table("instrument_uses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deviation", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instrument_uses", schema=None) as batch_op:
        batch_op.drop_column("deviation")
    with op.batch_alter_table("step_instruments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_instruments_step_id"))
        batch_op.drop_index(batch_op.f("ix_step_instruments_instrument_id"))
    op.drop_table("step_instruments")
