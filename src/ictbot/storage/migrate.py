"""Schema migrations run from Python, so the bot brings its database up to date at startup without the alembic CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from ictbot.storage.engine import create_engine

PACKAGE_DIR = Path(__file__).parent


def alembic_config() -> Config:
    """The packaged Alembic configuration (scripts in ``ictbot/storage/migrations``)."""
    config = Config(str(PACKAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    return config


def upgrade_database(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision``; a database already there is left as it is."""
    engine = create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()
