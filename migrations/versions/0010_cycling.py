"""Test runs and analyses can be voided with a reason: they stay readable, marked voided. Each cycle of a
test run says whether it is complete (both halves, not cut short) and, if not, why; a test run keeps the
findings of its plausibility checks.

Revision ID: 0010_cycling
Revises: 0009_security
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_cycling"
down_revision: str | None = "0009_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("warnings", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    with op.batch_alter_table("test_cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complete", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("flag", sa.String(length=200), nullable=True))
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("void_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_column("void_reason")
    with op.batch_alter_table("test_cycles", schema=None) as batch_op:
        batch_op.drop_column("flag")
        batch_op.drop_column("complete")
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.drop_column("warnings")
        batch_op.drop_column("void_reason")
