"""The configuration reference (``docs/configuration.md``), generated from the settings model so it cannot go stale.

Every setting appears with its dotted path, type, default, allowed values, environment variable and meaning (its
``Field(description=…)``); sections come from the nested models of :class:`ictbot.config.Settings` and each strategy's
settings block from the strategy union. ``ictbot config-reference`` writes the page; a test regenerates it and fails
when the committed page differs.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
import typer
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from ictbot.strategy.params import SearchChoice, SearchRange

DEFAULT_OUT = Path("docs/configuration.md")
ENV_PREFIX = "ICTBOT_"
REGENERATE = "ictbot config-reference"


@dataclass(frozen=True, slots=True)
class Setting:
    """One leaf setting as the reference shows it."""

    path: str
    field: FieldInfo

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.path.replace(".", "__").upper()

    @property
    def secret(self) -> bool:
        return _contains(self.field.annotation, SecretStr)


@dataclass(frozen=True, slots=True)
class Section:
    """A block of settings: the top level, a nested section, or one strategy's settings."""

    title: str
    doc: str
    settings: list[Setting]
    searchable: bool = False


def sections(settings_cls: type[BaseModel] | None = None) -> list[Section]:
    """The reference's sections in the order of the model: top-level keys first, then each nested block."""
    if settings_cls is None:
        from ictbot.config import Settings

        settings_cls = Settings
    top: list[Setting] = []
    nested: list[Section] = []
    for name, field in settings_cls.model_fields.items():
        models = _models(field.annotation)
        if not models:
            top.append(Setting(name, field))
            continue
        for model in models:
            title, doc = f"`{name}`", _doc(model)
            discriminator = _literal_name(model)
            if len(models) > 1 and discriminator is not None:
                default = getattr(field.get_default(call_default_factory=True), "name", None)
                title += f" with `name: {discriminator}`" + (" (the default)" if discriminator == default else "")
            settings = [Setting(f"{name}.{key}", sub) for key, sub in model.model_fields.items()]
            searchable = any(_search(s.field) for s in settings)
            nested.append(Section(title, doc, settings, searchable))
    return [Section("Top level", _doc(settings_cls), top), *nested]


def undescribed(settings_cls: type[BaseModel] | None = None) -> list[str]:
    """Dotted paths of settings without a description, and sections without a docstring."""
    missing = [s.path for section in sections(settings_cls) for s in section.settings if not s.field.description]
    missing += [section.title for section in sections(settings_cls) if not section.doc]
    return missing


def render(settings_cls: type[BaseModel] | None = None) -> str:
    """The whole page as Markdown."""
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated from src/ictbot/config.py by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "Every setting of ictbot, generated from the settings model (`src/ictbot/config.py`). A test fails when this",
        f"page and the model differ; regenerate it with `{REGENERATE}` from the repository root.",
        "",
        "Settings come from, highest precedence first: the environment (`ICTBOT_…`), a `.env` file in the working",
        "directory, the YAML file given with `--config`, the defaults below. A nested key is written with dots here",
        "and in YAML as nesting (`risk.leverage` is `risk:` → `leverage:`); in the environment the levels are joined",
        "with `__` (`ICTBOT_RISK__LEVERAGE=2`). Lists are JSON in the environment",
        '(`ICTBOT_SYMBOLS=\'["BTCUSDT","ETHUSDT"]\'`). An unknown key, a wrong type or a value outside its range is',
        "refused at startup with the key's path; `ictbot check-config FILE` prints the effective settings (secrets",
        "redacted) or every problem at once.",
        "",
        "**Secret** settings are never printed, logged or shown by the API (`**********`). Set them in the",
        "environment or `.env`, not in a YAML file you might share or commit.",
        "",
    ]
    for section in sections(settings_cls):
        lines += _render_section(section)
    return "\n".join(lines).rstrip() + "\n"


def _render_section(section: Section) -> list[str]:
    header = ["key", "type", "default", "allowed", "environment variable", "meaning"]
    if section.searchable:
        header.append("optimiser range")
    lines = [f"## {section.title}", "", section.doc, "", _row(header), _row(["---"] * len(header))]
    for setting in section.settings:
        meaning = _cell(setting.field.description or "")
        if setting.secret:
            meaning = "**secret** — " + meaning
        cells = [
            f"`{setting.path}`",
            _type_name(setting.field.annotation),
            _default(setting.field),
            _constraints(setting.field),
            f"`{setting.env}`",
            meaning,
        ]
        if section.searchable:
            cells.append(_search_text(_search(setting.field)))
        lines.append(_row(cells))
    return [*lines, ""]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _doc(model: type[BaseModel]) -> str:
    """The model's own docstring (not one inherited from pydantic or a base section), as one paragraph."""
    doc = model.__dict__.get("__doc__") or ""
    return " ".join(doc.split()).replace("``", "`")


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The settings models a field holds (one, or each member of a union; each built-in strategy's settings for
    ``strategy``); empty for a leaf setting."""
    from ictbot.sdk import StrategySettings
    from ictbot.strategy import loader

    found = [a for a in _flatten(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    if StrategySettings in found:
        return [loader.by_name(name).Settings for name in sorted(loader.BUILTINS)]
    return found


def _flatten(annotation: Any) -> Iterator[Any]:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        yield from _flatten(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            yield from _flatten(member)
    else:
        yield annotation


def _contains(annotation: Any, wanted: type) -> bool:
    if annotation is wanted:
        return True
    return any(_contains(arg, wanted) for arg in typing.get_args(annotation))


def _literal_name(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("name")
    if field is None or typing.get_origin(field.annotation) is not Literal:
        return None
    return str(typing.get_args(field.annotation)[0])


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        optional = " or null" if type(None) in args else ""
        return " or ".join(names) + optional
    if origin is Literal:
        return "one of " + ", ".join(f"`{_plain(a)}`" for a in args)
    if origin in (list, tuple, set, frozenset):
        item = _type_name(args[0]) if args else "value"
        return f"list, each {item}" if item.startswith("one of") else f"list of {item}"
    if annotation is SecretStr:
        return "string (secret)"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return f"{annotation.__name__.lower()} ({', '.join(f'`{m.value}`' for m in annotation)})"
    names = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    return f"`{json.dumps(_jsonable(value), ensure_ascii=False)}`".replace("|", "\\|")


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


_BOUNDS = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.Lt, "lt", "<"),
)


def _constraints(field: FieldInfo) -> str:
    parts = []
    for meta in field.metadata:
        for kind, attr, sign in _BOUNDS:
            if isinstance(meta, kind):
                parts.append(f"{sign} {_number(getattr(meta, attr))}")
        if isinstance(meta, annotated_types.MinLen) and meta.min_length:
            parts.append(f"at least {meta.min_length} item{'s' if meta.min_length > 1 else ''}")
    return ", ".join(parts) or "—"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _search(field: FieldInfo) -> SearchRange | SearchChoice | None:
    found = [m for m in field.metadata if isinstance(m, SearchRange | SearchChoice)]
    return found[0] if found else None


def _search_text(spec: SearchRange | SearchChoice | None) -> str:
    if spec is None:
        return "—"
    if isinstance(spec, SearchChoice):
        return ", ".join(f"`{json.dumps(_plain(c))}`" for c in spec.choices)
    text = f"{_number(spec.low)} … {_number(spec.high)}"
    if spec.step is not None:
        text += f", step {_number(spec.step)}"
    return text + (", log scale" if spec.log else "")


def command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the page.")] = DEFAULT_OUT,
    check: Annotated[bool, typer.Option("--check", help="Only compare; exit 1 when the page is out of date.")] = False,
) -> None:
    """Write the configuration reference (docs/configuration.md) from the settings model."""
    page = render()
    if check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != page:
            typer.echo(f"{out} is out of date with the settings model; regenerate it with `{REGENERATE}`", err=True)
            raise typer.Exit(code=1)
        typer.echo(f"{out} matches the settings model")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    typer.echo(f"Wrote {out}")
