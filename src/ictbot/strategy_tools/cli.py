"""``ictbot strategy list | new | check``: see what strategies exist, start your own, prove it conforms."""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ictbot.errors import ConfigError, IctbotError

strategy_app = typer.Typer(help="List, create and check strategies (docs/strategies.md).", no_args_is_help=True)
console = Console(soft_wrap=True)


@strategy_app.command("list")
def list_strategies() -> None:
    """Built-in and installed strategies, with their parameters, defaults and search ranges."""
    from ictbot.strategy import loader
    from ictbot.strategy.params import SearchChoice, search_space

    plugins = loader.plugin_names()
    for name in loader.known_names():
        origin = "built in" if name in loader.BUILTINS else f"plug-in {plugins[name]}"
        try:
            cls = loader.by_name(name)
        except loader.StrategyNotFound as exc:
            console.print(f"[bold]{name}[/bold] ({origin}): cannot be loaded: {exc}", highlight=False)
            continue
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        console.print(f"[bold]{name}[/bold] ({origin}){': ' + summary if summary else ''}", highlight=False)
        space = search_space(cls.Settings)
        defaults = cls.Settings.model_validate({"name": name})
        for field, info in cls.Settings.model_fields.items():
            if field in ("name", "path"):
                continue
            spec = space.get(field)
            shown = ""
            if isinstance(spec, SearchChoice):
                shown = f"  search: {' | '.join(str(c) for c in spec.choices)}"
            elif spec is not None:
                shown = f"  search: {spec.low:g} … {spec.high:g}" + (f" step {spec.step:g}" if spec.step else "")
            value = getattr(defaults, field)
            value = getattr(value, "value", value)
            if isinstance(value, tuple):
                value = [getattr(v, "value", v) for v in value]
            about = f"  — {info.description}" if info.description else ""
            console.print(f"  {field} = {value!r}{shown}{about}", highlight=False, markup=False)


@strategy_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="Strategy name, a Python identifier such as `killzone_sweep`.")],
    directory: Annotated[Path, typer.Option("--dir", help="Directory for the strategy file and its test.")] = Path(
        "strategies"
    ),
) -> None:
    """Write a commented, working strategy and its test, ready for `ictbot strategy check --path`."""
    from ictbot.strategy.template import strategy_source, strategy_test_source

    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        console.print(f"{name!r} is not a usable name; use lower case letters, digits and _, e.g. `killzone_sweep`")
        raise typer.Exit(code=2)
    source, test = directory / f"{name}.py", directory / f"test_{name}.py"
    for path in (source, test):
        if path.exists():
            console.print(f"{path} exists; choose another name or --dir (nothing was written)", highlight=False)
            raise typer.Exit(code=2)
    directory.mkdir(parents=True, exist_ok=True)
    source.write_text(strategy_source(name, str(source)))
    test.write_text(strategy_test_source(name, str(test)))
    console.print(
        f"Wrote {source} and {test}.\nNext: ictbot strategy check --path {source}\n"
        f"Its test: pytest {test} (after `pip install pytest`)\n"
        f"Then set `strategy: {{path: {source}}}` in your config and run `ictbot backtest --config …`, "
        "then `ictbot run --config …` to replay it on the local exchange (docs/strategies.md).",
        highlight=False,
        markup=False,
    )


@strategy_app.command("check")
def check(
    name: Annotated[str | None, typer.Argument(help="A built-in or installed strategy.")] = None,
    path: Annotated[str | None, typer.Option("--path", help="A strategy file, `file.py` or `file.py:Class`.")] = None,
    data: Annotated[list[Path] | None, typer.Option("--data", help="Candle file; repeat for more symbols.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML settings (for the strategy's values).")] = None,
) -> None:
    """Conformance: settings, determinism, fast backtest == stepwise, no lookahead; exit 1 if any check fails."""
    from ictbot.config import load_settings
    from ictbot.data.loaders import load_candles
    from ictbot.sample import sample_path
    from ictbot.strategy_tools import check_strategy

    if (name is None) == (path is None) and config is None:
        console.print("give a strategy NAME or --path FILE (or --config with a strategy block)")
        raise typer.Exit(code=2)
    try:
        base = load_settings(config)
        block = base.strategy.model_dump(exclude_unset=True) if config is not None else {}
        if name is not None or path is not None:
            block = {"path": path} if path is not None else {"name": name}
        frames = [load_candles(p) for p in (data or [sample_path()])]
        symbols = [f.symbol for f in frames if f.symbol]
        settings = load_settings(config, strategy=block, **({"symbols": symbols} if symbols else {}))
    except ConfigError as exc:
        console.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(code=2) from None
    except IctbotError as exc:
        console.print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(code=2) from None
    label = settings.strategy.path or settings.strategy.name
    console.print(f"Checking {label} on {', '.join(str(f.source) for f in frames)}", highlight=False)
    results = check_strategy(settings, frames)
    for result in results:
        mark = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
        console.print(f"{mark} {result.name}: ", end="")
        console.print(result.detail, highlight=False, markup=False)
    if not all(r.passed for r in results):
        raise typer.Exit(code=1)
