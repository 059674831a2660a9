"""The one settings model: YAML file + environment (``ICTBOT_…``, nested with ``__``) + ``.env``.

Every component takes its part from here. Timeframes are not configured on their own: the candle book builds exactly
the timeframes the strategy declares (``Settings.timeframes``). Defaults are the safe offline mode.
Precedence, highest first: environment, ``.env``, YAML file, defaults.
"""

from __future__ import annotations

import difflib
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from ictbot.domain import Timeframe
from ictbot.errors import ConfigError
from ictbot.ict.config import IctConfig
from ictbot.strategy.params import SearchChoice, SearchRange
from ictbot.venues.symbols import KNOWN_SYMBOLS


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FvgRetraceSettings(_Section):
    """The simple strategy: a retrace into a fresh fair value gap in the direction of the last bias candle."""

    name: Literal["fvg_retrace"] = "fvg_retrace"
    entry_timeframe: Timeframe = Timeframe.M5
    bias_timeframe: Timeframe = Timeframe.H1
    reward_risk: float = Field(2.0, gt=0, description="target distance as a multiple of the stop distance (R)")
    stop_buffer_pct: float = Field(0.05, ge=0, le=5, description="stop placed this % of price beyond the gap")
    min_stop_pct: float = Field(0.15, ge=0, le=20, description="skip setups whose stop is closer than this % of price")
    order_ttl_candles: int = Field(12, ge=1, description="an unfilled entry is cancelled after this many entry candles")

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return frozenset({self.entry_timeframe, self.bias_timeframe})

    @model_validator(mode="after")
    def _bias_above_entry(self) -> FvgRetraceSettings:
        if self.bias_timeframe.ms <= self.entry_timeframe.ms:
            raise ValueError(
                f"bias_timeframe ({self.bias_timeframe}) must be longer than entry_timeframe ({self.entry_timeframe})"
            )
        return self


class IctMtfSettings(_Section):
    """The default ICT strategy: higher-timeframe bias; sweep, structure shift, FVG/OB entry (strategy/ict_mtf)."""

    name: Literal["ict_mtf"] = "ict_mtf"
    entry_timeframe: Timeframe = Timeframe.M5
    bias_timeframes: tuple[Timeframe, ...] = Field((Timeframe.M15, Timeframe.H1), min_length=1)
    require_discount: Annotated[bool, SearchChoice((True, False))] = Field(
        True, description="long entries only in discount, shorts only in premium"
    )
    sweep_window_candles: Annotated[int, SearchRange(3, 36, step=1)] = Field(
        12, ge=1, description="entry candles between the sweep and the break"
    )
    entry_zone: Annotated[Literal["fvg", "ob", "fvg_or_ob"], SearchChoice(("fvg", "ob", "fvg_or_ob"))] = "fvg_or_ob"
    target: Annotated[Literal["liquidity", "r_multiple"], SearchChoice(("liquidity", "r_multiple"))] = "liquidity"
    reward_risk: Annotated[float, SearchRange(1.0, 4.0, step=0.25)] = Field(
        2.0, gt=0, description="R-multiple target when no liquidity target qualifies"
    )
    min_reward_risk: Annotated[float, SearchRange(1.0, 3.0, step=0.25)] = Field(
        1.5, gt=0, description="setups paying less than this many R are skipped"
    )
    stop_buffer_pct: Annotated[float, SearchRange(0.0, 0.3, step=0.01)] = Field(
        0.05, ge=0, le=5, description="stop this % of price beyond the sweep or zone"
    )
    min_stop_pct: Annotated[float, SearchRange(0.05, 0.5, step=0.05)] = Field(
        0.1, ge=0, le=20, description="skip setups whose stop is closer than this % of price"
    )
    order_ttl_candles: Annotated[int, SearchRange(3, 36, step=1)] = Field(
        12, ge=1, description="an unfilled entry is cancelled after this many entry candles"
    )
    killzones_only: bool = Field(False, description="only take setups inside the configured killzones")
    swing_length: int = Field(5, ge=1, le=100, description="fractal swing left/right length (candles)")
    zone_max_age: int | None = Field(
        2000,
        ge=1,
        description="candles of its timeframe a gap, block or liquidity level nothing has ended is tracked; null: "
        "forever (memory then grows for as long as the bot runs)",
    )

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return frozenset({self.entry_timeframe, *self.bias_timeframes})

    def detectors(self) -> IctConfig:
        return IctConfig(swing_left=self.swing_length, swing_right=self.swing_length, max_age=self.zone_max_age)

    @model_validator(mode="after")
    def _bias_above_entry(self) -> IctMtfSettings:
        low = [tf.value for tf in self.bias_timeframes if tf.ms <= self.entry_timeframe.ms]
        if low:
            raise ValueError(f"bias_timeframes {low} must be longer than entry_timeframe ({self.entry_timeframe})")
        return self


def _strategy_name(value: Any) -> str:
    """The strategy a settings block is for; a block without ``name`` configures the default strategy."""
    if isinstance(value, dict):
        return value.get("name", IctMtfSettings.model_fields["name"].default)
    return getattr(value, "name", "")


STRATEGY_NAMES = ("fvg_retrace", "ict_mtf")
StrategySettings = Annotated[
    Annotated[FvgRetraceSettings, Tag("fvg_retrace")] | Annotated[IctMtfSettings, Tag("ict_mtf")],
    Discriminator(
        _strategy_name,
        custom_error_type="unknown_strategy",
        custom_error_message=f"unknown strategy name; use one of {', '.join(STRATEGY_NAMES)}",
    ),
]


class RiskSettings(_Section):
    """Hard limits. Max position *margin* × leverage is the notional cap (defaults: 50 USDT × 3 = 150 USDT)."""

    leverage: int = Field(3, ge=1, le=125, description="isolated leverage per symbol (x)")
    risk_per_trade_pct: float = Field(0.5, gt=0, le=10, description="equity risked per trade (%)")
    max_position_margin_usdt: float = Field(50.0, gt=0, description="margin per position (USDT)")
    daily_loss_limit_usdt: float = Field(20.0, gt=0, description="realized+unrealized loss since 00:00 UTC (USDT)")
    max_open_positions: int = Field(3, ge=1, description="positions open at once, all symbols")
    max_orders_per_minute: int = Field(10, ge=1, description="new entry orders accepted per rolling minute")
    liquidation_buffer_pct: float = Field(
        1.0, ge=0, le=50, description="the stop must be hit this % of price before the liquidation price"
    )

    @property
    def max_notional_usdt(self) -> float:
        return self.max_position_margin_usdt * self.leverage


class BacktestSettings(_Section):
    """Simulated account and fill model."""

    initial_equity_usdt: float = Field(1000.0, gt=0)
    maker_fee_rate: float = Field(0.0002, ge=0, lt=0.01, description="fraction of notional (0.0002 = 0.02 %)")
    taker_fee_rate: float = Field(0.0005, ge=0, lt=0.01, description="fraction of notional (0.0005 = 0.05 %)")
    slippage_ticks: int = Field(1, ge=0, description="ticks of adverse slippage on market and stop fills")


class VenueSettings(_Section):
    name: Literal["binance"] = "binance"
    testnet: bool = True
    rest_url: str | None = Field(None, description="another Binance-compatible server, e.g. `ictbot exchange serve`")
    ws_url: str | None = Field(None, description="its WebSocket base (ws://…); required with rest_url")
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _urls_together(self) -> VenueSettings:
        if (self.rest_url is None) != (self.ws_url is None):
            raise ValueError("set venue.rest_url and venue.ws_url together (both printed by `ictbot exchange serve`)")
        return self


class ApiSettings(_Section):
    """The HTTP API and dashboard (docs/api.md). Loopback only by default; control needs ``token``."""

    enabled: bool = Field(True, description="serve the HTTP API and dashboard while the bot runs")
    host: str = Field("127.0.0.1", description="listen address; anything but loopback exposes the bot")
    port: int = Field(8000, ge=0, le=65535, description="0 = any free port (the bound URL is logged)")
    token: SecretStr | None = Field(None, description="bearer token for control actions; unset = control disabled")
    cors_origins: list[str] = Field(
        default_factory=list, description="browser origins allowed to call the API from other sites; empty = none"
    )


NotifyEvent = Literal["fill", "stop", "rejection", "daily_loss", "task_crash", "readiness"]


class NotifySettings(_Section):
    """Telegram and webhook messages; sent from a queue, so a slow or failing receiver never delays trading."""

    events: list[NotifyEvent] = Field(
        default_factory=lambda: ["fill", "stop", "rejection", "daily_loss", "task_crash", "readiness"],
        description="which events are sent",
    )
    webhook_url: SecretStr | None = Field(None, description="POST each event as JSON here (the URL may hold a key)")
    telegram_token: SecretStr | None = Field(None, description="bot token from @BotFather")
    telegram_chat_id: str | None = Field(None, description="chat to message; required with telegram_token")
    telegram_api_url: str = Field("https://api.telegram.org", description="Telegram Bot API base (tests: local)")
    timeout_s: float = Field(5.0, gt=0, le=60, description="per delivery attempt")
    queue_size: int = Field(1000, ge=1, description="undelivered messages kept; beyond it new ones are dropped")

    @model_validator(mode="after")
    def _telegram_complete(self) -> NotifySettings:
        if (self.telegram_token is None) != (self.telegram_chat_id is None):
            raise ValueError("set notify.telegram_token and notify.telegram_chat_id together")
        return self


class ExecutionSettings(_Section):
    """Where orders go. ``broker`` unset: the venue in replay (the local exchange) and live, the simulated account in
    paper mode."""

    broker: Literal["venue", "simulated"] | None = None
    unknown_order_settle_s: float = Field(
        5.0, ge=0, le=60, description="wait before looking up an order whose send failed (Binance's recvWindow)"
    )


class LiveSettings(_Section):
    confirm: bool = Field(False, description="required to trade real money on Binance's mainnet")


class ReplaySettings(_Section):
    """The embedded default: the local exchange replaying history in-process (``mode: replay``)."""

    data: list[Path] = Field(default_factory=list, description="candle files to replay; empty = the bundled sample")
    speed: float = Field(60.0, gt=0, description="multiple of real time (60 = one 1m candle per second)")
    warmup: int = Field(300, ge=1, description="candles already closed when the replay starts (REST backfill)")
    stop_at_end: bool = Field(
        True, description="stop once the replayed history has been traded; false keeps the bot and its API up"
    )


class SettingsConflict(ValueError):
    """A rule across several settings; the error message names ``settings`` instead of the whole input."""

    def __init__(self, message: str, *settings: str) -> None:
        super().__init__(message)
        self.settings = settings


_yaml_values: ContextVar[dict[str, Any] | None] = ContextVar("ictbot_yaml_values", default=None)


class Settings(BaseSettings):
    """Everything the bot needs to run, validated at once."""

    model_config = SettingsConfigDict(
        env_prefix="ICTBOT_", env_nested_delimiter="__", env_file=".env", extra="forbid", frozen=True
    )

    mode: Literal["backtest", "replay", "paper", "live"] = "replay"
    symbols: list[str] = Field(default_factory=lambda: ["BTCUSDT"], min_length=1)
    strategy: StrategySettings = IctMtfSettings()
    risk: RiskSettings = RiskSettings()
    backtest: BacktestSettings = BacktestSettings()
    venue: VenueSettings = VenueSettings()
    api: ApiSettings = ApiSettings()
    notify: NotifySettings = NotifySettings()
    execution: ExecutionSettings = ExecutionSettings()
    live: LiveSettings = LiveSettings()
    replay: ReplaySettings = ReplaySettings()
    data_dir: Path = Field(Path("ictbot-data"), description="logs, lock file and the default database live here")
    database_url: str = "sqlite:///ictbot-data/ictbot.sqlite"

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        """The timeframes the candle book builds: exactly those the strategy declares."""
        return self.strategy.timeframes

    @field_validator("symbols")
    @classmethod
    def _normalise_symbols(cls, symbols: list[str]) -> list[str]:
        cleaned = [s.strip().upper().replace("/", "").replace(":USDT", "") for s in symbols]
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a symbol is listed twice")
        return cleaned

    @model_validator(mode="after")
    def _min_notional_reachable(self) -> Settings:
        cap = Decimal(str(self.risk.max_notional_usdt))
        for symbol in self.symbols:
            spec = KNOWN_SYMBOLS.get(symbol)
            if spec is not None and cap < spec.min_notional:
                raise SettingsConflict(
                    f"{symbol} needs orders of at least {spec.min_notional} USDT but risk.max_position_margin_usdt × "
                    f"risk.leverage allows only {cap} USDT; raise one of them",
                    "risk.max_position_margin_usdt",
                    "risk.leverage",
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = InitSettingsSource(settings_cls, init_kwargs=_yaml_values.get() or {})
        return init_settings, env_settings, dotenv_settings, yaml_source

    def redacted(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets shown as ``**********``."""
        return self.model_dump(mode="json")


_HINTS = {
    "timeframe": "use one of " + ", ".join(tf.value for tf in Timeframe),
    "leverage": "an integer from 1 to 125",
    "symbols": "a list such as [BTCUSDT, ETHUSDT]",
    "mode": "one of backtest, replay, paper, live",
}


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from ``path`` (YAML), the environment and ``.env``; ``ConfigError`` lists every problem at once."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the config file must be a mapping of settings, e.g. `symbols: [BTCUSDT]`")
        values = loaded
    token = _yaml_values.set(values)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None
    finally:
        _yaml_values.reset(token)


def format_validation_error(exc: ValidationError, path: Path | None) -> str:
    where = f" in {path}" if path else ""
    lines = [f"{exc.error_count()} invalid setting(s){where}:"]
    for error in exc.errors():
        cause = error.get("ctx", {}).get("error")
        named = cause.settings if isinstance(cause, SettingsConflict) else ()
        loc = ", ".join(named) or ".".join(str(part) for part in error["loc"] if part not in STRATEGY_NAMES)
        loc = loc or "(top level)"
        message = error["msg"].removeprefix("Value error, ") if named else error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting" + _did_you_mean(error["loc"])
        hint = None if named else next((h for key, h in _HINTS.items() if key in loc), None)
        secret = any(word in loc for word in ("key", "secret", "token"))
        whole_section = isinstance(error.get("input"), dict)
        shown = "" if error["type"] == "missing" or secret or whole_section else f" (got {error.get('input')!r})"
        lines.append(f"  {loc}: {message}{shown}" + (f" — {hint}" if hint else ""))
    return "\n".join(lines)


_STRATEGY_MODELS: dict[str, type[BaseModel]] = {"fvg_retrace": FvgRetraceSettings, "ict_mtf": IctMtfSettings}


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    """The closest setting name at the misspelt key's level, or where to look them up."""
    model: type[BaseModel] | None = Settings
    for part in loc[:-1]:
        if isinstance(part, str) and part in _STRATEGY_MODELS:
            model = _STRATEGY_MODELS[part]
            continue
        field = model.model_fields.get(str(part)) if model is not None else None
        annotation = field.annotation if field is not None else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1) if model is not None else []
    if close:
        parent = ".".join(str(p) for p in loc[:-1] if p not in STRATEGY_NAMES)
        return f"; did you mean `{parent + '.' if parent else ''}{close[0]}`?"
    return "; check the spelling against `ictbot check-config` output"
