"""Reliability and security: failed password attempts, counted across server processes for rate limiting.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_failures_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_failures_client"), ["client"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_failures_username"), ["username"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_failures_username"))
        batch_op.drop_index(batch_op.f("ix_auth_failures_client"))
        batch_op.drop_index(batch_op.f("ix_auth_failures_at"))
    op.drop_table("auth_failures")
