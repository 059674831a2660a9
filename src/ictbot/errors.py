"""One exception hierarchy, so callers can catch ictbot's own failures precisely.

Every message says what went wrong and what the user can do about it.
"""


class IctbotError(Exception):
    """Base of every error ictbot raises on purpose."""


class ConfigError(IctbotError):
    """The settings are invalid; the message lists each field path and a hint."""


class DataError(IctbotError):
    """A market-data file or candle stream is malformed; the message names the file, row and problem."""


class VenueError(IctbotError):
    """The exchange answered with an error or could not be reached."""


class RiskRejected(IctbotError):
    """The risk gate refused an order intent; ``reason`` is a stable machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
