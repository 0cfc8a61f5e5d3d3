"""Protocol templates: the versioned template store, and what a step records about its template.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:53:30.654711
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEP_TEMPLATE_FK = "fk_steps_template_id_templates"


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("retired_at", service.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("retired_by_id", sa.Integer(), nullable=True),
        sa.Column("retire_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["retired_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version"),
    )
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_templates_name"), ["name"], unique=False)

    # Server defaults only so that steps logged before this revision get valid values.
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deviating", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("deviations", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("normalized", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("computed", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.create_index(batch_op.f("ix_steps_deviating"), ["deviating"], unique=False)
        batch_op.create_index(batch_op.f("ix_steps_template_id"), ["template_id"], unique=False)
        batch_op.create_foreign_key(STEP_TEMPLATE_FK, "templates", ["template_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_constraint(STEP_TEMPLATE_FK, type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_steps_template_id"))
        batch_op.drop_index(batch_op.f("ix_steps_deviating"))
        batch_op.drop_column("computed")
        batch_op.drop_column("normalized")
        batch_op.drop_column("deviations")
        batch_op.drop_column("deviating")
        batch_op.drop_column("template_id")

    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_name"))

    op.drop_table("templates")
