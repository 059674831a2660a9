"""Find the configured strategy: a built-in, an ``ictbot.strategies`` entry point, or a file given by path.

Whatever goes wrong — an unknown name, a file that does not import, a module without a strategy class — fails at
startup with one message naming what was looked for and how to fix it; a strategy is never silently skipped.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import traceback
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ictbot.sdk import Strategy, StrategySettings

ENTRY_POINT_GROUP = "ictbot.strategies"
DEFAULT = "ict_mtf"
BUILTINS = {
    "ict_mtf": "ictbot.strategy.ict_mtf:IctMtfStrategy",
    "fvg_retrace": "ictbot.strategy.fvg_retrace:FvgRetraceStrategy",
}


class StrategyNotFound(Exception):
    """The configured strategy cannot be found or loaded; the message says why and what to do."""


def _import(target: str) -> type[Strategy]:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def plugin_names() -> dict[str, str]:
    """Strategies registered by installed packages: name → ``module:Class``."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_names() -> list[str]:
    return sorted({*BUILTINS, *plugin_names()})


def by_name(name: str) -> type[Strategy]:
    if name in BUILTINS:
        return _import(BUILTINS[name])
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            try:
                loaded = ep.load()
            except Exception as exc:
                raise StrategyNotFound(
                    f"strategy {name!r} is registered by {ep.value!r} but importing it failed: "
                    f"{type(exc).__name__}: {exc}; fix that package or uninstall it"
                ) from None
            return _checked(loaded, f"entry point {name!r} ({ep.value})")
    raise StrategyNotFound(
        f"unknown strategy {name!r}; use one of {', '.join(known_names())} (see `ictbot strategy list`), "
        "or set strategy.path to a strategy file"
    )


_by_file: dict[tuple[Path, str], Any] = {}


def by_path(spec: str) -> type[Strategy]:
    """The strategy class in a Python file: ``file.py`` (its one strategy class) or ``file.py:ClassName``."""
    file, _, class_name = spec.partition(":")
    path = Path(file).expanduser().resolve()
    if path.suffix != ".py" or not path.is_file():
        raise StrategyNotFound(f"strategy.path {file!r}: no such Python file ({path}); give the path to a .py file")
    module = _load_file(path)
    where = f"strategy.path {file!r}"
    if class_name:
        found = getattr(module, class_name, None)
        if found is None:
            raise StrategyNotFound(
                f"{where} has no class {class_name!r}; it defines {', '.join(_strategies_in(module)) or 'no strategy'}"
            )
        return _checked(found, f"{where}:{class_name}")
    classes = _strategies_in(module)
    if len(classes) != 1:
        what = f"{len(classes)} strategy classes ({', '.join(classes)})" if classes else "no Strategy subclass"
        raise StrategyNotFound(f"{where} defines {what}; name one with `{file}:ClassName`")
    return getattr(module, classes[0])


def _load_file(path: Path) -> Any:
    source = path.read_bytes()
    key = (path, hashlib.sha256(source).hexdigest())
    if key in _by_file:
        return _by_file[key]
    name = f"ictbot_user_strategy_{key[1][:12]}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        frame = next((f for f in reversed(traceback.extract_tb(exc.__traceback__)) if f.filename == str(path)), None)
        line = f" line {frame.lineno}" if frame is not None else ""
        raise StrategyNotFound(
            f"strategy.path {str(path)!r}{line}: importing it failed: {type(exc).__name__}: {exc}; fix the file"
        ) from None
    _by_file[key] = module
    return module


def _strategies_in(module: Any) -> list[str]:
    return [
        name
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, Strategy) and value.__module__ == module.__name__
    ]


def _checked(found: Any, where: str) -> type[Strategy]:
    if not (inspect.isclass(found) and issubclass(found, Strategy)):
        raise StrategyNotFound(f"{where} is not a subclass of ictbot.sdk.Strategy")
    if not isinstance(getattr(found, "name", None), str) or not found.name:
        raise StrategyNotFound(f'{where} has no `name`; give the class a `name = "..."`')
    if not (inspect.isclass(found.Settings) and issubclass(found.Settings, StrategySettings)):
        raise StrategyNotFound(f"{where}.Settings must subclass ictbot.sdk.StrategySettings")
    return found


def resolve(name: str | None, path: str | None) -> type[Strategy]:
    """The strategy class a settings block names (``path`` wins over ``name``)."""
    if path:
        return _checked(by_path(path), f"strategy.path {path!r}")
    return by_name(name or DEFAULT)


def validate(value: Any) -> StrategySettings:
    """A ``strategy:`` settings block → its strategy's validated settings (``ValidationError`` on bad values)."""
    if isinstance(value, StrategySettings):
        resolve(value.name, value.path)
        return value
    if not isinstance(value, dict):
        raise StrategyNotFound("strategy must be a mapping, e.g. `strategy: {name: ict_mtf}`")
    path = value.get("path")
    cls = resolve(value.get("name"), path)
    # A strategy found by name keeps the name it was found under (an entry point may register a class as another).
    name = cls.name if path else value.get("name") or DEFAULT
    return cls.Settings.model_validate({**value, "name": name})


def build(settings: StrategySettings) -> Strategy:
    """The strategy object for validated settings."""
    return resolve(settings.name, settings.path)(settings)
