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
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializeAsAny,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from ictbot.domain import Timeframe
from ictbot.errors import ConfigError
from ictbot.sdk import StrategySettings
from ictbot.strategy import loader
from ictbot.symbols import KNOWN_SYMBOLS


class _Section(BaseModel):
    # Every number must be finite: ``.inf`` in YAML would switch a limit off (or overflow the replay clock).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RiskSettings(_Section):
    """Hard limits. Max position *margin* × leverage is the notional cap (defaults: 50 USDT × 3 = 150 USDT)."""

    leverage: int = Field(3, ge=1, le=125, description="isolated leverage per symbol (x)")
    risk_per_trade_pct: float = Field(0.5, gt=0, le=10, description="equity risked per trade (%)")
    max_position_margin_usdt: float = Field(
        50.0, gt=0, description="most margin per position (USDT); × leverage it caps the position's notional"
    )
    daily_loss_limit_usdt: float = Field(
        20.0,
        gt=0,
        description="realized+unrealized loss since 00:00 UTC that stops new entries until the next UTC day (USDT)",
    )
    max_open_positions: int = Field(3, ge=1, description="positions and resting entries at once, all symbols")
    max_orders_per_minute: int = Field(10, ge=1, description="new entry orders accepted per rolling minute (orders)")
    liquidation_buffer_pct: float = Field(
        1.0, ge=0, le=50, description="the stop must be hit this % of price before the liquidation price"
    )

    @property
    def max_notional_usdt(self) -> float:
        return self.max_position_margin_usdt * self.leverage


class BacktestSettings(_Section):
    """Simulated account and fill model."""

    initial_equity_usdt: float = Field(
        1000.0,
        gt=0,
        description="starting equity (USDT) of every simulated account: the backtest's, paper mode's and, in replay, "
        "the local exchange's funded test account",
    )
    maker_fee_rate: float = Field(0.0002, ge=0, lt=0.01, description="fraction of notional (0.0002 = 0.02 %)")
    taker_fee_rate: float = Field(0.0005, ge=0, lt=0.01, description="fraction of notional (0.0005 = 0.05 %)")
    slippage_ticks: int = Field(
        1, ge=0, description="adverse slippage on market and stop fills (ticks of the symbol's price step)"
    )


class VenueSettings(_Section):
    """The exchange: Binance USDT-M futures (its demo environment while ``testnet`` is true), or any
    Binance-compatible server by URL."""

    name: Literal["binance"] = Field("binance", description="the exchange; Binance USDT-M perpetual futures")
    testnet: bool = Field(
        True,
        description="paper and live mode use Binance's demo environment (demo-fapi.binance.com); false: Binance "
        "itself, real money in live mode (needs live.confirm)",
    )
    rest_url: str | None = Field(None, description="another Binance-compatible server, e.g. `ictbot exchange serve`")
    ws_url: str | None = Field(None, description="its WebSocket base (ws://…); required with rest_url")
    api_key: SecretStr | None = Field(
        None, description="Binance API key: futures trading enabled, withdrawals never (needed in live mode)"
    )
    api_secret: SecretStr | None = Field(None, description="the secret of api_key")

    @model_validator(mode="after")
    def _urls_together(self) -> VenueSettings:
        if (self.rest_url is None) != (self.ws_url is None):
            raise ValueError("set venue.rest_url and venue.ws_url together (both printed by `ictbot exchange serve`)")
        return self


class ApiSettings(_Section):
    """The HTTP API and dashboard (docs/api.md). Loopback only by default; control needs ``token``."""

    enabled: bool = Field(True, description="serve the HTTP API and dashboard while the bot runs")
    host: str = Field("127.0.0.1", description="listen address; anything but loopback exposes the bot")
    port: int = Field(
        8000,
        ge=0,
        le=65535,
        description="TCP port of the API and dashboard; 0 = any free port (the bound URL is logged)",
    )
    token: SecretStr | None = Field(
        None, description="bearer token for control actions; unset = the one the bot keeps in <data_dir>/control-token"
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="browser origins allowed to call the API from other sites; empty = none"
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="more names the API answers to besides loopback and api.host, e.g. a container's service name "
        "that Prometheus scrapes; empty = none",
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
    timeout_s: float = Field(5.0, gt=0, le=60, description="time allowed for one delivery attempt (s)")
    queue_size: int = Field(
        1000, ge=1, description="undelivered messages kept; beyond it new ones are dropped (messages)"
    )
    telegram_control_chat_ids: list[int] = Field(
        default_factory=list,
        description="Telegram chat ids whose /status, /positions, /pause, /resume and /flatten the bot obeys "
        "(commands from any other chat are ignored and logged); empty = no remote control",
    )
    telegram_poll_timeout_s: int = Field(
        25, ge=1, le=50, description="how long one getUpdates long poll waits for a command before asking again (s)"
    )
    telegram_confirm_s: float = Field(
        60.0, gt=0, le=600, description="time to confirm /flatten by sending back its one-time code (s)"
    )
    telegram_command_max_age_s: float = Field(
        300.0,
        gt=0,
        description="a command older than this when the bot reads it (sent while the bot was down) is answered but "
        "not carried out (s)",
    )

    @model_validator(mode="after")
    def _telegram_complete(self) -> NotifySettings:
        if (self.telegram_token is None) != (self.telegram_chat_id is None):
            raise ValueError("set notify.telegram_token and notify.telegram_chat_id together")
        if self.telegram_control_chat_ids and self.telegram_token is None:
            raise ValueError(
                "notify.telegram_control_chat_ids needs the bot's token: set ICTBOT_NOTIFY__TELEGRAM_TOKEN "
                "(environment or .env) and notify.telegram_chat_id"
            )
        return self


class LogSettings(_Section):
    """The bot's log lines, on the console and in ``<data_dir>/logs/ictbot.log``. Secrets are never written."""

    format: Literal["text", "json"] = Field(
        "text",
        description="text: one readable line per event; json: one JSON object per line (time, level, logger, message "
        "and the event's fields, such as the heartbeat's figures) for log collectors",
    )


class ExecutionSettings(_Section):
    """Where orders go. ``broker`` unset: the venue in replay (the local exchange) and live, the simulated account in
    paper mode."""

    broker: Literal["venue", "simulated"] | None = Field(
        None, description="venue: orders on the exchange; simulated: the backtester's fill model; unset: by mode"
    )
    unknown_order_settle_s: float = Field(
        5.0, ge=0, le=60, description="wait before looking up an order whose send failed (s; Binance's recvWindow)"
    )
    max_unprotected_s: float = Field(
        10.0,
        gt=0,
        le=300,
        description="seconds a filled position may wait for its stop-loss on the venue (placement is retried "
        "meanwhile) before it is closed at market",
    )


class LiveSettings(_Section):
    """The real-money opt-in (docs/live-trading.md)."""

    confirm: bool = Field(False, description="required to trade real money on Binance's mainnet")


class ReplaySettings(_Section):
    """The embedded default: the local exchange replaying history in-process (``mode: replay``)."""

    data: list[Path] = Field(default_factory=list, description="candle files to replay; empty = the bundled sample")
    speed: float = Field(
        2400.0,
        gt=0,
        description="multiple of real time (60 = one 1m candle per second; the default 2400 plays the bundled 14 days "
        "in about 9 minutes, so a first run shows the bot trading within about 5)",
    )
    warmup: int = Field(
        300,
        ge=1,
        description="1m candles already closed when the replay starts, fed to the detectors before trading (candles)",
    )
    stop_at_end: bool = Field(
        True, description="stop once the replayed history has been traded; false keeps the bot and its API up"
    )
    lockstep: bool = Field(
        False,
        description="true: the replay's clock never moves past an event before the bot has reacted to it (candle "
        "processed, user-stream events handled, no order in flight), so a replay makes the backtest's trades — for "
        "verifying a strategy; a lost WebSocket message (a dropped connection) then stops the replay with an error. "
        "false: the clock runs on at `speed` whatever the bot is doing, as a venue's market does",
    )
    lockstep_timeout_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="wall seconds the lockstep clock waits for the bot to react to one event before the replay "
        "stops with an error (seconds)",
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

    mode: Literal["backtest", "replay", "paper", "live"] = Field(
        "replay",
        description="replay: the local exchange replays history, offline; paper: Binance's market data, simulated "
        "account; live: orders on Binance; backtest: for `ictbot backtest`",
    )
    symbols: list[str] = Field(
        default_factory=lambda: ["BTCUSDT"], min_length=1, description="Binance USDT-M perpetuals to trade"
    )
    strategy: SerializeAsAny[StrategySettings] = Field(
        default_factory=lambda: loader.validate({}),
        description="the strategy and its settings: `name` (see `ictbot strategy list`) or `path` to a strategy file",
    )
    risk: RiskSettings = RiskSettings()
    backtest: BacktestSettings = BacktestSettings()
    venue: VenueSettings = VenueSettings()
    api: ApiSettings = ApiSettings()
    notify: NotifySettings = NotifySettings()
    execution: ExecutionSettings = ExecutionSettings()
    live: LiveSettings = LiveSettings()
    replay: ReplaySettings = ReplaySettings()
    logging: LogSettings = LogSettings()
    data_dir: Path = Field(Path("ictbot-data"), description="logs, lock file and the default database live here")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the database (sqlite:///path or postgresql://user:password@host/db); "
        "empty: <data_dir>/ictbot.sqlite",
    )
    bot_name: str = Field(
        "ictbot",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="this bot's name in the database: bots sharing one database each need their own, and each sees "
        "and reconciles only its own records",
    )

    @model_validator(mode="before")
    @classmethod
    def _database_in_data_dir(cls, values: Any) -> Any:
        """The default database follows ``data_dir``, so two bots with their own data directories never share one."""
        if isinstance(values, dict) and not values.get("database_url"):
            data_dir = Path(values.get("data_dir") or "ictbot-data")
            values = {**values, "database_url": f"sqlite:///{data_dir / 'ictbot.sqlite'}"}
        return values

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        """The timeframes the candle book builds: exactly those the strategy declares."""
        return self.strategy.timeframes

    @field_validator("strategy", mode="wrap")
    @classmethod
    def _strategy_settings(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> StrategySettings:
        """The settings class is the configured strategy's own: found by ``name`` or ``path``, then validated."""
        try:
            return loader.validate(value)
        except loader.StrategyNotFound as exc:
            raise PydanticCustomError("strategy_not_found", str(exc)) from None

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
        """The effective settings as plain data, secrets shown as ``**********`` (the database URL's password too)."""
        shown = self.model_dump(mode="json")
        shown["database_url"] = _hide_password(self.database_url)
        return shown


def _hide_password(url: str) -> str:
    """``scheme://user:password@host/…`` with the password replaced; any other URL as it is."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


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
        loc = ", ".join(named) or ".".join(str(part) for part in error["loc"])
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


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    """The closest setting name at the misspelt key's level, or where to look them up."""
    names: set[str] = set(Settings.model_fields)
    model: type[BaseModel] | None = Settings
    for part in loc[:-1]:
        if model is Settings and part == "strategy":
            # Which strategy the block is for is not known here: offer the settings of every built-in one.
            names = {key for name in loader.BUILTINS for key in loader.by_name(name).Settings.model_fields}
            model = None
            continue
        field = model.model_fields.get(str(part)) if model is not None else None
        annotation = field.annotation if field is not None else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        names = set(model.model_fields) if model is not None else set()
    close = difflib.get_close_matches(str(loc[-1]), sorted(names), n=1)
    if close:
        parent = ".".join(str(p) for p in loc[:-1])
        return f"; did you mean `{parent + '.' if parent else ''}{close[0]}`?"
    return "; check the spelling against `ictbot check-config` output"
