"""Security: failed logins and unknown tokens counted per client and minute, and summarised into the trail.

Revision ID: 0009_security
Revises: audit_0008_hashed_text
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0009_security"
down_revision: str | None = "audit_0008_hashed_text"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_failure_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("minute", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("first_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("summarised", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client", "kind", "minute"),
    )
    with op.batch_alter_table("auth_failure_tallies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_failure_tallies_minute"), ["minute"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auth_failure_tallies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_failure_tallies_minute"))
    op.drop_table("auth_failure_tallies")
