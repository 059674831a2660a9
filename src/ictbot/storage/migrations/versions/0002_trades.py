"""Closed round trips, so that a running bot's trade history survives restarts and costs it no memory.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ictbot.storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("entry_time", sa.BigInteger(), nullable=False),
        sa.Column("entry_price", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("quantity", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("exit_time", sa.BigInteger(), nullable=False),
        sa.Column("exit_price", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("exit_reason", sa.Text(), nullable=False),
        sa.Column("entry_reason", sa.Text(), nullable=False),
        sa.Column("realized", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("fees", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("funding", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_trades_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
    )
    op.create_index("ix_trades_entry_time", "trades", ["entry_time"])
    op.create_index(op.f("ix_trades_symbol"), "trades", ["symbol"])


def downgrade() -> None:
    op.drop_index(op.f("ix_trades_symbol"), table_name="trades")
    op.drop_index("ix_trades_entry_time", table_name="trades")
    op.drop_table("trades")
