"""What the tests share: a running engine, bounded waits on observable state, and a bot process to kill and restart."""

from .bot import BotProcess, bot_config, user_stream_connected
from .waits import running, until

__all__ = ["BotProcess", "bot_config", "running", "until", "user_stream_connected"]
