"""The ai's humidity floors: the psychrometry they rest on and the wet-bulb-line floor of evaporative cooling."""

from __future__ import annotations

import pytest

from greendc.control.ai import AIController
from greendc.learning.facility_model import FacilityModel
from greendc.site import weather
from greendc.site.weather import dry_bulb_at_relative_humidity_c, stull_wet_bulb_c
from greendc.telemetry.contract import Observation
from tests.control.test_ai import ZONES, _controller, _humid, _observation, _weather


def _relative_humidity_pct(dry_bulb_c: float, dew_point_c: float) -> float:
    vapour_pa = weather.vapour_pressure_at_dew_point_pa
    return 100.0 * vapour_pa(dew_point_c) / vapour_pa(dry_bulb_c)


@pytest.mark.parametrize(("dry_bulb_c", "dew_point_c"), [(31.0, 10.0), (28.0, 0.0), (22.0, 15.0), (18.0, 17.9)])
def test_wet_bulb_agrees_with_stull_and_returns_the_dew_point(dry_bulb_c: float, dew_point_c: float) -> None:
    wet_bulb_c = weather.wet_bulb_at_dew_point_c(dry_bulb_c, dew_point_c)
    # Stull's fit is good to about 0.3 K (more at low humidity); the two forms are independent.
    assert wet_bulb_c == pytest.approx(stull_wet_bulb_c(dry_bulb_c, _relative_humidity_pct(dry_bulb_c, dew_point_c)),
                                       abs=0.5)
    assert dew_point_c <= wet_bulb_c <= dry_bulb_c
    assert weather.dew_point_on_wet_bulb_line_c(wet_bulb_c, dry_bulb_c) == pytest.approx(dew_point_c, abs=0.01)


def test_evaporation_along_a_wet_bulb_line_raises_the_dew_point() -> None:
    # Return air at 30 C and a 12 C dew point, cooled by evaporation: its dew point rises toward the wet bulb.
    wet_bulb_c = weather.wet_bulb_at_dew_point_c(30.0, 12.0)
    dew_points_c = [weather.dew_point_on_wet_bulb_line_c(wet_bulb_c, dry_bulb_c) for dry_bulb_c in (30.0, 25.0, 21.0)]
    assert dew_points_c == sorted(dew_points_c) and dew_points_c[-1] > 15.0
    at_14_c = weather.dry_bulb_on_wet_bulb_line_c(wet_bulb_c, weather.humidity_ratio_at_dew_point(14.0))
    assert weather.dew_point_on_wet_bulb_line_c(wet_bulb_c, at_14_c) == pytest.approx(14.0, abs=0.01)


def _return_air(observation: Observation, zone_air_c: float, dew_point_c: float) -> Observation:
    zones = {zone: state._replace(zone_air_temp_c=zone_air_c, inlet_dew_point_c=dew_point_c)
             for zone, state in observation.zones.items()}
    return observation._replace(zones=zones)


def _after_passes(controller: AIController, supply_c: float, outdoor_wet_bulb_c: float, return_air_c: float,
                  dew_point_c: float) -> tuple[float, float]:
    """Dew point (C) and relative humidity (%) of supply air at ``supply_c`` after the controller's evaporative
    passes, worked out step by step."""
    for _ in range(controller.evaporative_passes):
        wet_bulb_c = max(outdoor_wet_bulb_c, weather.wet_bulb_at_dew_point_c(return_air_c, dew_point_c))
        dew_point_c = max(dew_point_c, weather.dew_point_on_wet_bulb_line_c(wet_bulb_c, supply_c))
    return dew_point_c, _relative_humidity_pct(supply_c, dew_point_c)


@pytest.mark.parametrize("passes", [1, 2])
def test_the_wet_bulb_floor_is_where_evaporation_reaches_the_envelope(facility_model: FacilityModel,
                                                                       passes: int) -> None:
    # The economizer closed on a dry morning (Golden, June): return air at 30 C and a 5.6 C dew point.
    controller = _controller(facility_model, evaporative_passes=passes)
    floor_c = controller._wet_bulb_floor_c(12.0, 30.0, 5.6)
    dew_point_c, humidity_pct = _after_passes(controller, floor_c + 0.05, 12.0, 30.0, 5.6)
    assert dew_point_c <= 14.0 and humidity_pct <= 60.0
    dew_point_c, humidity_pct = _after_passes(controller, floor_c - 0.1, 12.0, 30.0, 5.6)
    assert dew_point_c > 14.0 or humidity_pct > 60.0


def test_more_passes_or_moister_return_air_raise_the_floor(facility_model: FacilityModel) -> None:
    one, two = _controller(facility_model, evaporative_passes=1), _controller(facility_model, evaporative_passes=2)
    assert two._wet_bulb_floor_c(12.0, 30.0, 5.6) > one._wet_bulb_floor_c(12.0, 30.0, 5.6) + 2.0
    assert two._wet_bulb_floor_c(12.0, 30.0, 9.0) > two._wet_bulb_floor_c(12.0, 30.0, 5.6)
    # Return air that is already too humid: only supply air as warm as the return air stays out of it.
    assert two._wet_bulb_floor_c(12.0, 30.0, 14.5) == pytest.approx(30.0, abs=0.01)


def test_moist_return_air_raises_the_floor_above_the_measured_dew_points(facility_model: FacilityModel) -> None:
    # Dry outdoor air just above the economizer's limit (24 C, wet bulb 12 C) and return air at 30 C with a 7 C
    # dew point: evaporating into it at 21 C supply air would leave the envelope although the inlet is at 37 %.
    observation = _return_air(_observation(supply_c=21.0, inlet_c=22.0, **_weather(24.0, 12.0)), 30.0, 7.0)
    controller = _controller(facility_model)
    floors_c = controller._humid_below_c(observation)
    for zone in ZONES:
        assert floors_c[zone] == pytest.approx(0.5 + controller._wet_bulb_floor_c(12.0, 30.0, 7.0))
        assert floors_c[zone] > 0.5 + dry_bulb_at_relative_humidity_c(8.0, 60.0) + 1.0
    controller.act(observation)
    record = controller.decision_log[-1]
    assert record.guard == "none" and "for relative humidity at most 60 %" in record.detail
    free = _controller(facility_model, max_inlet_relative_humidity_pct=None)
    free.act(observation)
    assert (min(record.prediction.inlet_temp_c.values())
            > min(free.decision_log[-1].prediction.inlet_temp_c.values()))


def test_dry_return_air_adds_no_floor(facility_model: FacilityModel) -> None:
    # Winter: return air at 24 C and a -10 C dew point, recirculated twice through evaporation, stays inside the
    # envelope at supply air under the 18.5 C the temperature limit keeps anyway.
    observation = _return_air(_observation(supply_c=18.5, inlet_c=19.5, **_weather(-5.0, -6.0)), 24.0, -10.0)
    controller = _controller(facility_model)
    assert max(controller._humid_below_c(observation).values()) < 18.5
    free = _controller(facility_model, max_inlet_relative_humidity_pct=None)
    assert controller.act(observation) == free.act(observation)


def test_humid_outdoor_air_keeps_the_outdoor_air_floor(facility_model: FacilityModel) -> None:
    observation = _humid(_observation(supply_c=21.0, inlet_c=22.0, **_weather(21.7, 19.5)), 10.5)
    floors_c = _controller(facility_model)._humid_below_c(observation)
    assert min(floors_c.values()) >= 21.7 + 1.0

