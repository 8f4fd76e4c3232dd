"""The ai's air-side humidity floors: what the site's economizer and direct evaporative stage do to the supply
air's moisture (``ControlContext.air_side``, ``AIController._air_side_floor_c``)."""

from __future__ import annotations

import dataclasses

import pytest

from greendc.control.ai import AIController, outdoor_air_dew_point_c
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


def test_the_outdoor_airs_moisture_is_the_moister_of_its_dew_point_and_its_bulbs() -> None:
    # Golden, 1 July 01:00, at the typical year's seam: the file's dew point reads 7.9 C, but its 94 %
    # relative humidity at 15.4 C (and the wet bulb EnergyPlus reports, 14.8 C) is air of a 14.4 C dew point,
    # and the simulated halls took that air's moisture.
    seam = _observation(outdoor_dry_bulb_c=15.4, outdoor_wet_bulb_c=14.76, outdoor_dew_point_c=7.9)
    assert outdoor_air_dew_point_c(seam) == pytest.approx(dew_point_on_wet_bulb_line_c(14.76, 15.4))
    assert 14.0 < outdoor_air_dew_point_c(seam) < 14.8
    # Readings that agree give the dew point itself; a missing wet bulb leaves the dew point, a missing dew
    # point the bulbs' value.
    agreeing = _observation(**_outdoor(25.0, 18.0))
    assert outdoor_air_dew_point_c(agreeing) == pytest.approx(agreeing.outdoor_dew_point_c)
    assert outdoor_air_dew_point_c(seam._replace(outdoor_wet_bulb_c=float("nan"))) == 7.9
    assert outdoor_air_dew_point_c(seam._replace(outdoor_dew_point_c=None)) == pytest.approx(
        outdoor_air_dew_point_c(seam))


def test_a_moist_seam_in_the_weather_floors_the_supply_air_where_the_dew_point_does_not(
        facility_model: FacilityModel) -> None:
    # On a site without a direct evaporative stage (the three-hall example), with the economizer open, the
    # supply air takes the outdoor air's moisture: the floor follows the 14.4 C of the bulbs, not the file's
    # 7.9 C dew point (which alone floored it at 17.2 C here, and gave a Golden hall 62 % at its inlet).
    no_stage = LIMITS._replace(direct_evaporative_max_wet_bulb_c=None, direct_evaporative_min_dry_bulb_c=None)
    controller = AIController(model=facility_model, decide_every_steps=1)
    controller.reset(dataclasses.replace(CONTEXT, air_side=dict.fromkeys(ZONES, no_stage)))
    seam = _room(_observation(outdoor_dry_bulb_c=15.4, outdoor_wet_bulb_c=14.76, outdoor_dew_point_c=7.9,
                              outdoor_relative_humidity_pct=94.0), dew_point_c=7.0, supply_c=19.0, inlet_c=19.8)
    floors_c = controller._humid_below_c(seam)
    at_limit_c = dry_bulb_at_relative_humidity_c(outdoor_air_dew_point_c(seam) + controller.dew_point_rise_c,
                                                 controller.max_inlet_relative_humidity_pct)
    assert all(floor_c >= at_limit_c for floor_c in floors_c.values()), floors_c
