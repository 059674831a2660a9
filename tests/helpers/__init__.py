"""What the tests share: a running engine, bounded waits on observable state, and a bot process to kill and restart."""

from .bot import BotProcess, bot_config, user_stream_connected
from .metrics import series_names
from .waits import running, until

__all__ = ["BotProcess", "bot_config", "running", "series_names", "until", "user_stream_connected"]
