"""A strategy's settings declare where the optimiser may search; bad ranges fail when the class is defined."""

from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from ictbot.strategy.ict_mtf import IctMtfSettings
from ictbot.strategy.params import SearchChoice, SearchRange, search_space


def test_the_default_strategy_declares_ranges_that_contain_its_defaults():
    space = search_space(IctMtfSettings)
    assert {"reward_risk", "sweep_window_candles", "entry_zone"} <= set(space)
    defaults = IctMtfSettings()
    for name, spec in space.items():
        value = getattr(defaults, name)
        if isinstance(spec, SearchRange):
            assert spec.low <= value <= spec.high, name
        else:
            assert value in spec.choices, name


def test_fields_without_a_range_are_not_searched():
    class Params(BaseModel):
        fast: Annotated[int, SearchRange(2, 20, step=1)] = Field(5, ge=1)
        label: str = "x"

    assert search_space(Params) == {"fast": SearchRange(2, 20, step=1)}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SearchRange(3, 3), "low < high"),
        (lambda: SearchRange(1, 3, step=0), "step must be positive"),
        (lambda: SearchRange(0, 3, log=True), "low > 0"),
        (lambda: SearchChoice((1,)), "two choices"),
    ],
)
def test_a_range_that_cannot_be_searched_is_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()
