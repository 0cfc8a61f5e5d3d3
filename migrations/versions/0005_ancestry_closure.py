"""The ancestry closure: (ancestor, descendant, shortest depth) for every pair, filled from item_links.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every pair reachable over active links, at its shortest distance: what the service has kept since.
BACKFILL = """
    INSERT INTO item_ancestry (descendant_id, ancestor_id, depth)
    WITH RECURSIVE walk(descendant_id, ancestor_id, depth) AS (
        SELECT child_id, parent_id, 1 FROM item_links WHERE active
        UNION
        SELECT w.descendant_id, l.parent_id, w.depth + 1
        FROM walk w JOIN item_links l ON l.child_id = w.ancestor_id
        WHERE l.active
    )
    SELECT descendant_id, ancestor_id, MIN(depth) FROM walk GROUP BY descendant_id, ancestor_id
"""


def upgrade() -> None:
    op.create_table(
        "item_ancestry",
        sa.Column("descendant_id", sa.Integer(), nullable=False),
        sa.Column("ancestor_id", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ancestor_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["descendant_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("descendant_id", "ancestor_id"),
    )
    with op.batch_alter_table("item_ancestry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_item_ancestry_ancestor", ["ancestor_id", "depth", "descendant_id"], unique=False
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("item_ancestry", schema=None) as batch_op:
        batch_op.drop_index("ix_item_ancestry_ancestor")
    op.drop_table("item_ancestry")
