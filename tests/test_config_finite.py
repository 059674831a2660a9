"""A limit written as ``.inf`` would switch it off, a replay speed of ``.inf`` overflow the clock: numbers in the
settings must be finite, and the error says which one."""

from __future__ import annotations

import pytest

from ictbot.config import load_settings
from ictbot.errors import ConfigError


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ("risk:\n  daily_loss_limit_usdt: .inf\n", "risk.daily_loss_limit_usdt"),
        ("risk:\n  max_position_margin_usdt: .inf\n", "risk.max_position_margin_usdt"),
        ("replay:\n  speed: .inf\n", "replay.speed"),
        ("risk:\n  daily_loss_limit_usdt: .nan\n", "risk.daily_loss_limit_usdt"),
    ],
)
def test_infinite_or_nan_settings_are_refused_naming_the_setting(tmp_path, yaml_text: str, field: str) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as refused:
        load_settings(path)
    assert field in str(refused.value) and "finite" in str(refused.value)
