"""The recorder: signals, risk decisions, orders and their history, fills, round trips, positions, funding, PnL and
bot events in a SQL database (a SQLite file by default, PostgreSQL by URL), with Alembic migrations shipped in the
package."""

from ictbot.storage.engine import create_engine
from ictbot.storage.identity import BotConflict, BotIdentity
from ictbot.storage.migrate import upgrade_database
from ictbot.storage.reads import MAX_PAGE, RecordReader
from ictbot.storage.recorder import Recorder, StorageError, config_snapshot, open_bot_recorder, open_recorder
from ictbot.storage.states import EventKind, OrderState

__all__ = [
    "MAX_PAGE",
    "BotConflict",
    "BotIdentity",
    "EventKind",
    "OrderState",
    "RecordReader",
    "Recorder",
    "StorageError",
    "config_snapshot",
    "create_engine",
    "open_bot_recorder",
    "open_recorder",
    "upgrade_database",
]
