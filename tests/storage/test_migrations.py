"""The packaged migrations build exactly the schema the models describe, and running them again changes nothing."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from fnmatch import fnmatch
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import ictbot
from ictbot.storage import create_engine, upgrade_database
from ictbot.storage.migrate import alembic_config
from ictbot.storage.models import Base


def schema(engine) -> dict[str, tuple]:
    """Every table's columns (name, type, nullable), indexes and unique constraints, as the database reports them."""
    inspector = inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)),
            sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
        )
        for table in inspector.get_table_names()
    }


def test_migrated_database_matches_the_models(db_url):
    upgrade_database(db_url)
    engine = create_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_every_model_table_is_created_by_the_migration(db_url):
    upgrade_database(db_url)
    engine = create_engine(db_url)
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    engine.dispose()


def test_upgrading_twice_is_a_no_op(db_url):
    upgrade_database(db_url)
    engine = create_engine(db_url)
    first = schema(engine)
    upgrade_database(db_url)
    assert schema(engine) == first
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head == "0004"
    engine.dispose()


def test_a_database_from_the_first_release_gains_the_trades_table_and_keeps_its_records(db_url):
    upgrade_database(db_url, "0001")
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO runs (started_at, mode, config) VALUES (1, 'live', '{}')"))
    assert "trades" not in inspect(engine).get_table_names()
    upgrade_database(db_url)
    assert "trades" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT mode FROM runs")).scalar_one() == "live"
    engine.dispose()


def test_downgrade_to_nothing_and_back(db_url):
    upgrade_database(db_url)
    engine = create_engine(db_url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    upgrade_database(db_url)
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    engine.dispose()


def test_sqlite_parent_directory_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'ictbot.sqlite'}"
    upgrade_database(url)
    assert (tmp_path / "a" / "b" / "ictbot.sqlite").is_file()


def test_every_file_the_migrations_need_at_runtime_is_package_data():
    package = Path(ictbot.__file__).parent
    pyproject = tomllib.loads((package.parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["ictbot"]
    needed = [package / "storage" / "alembic.ini", *(package / "storage" / "migrations").rglob("*.py")]
    assert len(needed) >= 3
    for path in needed:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), f"{relative} is not shipped"


def test_a_database_from_before_runs_were_told_apart_keeps_its_records_and_takes_one_time_per_run(db_url):
    upgrade_database(db_url, "0002")
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO runs (id, started_at, mode, config) VALUES (1, 5, 'live', '{}')"))
        connection.execute(text("INSERT INTO runs (id, started_at, mode, config) VALUES (2, 9, 'replay', '{}')"))
        connection.execute(
            text(
                "INSERT INTO bot_events (run_id, time, kind, detail) VALUES (1, 7, 'control', 'pause'),"
                " (2, 11, 'control', 'flatten')"
            )
        )
        connection.execute(text("INSERT INTO equity_snapshots (time, equity) VALUES (60000, '1000.5')"))
    upgrade_database(db_url)
    with engine.begin() as connection:
        snapshots = connection.execute(text("SELECT time, equity, run_id FROM equity_snapshots")).all()
        assert [(time, Decimal(equity), run) for time, equity, run in snapshots] == [(60000, Decimal("1000.5"), None)]
        events = connection.execute(text("SELECT detail, time, market_time FROM bot_events ORDER BY id")).all()
        assert events == [("pause", 7, 7), ("flatten", 11, None)]  # a replay's market time is not its wall time
        assert connection.execute(text("SELECT symbols, market_started_at FROM runs")).all() == [(None, None)] * 2
        connection.execute(text("INSERT INTO equity_snapshots (run_id, time, equity) VALUES (1, 60000, '990')"))
        connection.execute(text("INSERT INTO equity_snapshots (run_id, time, equity) VALUES (2, 60000, '995')"))
        assert connection.execute(text("SELECT count(*) FROM equity_snapshots WHERE time = 60000")).scalar() == 3
    engine.dispose()
