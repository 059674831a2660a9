"""Runs told apart: each run records its symbols and the market time it started at; equity snapshots belong to a
run (a replay restarts at the same market date, so one time may recur once per run); bot events carry the market
time beside the wall-clock time.

Equity recorded before this revision has no run. Events of earlier non-replay runs happened on the market's clock,
so their market time is their wall-clock time; a replay's is unknown and stays empty.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("symbols", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("market_started_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("bot_events") as batch:
        batch.add_column(sa.Column("market_time", sa.BigInteger(), nullable=True))
    op.execute("UPDATE bot_events SET market_time = time WHERE run_id IN (SELECT id FROM runs WHERE mode <> 'replay')")
    with op.batch_alter_table("equity_snapshots") as batch:
        batch.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch.drop_constraint("uq_equity_snapshots_time", type_="unique")
        batch.create_unique_constraint("uq_equity_snapshots_run_id_time", ["run_id", "time"])
        batch.create_foreign_key("fk_equity_snapshots_run_id_runs", "runs", ["run_id"], ["id"])


def downgrade() -> None:
    # Equity of several runs may share a time; the older schema keeps one snapshot per time (the first recorded).
    op.execute("DELETE FROM equity_snapshots WHERE id NOT IN (SELECT min(id) FROM equity_snapshots GROUP BY time)")
    with op.batch_alter_table("equity_snapshots") as batch:
        batch.drop_constraint("fk_equity_snapshots_run_id_runs", type_="foreignkey")
        batch.drop_constraint("uq_equity_snapshots_run_id_time", type_="unique")
        batch.create_unique_constraint("uq_equity_snapshots_time", ["time"])
        batch.drop_column("run_id")
    with op.batch_alter_table("bot_events") as batch:
        batch.drop_column("market_time")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("market_started_at")
        batch.drop_column("symbols")
