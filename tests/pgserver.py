"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` from the distribution's packages, in a
temporary directory, listening on a unix socket only (nothing on the network).

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user the Debian package creates.
Each test gets a database of its own on the one server the session starts.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"
START_TIMEOUT_S = 60


def postgres_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` live: Debian keeps them out of PATH, under /usr/lib/postgresql/<major>/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """One server for the test session; ``new_database()`` hands out a fresh, empty database's URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="ictbot-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self._numbers = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVER_USER)
            os.chmod(self.root, 0o755)
            self._as_user = ["runuser", "-u", SERVER_USER, "--"]

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", SERVER_USER, "--auth=trust", "-E", "UTF8", "--no-instructions")
        options = f"-k {self.socket_dir} -c listen_addresses='' -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
                  "-w", "-t", str(START_TIMEOUT_S), "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVER_USER}@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        name = f"ictbot_test_{next(self._numbers)}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with ``psql`` (as the server's superuser) and return its unaligned output."""
        return self._run("psql", "-h", str(self.socket_dir), "-U", SERVER_USER, "-d", database, "-XAtqc", statement)

    def _run(self, tool: str, *args: str) -> str:
        program = self.bindir / tool
        if not program.exists():
            program = Path(shutil.which(tool) or tool)
        done = subprocess.run([*self._as_user, str(program), *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")
        return done.stdout
