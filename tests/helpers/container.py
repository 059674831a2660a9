"""The shipped container files, read as the tools read them: the Dockerfile as instructions (continuation lines
joined, comments dropped) and the compose file as YAML."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"


def dockerfile_instructions(stage: int | None = None) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order; with ``stage``, only those of that build stage (0 = the first FROM)."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        pending += stripped[:-1] + " " if stripped.endswith("\\") else stripped
        if not stripped.endswith("\\"):
            keyword, _, arguments = pending.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
            pending = ""
    if stage is None:
        return instructions
    stages: list[list[tuple[str, str]]] = []
    for instruction in instructions:
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages[stage]


def dockerfile_env(stage: int = -1) -> dict[str, str]:
    """The environment ``ENV`` sets in a stage (``key=value`` form)."""
    env: dict[str, str] = {}
    for keyword, arguments in dockerfile_instructions(stage):
        if keyword == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(arguments))
    return env


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())
