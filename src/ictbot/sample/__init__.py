"""The real-data sample shipped with ictbot for its offline default."""

from importlib.resources import files
from pathlib import Path


def sample_path() -> Path:
    """Path of the bundled BTCUSDT 1m sample (see README.md beside it)."""
    return Path(str(files(__package__) / "BTCUSDT-1m-sample.feather"))
