"""Schema migrations run from Python, so the bot brings its database up to date at startup without the alembic CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from ictbot.storage.engine import StorageError, create_engine

PACKAGE_DIR = Path(__file__).parent


class SchemaTooNew(StorageError):
    """The database was migrated by a newer ictbot than this one: running on it could misread its records."""


def alembic_config() -> Config:
    """The packaged Alembic configuration (scripts in ``ictbot/storage/migrations``)."""
    config = Config(str(PACKAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    return config


def upgrade_database(url_or_engine: str | Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the database to ``revision``; a database already there is left as it is. Returns the schema revision
    before and after (``None``: an empty database). A database newer than this code raises :class:`SchemaTooNew`."""
    engine = create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.begin() as connection:
            config = alembic_config()
            before = _current(connection)
            _refuse_newer(before, config, engine)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            return before, _current(connection)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _refuse_newer(current: str | None, config: Config, engine: Engine) -> None:
    scripts = ScriptDirectory.from_config(config)
    known = {script.revision for script in scripts.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaTooNew(
            f"the database {engine.url.render_as_string(hide_password=True)} has schema revision "
            f"{current}, newer than this ictbot knows (up to {scripts.get_current_head()}): it was upgraded by a newer "
            "version. Install that version (pip install -U ictbot), or restore a backup taken before the upgrade"
        )
