"""The hourly-setpoints replay holds each hour's setpoints for the steps that start in that hour."""

from __future__ import annotations

import pytest

from greendc.control.baselines import HourlySetpointsController
from tests.control.test_ai import CONTEXT, _observation

# 800 hours, each with its own supply air (16-25 C), so that a step given the wrong hour reads the wrong one.
HOURS = tuple((16.0 + index % 10, 5.0, 7.0) for index in range(800))


def _supply_air_c(controller: HourlySetpointsController, month: int, day: int, hour: int, minute: int) -> float:
    action = controller.act(_observation()._replace(month=month, day=day, hour=hour, minute=minute))
    return next(iter(action.supply_air_setpoint_c.values()))


def test_each_step_gets_the_setpoints_of_the_hour_it_starts_in() -> None:
    controller = HourlySetpointsController(HOURS)
    first = controller.reset(CONTEXT)
    assert set(first.supply_air_setpoint_c.values()) == {16.0}
    assert set(first.zone_cooling_setpoint_c.values()) == {21.0}
    assert first.chilled_water_setpoint_c == 7.0
    # The observation at the end of 00:30-00:45 decides the step 00:45-01:00: still hour 0.
    assert _supply_air_c(controller, 1, 1, 0, 45) == 16.0
    # The one at the end of 00:45-01:00 (minute 60) decides 01:00-01:15: hour 1.
    assert _supply_air_c(controller, 1, 1, 0, 60) == 17.0
    # 1 February 23:45-24:00 decides 2 February 00:00: hour (31 + 1) * 24 = 768.
    assert _supply_air_c(controller, 2, 1, 23, 60) == 16.0 + 768 % 10
    # Past the table's end the last row holds.
    assert _supply_air_c(controller, 12, 31, 12, 60) == HOURS[-1][0]


def test_an_empty_table_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one hour"):
        HourlySetpointsController(()).reset(CONTEXT)
