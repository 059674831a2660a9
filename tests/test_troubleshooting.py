"""docs/troubleshooting.md quotes the bot's errors so that a user can search the page for what the terminal printed:
each quote must be the text the bot really prints, produced here by triggering the error."""

import re
import socket
from pathlib import Path

import pytest

from ictbot.config import load_settings
from ictbot.errors import ConfigError
from ictbot.runtime.preflight import bind_api, check_data_dir

PAGE = Path(__file__).parents[1] / "docs" / "troubleshooting.md"


def _page_text() -> str:
    """The page with its line breaks joined and code spans unwrapped, as a reader's search sees it."""
    text = re.sub(r"\s*\n\s*", " ", PAGE.read_text(encoding="utf-8"))
    return re.sub(r"``\s?(.*?)\s?``", r"\1", text)


def _config_error(**settings) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**settings)
    [_, problem] = str(caught.value).splitlines()
    return problem.strip()


@pytest.mark.parametrize(
    "settings",
    [
        {"risk": {"leverag": 3}},
        {"strategy": {"name": "foo"}},
        {"risk": {"max_position_margin_usdt": 20, "leverage": 3}},
    ],
    ids=["misspelt key", "unknown strategy", "notional cap"],
)
def test_the_settings_table_quotes_the_printed_error(settings):
    assert _config_error(**settings) in _page_text()


def test_the_taken_api_port_is_quoted_as_printed():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            bind_api("127.0.0.1", port)
    message = str(caught.value).replace(f"api.port {port} ", "api.port 8000 ")
    assert message in _page_text()


def test_an_unwritable_data_dir_is_quoted_as_printed(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as caught:
        check_data_dir(blocker / "data")
    message = re.sub(
        r"^data_dir \S+ is not writable \([^)]*\)",
        "data_dir <path> is not writable (Permission denied)",
        str(caught.value),
    )
    assert message != str(caught.value)
    assert message in _page_text()
