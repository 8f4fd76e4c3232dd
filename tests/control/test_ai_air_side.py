"""The ai's air-side humidity floors: what the site's economizer and direct evaporative stage do to the supply
air's moisture (``ControlContext.air_side``, ``AIController._air_side_floor_c``)."""

from __future__ import annotations

import dataclasses

import pytest

from greendc.control.ai import AIController
from greendc.learning.facility_model import FacilityModel
from greendc.site.schema import Site
from greendc.site.weather import dew_point_on_wet_bulb_line_c, dry_bulb_at_relative_humidity_c
from greendc.telemetry.contract import AirSide, Observation
from greendc.twin.builder import control_context
from tests.conftest import example_site_data
from tests.control.test_ai import CONTEXT, ZONES, _observation, _weather

#: The example site's limits (economizer 23 C / 13.5 C / -20 C, direct evaporative stage 18 C wet bulb, 16 C).
LIMITS = AirSide(economizer_max_dry_bulb_c=23.0, economizer_max_dew_point_c=13.5, economizer_min_dry_bulb_c=-20.0,
                 direct_evaporative_max_wet_bulb_c=18.0, direct_evaporative_min_dry_bulb_c=16.0)
AIR_SIDE_CONTEXT = dataclasses.replace(CONTEXT, air_side=dict.fromkeys(ZONES, LIMITS))


def _controller(model: FacilityModel, **options) -> AIController:
    controller = AIController(model=model, **{"decide_every_steps": 1, **options})
    controller.reset(AIR_SIDE_CONTEXT)
    return controller


def _room(observation: Observation, dew_point_c: float, zone_air_c: float = 30.0, supply_c: float = 21.0,
          inlet_c: float = 22.0) -> Observation:
    zones = {zone: state._replace(inlet_dew_point_c=dew_point_c, zone_air_temp_c=zone_air_c,
                                  supply_air_temp_c=supply_c, supply_air_setpoint_c=supply_c, inlet_temp_c=inlet_c,
                                  zone_cooling_setpoint_c=30.0)
             for zone, state in observation.zones.items()}
    return observation._replace(zones=zones)


def _outdoor(dry_bulb_c: float, wet_bulb_c: float) -> dict[str, float]:
    readings = _weather(dry_bulb_c, wet_bulb_c)
    return {**readings, "outdoor_dew_point_c": dew_point_on_wet_bulb_line_c(wet_bulb_c, dry_bulb_c)}


def test_the_example_site_tells_the_controller_its_air_side() -> None:
    site = Site.model_validate(example_site_data())
    assert control_context(site).air_side == {zone.name: LIMITS for zone in site.zones}


def test_a_site_without_an_evaporative_stage_has_none_in_its_context() -> None:
    data = example_site_data()
    data["cooling"]["direct_evaporative"] = {"enabled": False}
    limits = control_context(Site.model_validate(data)).air_side
    assert {value.direct_evaporative_max_wet_bulb_c for value in limits.values()} == {None}


def test_closed_economizer_and_dry_return_air_floor_the_supply_air(facility_model: FacilityModel) -> None:
    # A hot dry afternoon (Golden): the economizer is closed and the stage would humidify the recirculated air
    # pass after pass up to its 18 C wet bulb, so the supply air must stay where that line keeps the dew point
    # half a kelvin under 15 C: the inlet 1 K (the measured supply-to-inlet difference) above it.
    controller = _controller(facility_model)
    observation = _room(_observation(**_outdoor(30.0, 12.0)), dew_point_c=0.0)
    floor_c = controller._air_side_floor_c(observation, ZONES[0], observation.zones[ZONES[0]])
    supply_c = floor_c - 1.0
    assert dew_point_on_wet_bulb_line_c(18.0, supply_c) == pytest.approx(14.5, abs=0.02)
    assert 24.0 < supply_c < 24.6


def test_return_air_whose_wet_bulb_keeps_the_stage_off_adds_no_closed_floor(facility_model: FacilityModel) -> None:
    # The same afternoon with humid room air (a 14 C dew point: a 19.7 C wet bulb at 30 C, above the stage's
    # limit even when the supply air, and the return air with it, are a few kelvin cooler).
    controller = _controller(facility_model)
    observation = _room(_observation(**_outdoor(30.0, 12.0)), dew_point_c=14.0, zone_air_c=30.0, supply_c=23.0)
    floor_c = controller._air_side_floor_c(observation, ZONES[0], observation.zones[ZONES[0]])
    assert floor_c < 23.0


def test_open_economizer_and_cool_outdoor_air_add_no_floor(facility_model: FacilityModel) -> None:
    # A cool dry morning: the economizer mixes outdoor air at 12 C in, nothing evaporates into it.
    controller = _controller(facility_model)
    observation = _room(_observation(**_outdoor(12.0, 8.0)), dew_point_c=4.0, zone_air_c=30.0)
    assert controller._air_side_floor_c(observation, ZONES[0], observation.zones[ZONES[0]]) < 18.0


def test_warm_humid_outdoor_air_through_the_open_economizer_floors_at_its_wet_bulb_line(
        facility_model: FacilityModel) -> None:
    # 21 C outdoor air with a 16.5 C wet bulb (dew point 14.5 C, above the economizer's 13.5 C limit but within
    # the 1.5 K it may move): cooled by the stage along that line, plus the 0.5 K the wet bulb may rise. The
    # room air is humid enough (14 C dew point) for the stage to stay off should the economizer close.
    controller = _controller(facility_model)
    observation = _room(_observation(**_outdoor(21.0, 16.5)), dew_point_c=14.0, zone_air_c=30.0)
    floor_c = controller._air_side_floor_c(observation, ZONES[0], observation.zones[ZONES[0]])
    assert floor_c == pytest.approx(min(controller._lowest_dry_supply_c(17.0, 1.0), 21.0 + 1.5) + 1.0)
    dew_point_c = dew_point_on_wet_bulb_line_c(17.0, floor_c - 1.0)
    assert dry_bulb_at_relative_humidity_c(dew_point_c, 60.0) <= floor_c + 1e-6


def test_a_floor_beyond_one_step_is_approached_faster_and_decided_at_once(facility_model: FacilityModel) -> None:
    # The economizer about to close on dry air: the floor lies some 4 K above the inlet; the supply air rises
    # by more than the 1 K rate limit (at most 2.5 K, below the 3 K the inlet sensor check questions).
    controller = _controller(facility_model, decide_every_steps=4)
    observation = _room(_observation(**_outdoor(22.0, 10.0)), dew_point_c=0.0, supply_c=21.0, inlet_c=22.0)
    action = controller.act(observation)
    record = controller.decision_log[-1]
    assert record.guard == "none" and "for relative humidity" in record.detail
    assert 22.0 < max(action.supply_air_setpoint_c.values()) <= 21.0 + 2.5 + 1e-9
    # The floor is not reached yet: the next step decides again instead of holding for the control period.
    held = _room(observation, dew_point_c=0.0, supply_c=max(action.supply_air_setpoint_c.values()), inlet_c=22.5)
    controller.act(held)
    assert len(controller.decision_log) == 2


def test_without_the_air_side_the_pessimistic_floors_apply(facility_model: FacilityModel) -> None:
    controller = AIController(model=facility_model, decide_every_steps=1, air_side_humidity=False)
    controller.reset(AIR_SIDE_CONTEXT)
    assert controller._air_side == {}
    unknown = AIController(model=facility_model, decide_every_steps=1)
    unknown.reset(CONTEXT)
    assert unknown._air_side == {}
