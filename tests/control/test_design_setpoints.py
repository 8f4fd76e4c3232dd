"""Controllers hold the site's design setpoints where they do not move them (the context gives them)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from greendc.control.registry import make_controller
from greendc.learning.facility_model import FacilityModel
from greendc.site.schema import Bounds
from greendc.telemetry.contract import DesignSetpoints
from tests.control.test_ai import CONTEXT, _controller, _observation

# A site whose plant runs at 9 C and whose legacy zone setpoint is 24 C.
NINE_C = dataclasses.replace(CONTEXT, design=DesignSetpoints(Bounds(12.0, 18.0), zone_cooling_c=24.0,
                                                            chilled_water_c=9.0))


@pytest.mark.parametrize("name", ["trim-respond", "constant"])
def test_baselines_hold_the_sites_chilled_water(name: str) -> None:
    controller = make_controller(name)
    assert controller.reset(NINE_C).chilled_water_setpoint_c == 9.0
    assert controller.act(_observation(chilled_water_setpoint_c=9.0)).chilled_water_setpoint_c == 9.0
    # An explicit constant still wins: the oracle's sweep sets it.
    assert make_controller("constant", chilled_water_c=11.0).reset(NINE_C).chilled_water_setpoint_c == 11.0


def test_without_a_plant_no_chilled_water_is_set() -> None:
    context = dataclasses.replace(NINE_C, has_chiller_plant=False,
                                  design=NINE_C.design._replace(chilled_water_c=None))
    for name in ("trim-respond", "constant"):
        assert make_controller(name).reset(context).chilled_water_setpoint_c is None


def test_the_rule_starts_from_the_sites_zone_setpoint() -> None:
    action = make_controller("rbc").reset(NINE_C)
    assert set(action.zone_cooling_setpoint_c.values()) == {24.0}
    assert make_controller("rbc", initial_setpoint_c=26.0).reset(NINE_C).zone_cooling_setpoint_c["West Hall"] == 26.0


def test_the_ai_falls_back_to_the_sites_chilled_water(facility_model: FacilityModel, tmp_path: Path) -> None:
    switch = tmp_path / "STOP-AI"
    switch.touch()
    controller = _controller(facility_model, kill_switch=switch)
    controller.reset(NINE_C)
    action = controller.act(_observation(chilled_water_setpoint_c=9.0))
    assert controller.decision_log[-1].guard == "kill-switch"
    assert action.chilled_water_setpoint_c == 9.0


def test_the_ai_searches_around_the_sites_chilled_water_when_none_is_observed(facility_model: FacilityModel) -> None:
    controller = _controller(facility_model)
    controller.reset(NINE_C)
    observation = _observation(chilled_water_setpoint_c=math.nan)
    action = controller.act(observation)
    record = controller.decision_log[-1]
    assert record.guard == "none" and record.baseline.chilled_water_setpoint_c == 9.0
    # One rate-limited step from 9 C, not from 7 C.
    assert 8.0 - 1e-9 <= action.chilled_water_setpoint_c <= 10.0 + 1e-9
    assert controller._setpoints_of(controller._baseline.action()._replace(chilled_water_setpoint_c=None),
                                    observation._replace(chilled_water_setpoint_c=None))[-1] == 9.0
