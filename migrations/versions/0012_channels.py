"""Cells on cycler channels (one row per stay, at most one open per channel and per cell), and the
instrument each test run ran on with its calibration state then.

Revision ID: 0012_channels
Revises: 0011_instruments
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0012_channels"
down_revision: str | None = "0011_instruments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_ON = sa.text("unloaded_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "channel_loads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("protocol", _TEXT(length=120), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("loaded_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by_id", sa.Integer(), nullable=False),
        sa.Column("unloaded_at", service.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("unloaded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["loaded_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["unloaded_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("channel_loads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_loads_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_loads_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            "uq_channel_loads_channel_on", ["channel_id"], unique=True, sqlite_where=_ON, postgresql_where=_ON
        )
        batch_op.create_index(
            "uq_channel_loads_cell_on", ["item_id"], unique=True, sqlite_where=_ON, postgresql_where=_ON
        )
    op.create_table(
        "instrument_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("test_run_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("used_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("calibration_state", _TEXT(length=16), nullable=False),
        sa.Column("calibration_due_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"]),
        sa.ForeignKeyConstraint(["instrument_id"], ["instruments.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["test_run_id"], ["test_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("test_run_id"),
    )
    with op.batch_alter_table("instrument_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instrument_uses_instrument_id"), ["instrument_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instrument_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instrument_uses_instrument_id"))
    op.drop_table("instrument_uses")
    with op.batch_alter_table("channel_loads", schema=None) as batch_op:
        batch_op.drop_index("uq_channel_loads_cell_on")
        batch_op.drop_index("uq_channel_loads_channel_on")
        batch_op.drop_index(batch_op.f("ix_channel_loads_item_id"))
        batch_op.drop_index(batch_op.f("ix_channel_loads_channel_id"))
    op.drop_table("channel_loads")
