"""Bots share a database: every record names its bot (existing ones belong to the default bot, ``ictbot``), what was
unique is unique per bot (equity snapshots stay unique per run, and a run is one bot's), and ``bots`` records each
bot's account and the process that runs it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("holder", sa.String(length=300), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bots")),
        sa.UniqueConstraint("name", name=op.f("uq_bots_name")),
    )
    with op.batch_alter_table("bot_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.create_index(batch_op.f("ix_bot_events_bot"), ["bot"], unique=False)

    with op.batch_alter_table("daily_pnl", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_daily_pnl_day"), type_="unique")
        batch_op.create_index(batch_op.f("ix_daily_pnl_bot"), ["bot"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_daily_pnl_bot_day"), ["bot", "day"])

    with op.batch_alter_table("equity_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.create_index(batch_op.f("ix_equity_snapshots_bot"), ["bot"], unique=False)

    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_fills_trade_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_fills_bot"), ["bot"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_fills_bot_trade_id"), ["bot", "trade_id"])

    with op.batch_alter_table("funding_payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_funding_payments_symbol_time"), type_="unique")
        batch_op.create_index(batch_op.f("ix_funding_payments_bot"), ["bot"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_funding_payments_bot_symbol_time"), ["bot", "symbol", "time"])

    with op.batch_alter_table("order_intents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_order_intents_client_order_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_order_intents_bot"), ["bot"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_order_intents_bot_client_order_id"), ["bot", "client_order_id"]
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_orders_client_order_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_orders_bot"), ["bot"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_orders_bot_client_order_id"), ["bot", "client_order_id"])

    with op.batch_alter_table("position_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.create_index(batch_op.f("ix_position_snapshots_bot"), ["bot"], unique=False)

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.create_index(batch_op.f("ix_runs_bot"), ["bot"], unique=False)

    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_signals_key"), type_="unique")
        batch_op.create_index(batch_op.f("ix_signals_bot"), ["bot"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_signals_bot_key"), ["bot", "key"])

    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot", sa.String(length=64), server_default="ictbot", nullable=False))
        batch_op.create_index(batch_op.f("ix_trades_bot"), ["bot"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trades_bot"))
        batch_op.drop_column("bot")

    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_signals_bot_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_signals_bot"))
        batch_op.create_unique_constraint(batch_op.f("uq_signals_key"), ["key"])
        batch_op.drop_column("bot")

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_bot"))
        batch_op.drop_column("bot")

    with op.batch_alter_table("position_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_position_snapshots_bot"))
        batch_op.drop_column("bot")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_orders_bot_client_order_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_orders_bot"))
        batch_op.create_unique_constraint(batch_op.f("uq_orders_client_order_id"), ["client_order_id"])
        batch_op.drop_column("bot")

    with op.batch_alter_table("order_intents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_order_intents_bot_client_order_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_order_intents_bot"))
        batch_op.create_unique_constraint(batch_op.f("uq_order_intents_client_order_id"), ["client_order_id"])
        batch_op.drop_column("bot")

    with op.batch_alter_table("funding_payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_funding_payments_bot_symbol_time"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_funding_payments_bot"))
        batch_op.create_unique_constraint(batch_op.f("uq_funding_payments_symbol_time"), ["symbol", "time"])
        batch_op.drop_column("bot")

    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_fills_bot_trade_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_fills_bot"))
        batch_op.create_unique_constraint(batch_op.f("uq_fills_trade_id"), ["trade_id"])
        batch_op.drop_column("bot")

    with op.batch_alter_table("equity_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_equity_snapshots_bot"))
        batch_op.drop_column("bot")

    with op.batch_alter_table("daily_pnl", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_daily_pnl_bot_day"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_daily_pnl_bot"))
        batch_op.create_unique_constraint(batch_op.f("uq_daily_pnl_day"), ["day"])
        batch_op.drop_column("bot")

    with op.batch_alter_table("bot_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_events_bot"))
        batch_op.drop_column("bot")

    op.drop_table("bots")
