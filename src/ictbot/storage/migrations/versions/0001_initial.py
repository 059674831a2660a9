"""Initial schema: runs, events, signals and risk decisions, order intents, orders and their transitions, fills,
positions, funding, daily PnL and equity.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ictbot.storage.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_pnl",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("realized_pnl", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("fees", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("funding", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("fill_count", sa.Integer(), nullable=False),
        sa.Column("equity_open", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("equity_close", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_pnl")),
        sa.UniqueConstraint("day", name=op.f("uq_daily_pnl_day")),
    )
    op.create_table(
        "equity_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("equity", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("wallet_balance", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("unrealized_pnl", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equity_snapshots")),
        sa.UniqueConstraint("time", name=op.f("uq_equity_snapshots_time")),
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.String(length=64), nullable=True),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("quantity", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("price", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("fee", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("realized_pnl", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("is_maker", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint("trade_id", name=op.f("uq_fills_trade_id")),
    )
    op.create_index(op.f("ix_fills_client_order_id"), "fills", ["client_order_id"])
    op.create_index(op.f("ix_fills_symbol"), "fills", ["symbol"])
    op.create_index("ix_fills_time", "fills", ["time"])
    op.create_table(
        "funding_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("amount", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("rate", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("position_quantity", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_payments")),
        sa.UniqueConstraint("symbol", "time", name=op.f("uq_funding_payments_symbol_time")),
    )
    op.create_table(
        "position_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quantity", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("entry_price", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("mark_price", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("unrealized_pnl", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_snapshots")),
    )
    op.create_index("ix_position_snapshots_symbol_time", "position_snapshots", ["symbol", "time"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("stopped_at", sa.BigInteger(), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("config", sa.JSON(none_as_null=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_table(
        "bot_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_bot_events_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_events")),
    )
    op.create_index(op.f("ix_bot_events_kind"), "bot_events", ["kind"])
    op.create_index("ix_bot_events_time", "bot_events", ["time"])
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("order_type", sa.String(length=16), nullable=False),
        sa.Column("entry", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("stop", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("target", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_signals_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("key", name=op.f("uq_signals_key")),
    )
    op.create_index("ix_signals_created_at", "signals", ["created_at"])
    op.create_index(op.f("ix_signals_symbol"), "signals", ["symbol"])
    op.create_table(
        "order_intents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("parent_client_order_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("order_type", sa.String(length=32), nullable=False),
        sa.Column("quantity", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("price", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("trigger_price", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("stop", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("target", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_order_intents_run_id_runs")),
        sa.ForeignKeyConstraint(["signal_id"], ["signals.id"], name=op.f("fk_order_intents_signal_id_signals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_intents")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_order_intents_client_order_id")),
    )
    op.create_index(op.f("ix_order_intents_parent_client_order_id"), "order_intents", ["parent_client_order_id"])
    op.create_index(op.f("ix_order_intents_symbol"), "order_intents", ["symbol"])
    op.create_table(
        "risk_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("client_order_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["signal_id"], ["signals.id"], name=op.f("fk_risk_decisions_signal_id_signals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_decisions")),
        sa.UniqueConstraint("signal_id", name=op.f("uq_risk_decisions_signal_id")),
    )
    op.create_index(op.f("ix_risk_decisions_reason"), "risk_decisions", ["reason"])
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intent_id", sa.Integer(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("venue_order_id", sa.String(length=64), nullable=True),
        sa.Column("filled_quantity", ictbot.storage.types.ExactDecimal(), nullable=False),
        sa.Column("average_price", ictbot.storage.types.ExactDecimal(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["intent_id"], ["order_intents.id"], name=op.f("fk_orders_intent_id_order_intents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
        sa.UniqueConstraint("intent_id", name=op.f("uq_orders_intent_id")),
    )
    op.create_index(op.f("ix_orders_state"), "orders", ["state"])
    op.create_index(op.f("ix_orders_symbol"), "orders", ["symbol"])
    op.create_index("ix_orders_updated_at", "orders", ["updated_at"])
    op.create_table(
        "order_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_transitions_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_transitions")),
    )
    op.create_index(op.f("ix_order_transitions_order_id"), "order_transitions", ["order_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_order_transitions_order_id"), table_name="order_transitions")
    op.drop_table("order_transitions")
    op.drop_index("ix_orders_updated_at", table_name="orders")
    op.drop_index(op.f("ix_orders_symbol"), table_name="orders")
    op.drop_index(op.f("ix_orders_state"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_risk_decisions_reason"), table_name="risk_decisions")
    op.drop_table("risk_decisions")
    op.drop_index(op.f("ix_order_intents_symbol"), table_name="order_intents")
    op.drop_index(op.f("ix_order_intents_parent_client_order_id"), table_name="order_intents")
    op.drop_table("order_intents")
    op.drop_index(op.f("ix_signals_symbol"), table_name="signals")
    op.drop_index("ix_signals_created_at", table_name="signals")
    op.drop_table("signals")
    op.drop_index("ix_bot_events_time", table_name="bot_events")
    op.drop_index(op.f("ix_bot_events_kind"), table_name="bot_events")
    op.drop_table("bot_events")
    op.drop_table("runs")
    op.drop_index("ix_position_snapshots_symbol_time", table_name="position_snapshots")
    op.drop_table("position_snapshots")
    op.drop_table("funding_payments")
    op.drop_index("ix_fills_time", table_name="fills")
    op.drop_index(op.f("ix_fills_symbol"), table_name="fills")
    op.drop_index(op.f("ix_fills_client_order_id"), table_name="fills")
    op.drop_table("fills")
    op.drop_table("equity_snapshots")
    op.drop_table("daily_pnl")
