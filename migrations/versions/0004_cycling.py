"""Files, test runs with their cycles, and analyses with their subjects and files.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:59:25.360778
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analyses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("technique", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("performed_at", service.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("instrument", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("calculator", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analyses_technique"), ["technique"], unique=False)

    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("created_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "analysis_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("analysis_id", "file_id"),
    )
    with op.batch_alter_table("analysis_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_files_file_id"), ["file_id"], unique=False)

    op.create_table(
        "analysis_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("analysis_id", "item_id"),
    )
    with op.batch_alter_table("analysis_subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_subjects_item_id"), ["item_id"], unique=False)

    op.create_table(
        "test_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("protocol", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("file_format", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("parser", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("parser_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("active_mass_g", sa.Float(), nullable=True),
        sa.Column("leading", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("cycle_count", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("created_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_test_runs_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_test_runs_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_test_runs_protocol"), ["protocol"], unique=False)

    op.create_table(
        "test_cycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("test_run_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("hw_cycle", sa.Integer(), nullable=True),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("charge_mAh", sa.Float(), nullable=False),
        sa.Column("discharge_mAh", sa.Float(), nullable=False),
        sa.Column("charge_mWh", sa.Float(), nullable=False),
        sa.Column("discharge_mWh", sa.Float(), nullable=False),
        sa.Column("mean_charge_V", sa.Float(), nullable=True),
        sa.Column("mean_discharge_V", sa.Float(), nullable=True),
        sa.Column("ce_pct", sa.Float(), nullable=True),
        sa.Column("max_abs_voltage_V", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["test_run_id"],
            ["test_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("test_run_id", "cycle"),
    )


def downgrade() -> None:
    op.drop_table("test_cycles")
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_runs_protocol"))
        batch_op.drop_index(batch_op.f("ix_test_runs_item_id"))
        batch_op.drop_index(batch_op.f("ix_test_runs_file_id"))

    op.drop_table("test_runs")
    with op.batch_alter_table("analysis_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_subjects_item_id"))

    op.drop_table("analysis_subjects")
    with op.batch_alter_table("analysis_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_files_file_id"))

    op.drop_table("analysis_files")
    op.drop_table("files")
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analyses_technique"))

    op.drop_table("analyses")
