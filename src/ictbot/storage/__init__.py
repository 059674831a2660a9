"""The recorder: signals, risk decisions, orders and their history, fills, round trips, positions, funding, PnL and
bot events in a SQL database (a SQLite file by default, PostgreSQL by URL), with Alembic migrations shipped in the
package.

The names below are imported on first use, so that importing a light module of this package (the ``ictbot db``
command, for ``ictbot --help``) does not load SQLAlchemy and Alembic."""

from ictbot.lazy import lazy_exports

_HOMES = {
    "create_engine": "engine",
    "BotConflict": "identity",
    "BotIdentity": "identity",
    "upgrade_database": "migrate",
    "MAX_PAGE": "reads",
    "RecordReader": "reads",
    "Recorder": "recorder",
    "StorageError": "recorder",
    "config_snapshot": "recorder",
    "open_bot_recorder": "recorder",
    "open_recorder": "recorder",
    "EventKind": "states",
    "OrderState": "states",
}

__all__ = sorted(_HOMES)

__getattr__ = lazy_exports(__name__, _HOMES, globals())
