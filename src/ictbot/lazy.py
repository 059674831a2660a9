"""Package names imported on first use, so that importing a package's light modules (or the command line's
``--help``) does not load its heavy ones; and the loading of a command's implementation when it runs."""

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

_loaded = False


def lazy_exports(package: str, homes: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name of ``homes`` (name → submodule) on first use
    and keeps it in ``namespace`` (the package's globals), so later lookups are plain attribute reads."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    return __getattr__


@contextmanager
def loading_implementation() -> Iterator[None]:
    """Around a command's imports of its implementation: the cyclic garbage collector paused, then everything loaded
    moved out of its reach (``gc.freeze``).

    The imports create a few hundred thousand objects that live as long as the process; collecting while they pile up
    only scans them again and again (a fifth of a small backtest's start-up), and once frozen no later collection of a
    long run scans them either. The garbage cycles the imports leave are frozen with them: a bounded amount, once per
    process (later calls, as in a process that runs several commands, change nothing)."""
    global _loaded
    if _loaded or not gc.isenabled():
        yield
        return
    _loaded = True
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
