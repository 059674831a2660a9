"""The configuration reference is generated from the settings model: it lists every setting and cannot drift."""

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from typer.testing import CliRunner

from ictbot.cli import app
from ictbot.config import Settings
from ictbot.config_reference import render, sections, undescribed

PAGE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_the_committed_reference_matches_the_settings_model():
    assert PAGE.exists(), "docs/configuration.md is missing; generate it with `ictbot config-reference`"
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is out of date with the settings model (src/ictbot/config.py); "
        "regenerate it from the repository root with `ictbot config-reference` and commit it"
    )


def test_every_setting_and_section_has_a_description():
    assert undescribed() == [], "give these settings a Field(description=...) with their unit, sections a docstring"


def test_every_leaf_setting_appears_once_per_block_with_its_environment_variable():
    page = render()
    for section in sections():
        for setting in section.settings:
            assert f"| `{setting.path}` |" in page
            assert f"`{setting.env}`" in page
    assert "`ICTBOT_RISK__LEVERAGE`" in page
    assert "`ICTBOT_STRATEGY__SWEEP_WINDOW_CANDLES`" in page
    # both strategies' blocks are documented, the default one said to be the default
    assert "## `strategy` with `name: ict_mtf` (the default)" in page
    assert "## `strategy` with `name: fvg_retrace`" in page
    paths = [s.path for section in sections() for s in section.settings]
    for name in Settings.model_fields:
        assert name in paths or any(p.startswith(f"{name}.") for p in paths), name


def test_a_row_shows_type_default_bounds_secret_and_search_range():
    rows = {line.split(" | ")[0].strip("| `"): line for line in render().splitlines() if line.startswith("| `")}
    assert rows["risk.leverage"] == (
        "| `risk.leverage` | integer | `3` | ≥ 1, ≤ 125 | `ICTBOT_RISK__LEVERAGE` | isolated leverage per symbol (x) |"
    )
    assert "| string (secret) or null | unset |" in rows["venue.api_secret"]
    assert "**secret**" in rows["venue.api_secret"]
    assert "**secret**" not in rows["venue.rest_url"]
    assert rows["backtest.maker_fee_rate"].split(" | ")[3] == "≥ 0, < 0.01"
    assert rows["strategy.reward_risk"].endswith("| 1 … 4, step 0.25 |")
    assert rows["strategy.require_discount"].endswith("| `true`, `false` |")


def test_a_model_with_an_undocumented_field_is_reported():
    class Inner(BaseModel):
        """A section."""

        size: int = Field(1, ge=0)
        key: SecretStr | None = Field(None, description="a key")

    class Outer(BaseModel):
        inner: Inner = Inner()
        mode: str = Field("x", description="a mode")

    assert undescribed(Outer) == ["inner.size", "Top level"]
    page = render(Outer)
    assert "| `inner.size` | integer | `1` | ≥ 0 | `ICTBOT_INNER__SIZE` |  |" in page
    assert "| `inner.key` | string (secret) or null | unset | — | `ICTBOT_INNER__KEY` | **secret** — a key |" in page


def test_the_command_writes_the_page_and_check_fails_on_drift(tmp_path):
    out = tmp_path / "configuration.md"
    runner = CliRunner()
    written = runner.invoke(app, ["config-reference", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8") == render()
    assert runner.invoke(app, ["config-reference", "--out", str(out), "--check"]).exit_code == 0
    out.write_text(out.read_text(encoding="utf-8").replace("isolated leverage", "leverage"), encoding="utf-8")
    stale = runner.invoke(app, ["config-reference", "--out", str(out), "--check"])
    assert stale.exit_code == 1
    assert "regenerate it with `ictbot config-reference`" in stale.output
