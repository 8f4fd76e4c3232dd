"""The action contract: setpoints are clipped to the site's bounds, and a non-number is refused."""

from __future__ import annotations

import math

import pytest

from greendc.control.base import Action
from greendc.site.schema import Setpoints

BOUNDS = Setpoints()  # supply air 12-26 C, zone cooling 18-30 C, chilled water 5-15 C


def test_an_action_inside_the_bounds_is_returned_as_it_is() -> None:
    action = Action({"A": 20.0, "B": 26.0}, {"A": 28.0, "B": 30.0}, 7.0)
    assert action.clipped(BOUNDS) is action
    assert Action().clipped(BOUNDS) == Action()


def test_setpoints_outside_the_bounds_are_clipped() -> None:
    action = Action({"A": 9.0, "B": 20.0}, {"A": 31.5, "B": 25.0}, 2.0).clipped(BOUNDS)
    assert action == Action({"A": 12.0, "B": 20.0}, {"A": 30.0, "B": 25.0}, 5.0)


@pytest.mark.parametrize(("action", "named"), [
    (Action({"A": math.nan}), "supply air of A"),
    (Action(None, {"B": math.inf}), "zone cooling of B"),
    (Action(None, None, math.nan), "chilled water"),
])
def test_a_setpoint_that_is_not_a_number_is_refused(action: Action, named: str) -> None:
    with pytest.raises(ValueError, match=f"{named} setpoint to (nan|inf)"):
        action.clipped(BOUNDS)
