"""The rules fail safe: a missing reading (None or NaN, the same thing) never warms the room."""

from __future__ import annotations

import itertools
import math

import pytest

from greendc.control.baselines import RuleBasedController, TrimRespondController
from greendc.telemetry.contract import is_missing
from tests.control.test_ai import CONTEXT, ZONES, _observation


def _with_inlets(inlets_c: dict[str, float | None], supply_c: float = 21.0):
    observation = _observation(supply_c=supply_c)
    zones = {zone: state._replace(inlet_temp_c=inlets_c.get(zone, state.inlet_temp_c))
             for zone, state in observation.zones.items()}
    return observation._replace(zones=zones)


@pytest.mark.parametrize("missing", [None, math.nan])
def test_trim_respond_never_trims_up_on_a_missing_inlet(missing: float | None) -> None:
    rule = TrimRespondController(initial_supply_air_c=24.0)
    rule.reset(CONTEXT)
    supplies = []
    for _ in range(40):
        supplies.append(rule.act(_with_inlets({ZONES[0]: missing}, supply_c=24.0)).supply_air_setpoint_c[ZONES[0]])
    # Down by the response step to the site's safe supply air (the top of its own reset, 18 C), then held.
    assert supplies[0] == pytest.approx(23.7)
    assert all(later <= earlier for earlier, later in itertools.pairwise(supplies))
    assert supplies[-1] == pytest.approx(CONTEXT.design.supply_air_reset_c.max)


def test_trim_respond_below_the_safe_setpoint_returns_to_it_on_a_missing_inlet() -> None:
    rule = TrimRespondController(initial_supply_air_c=16.0)
    rule.reset(CONTEXT)
    supplies = [rule.act(_with_inlets({ZONES[1]: None})).supply_air_setpoint_c[ZONES[1]] for _ in range(40)]
    # Back to the site's own warmest setpoint at the trim rate, and not past it: blind, it neither warms the
    # room beyond what the site ran without greendc nor keeps it overcooled.
    assert supplies[0] == pytest.approx(16.1)
    assert supplies[-1] == pytest.approx(CONTEXT.design.supply_air_reset_c.max)
    assert max(supplies) <= CONTEXT.design.supply_air_reset_c.max + 1e-9


def test_trim_respond_still_answers_requests_of_the_zones_that_read() -> None:
    rule = TrimRespondController(initial_supply_air_c=17.0)
    rule.reset(CONTEXT)
    action = rule.act(_with_inlets({ZONES[0]: math.nan, ZONES[1]: 26.8}))
    assert action.supply_air_setpoint_c[ZONES[0]] == pytest.approx(17.0 - 0.6)


def test_trim_respond_trims_as_before_when_every_inlet_reads() -> None:
    rule = TrimRespondController(initial_supply_air_c=20.0)
    rule.reset(CONTEXT)
    assert rule.act(_with_inlets({})).supply_air_setpoint_c[ZONES[0]] == pytest.approx(20.1)


def test_rbc_steps_toward_the_sites_setpoint_when_no_zone_air_reads() -> None:
    rule = RuleBasedController(initial_setpoint_c=26.0)
    rule.reset(CONTEXT)
    observation = _observation()
    blind = observation._replace(zones={z: s._replace(zone_air_temp_c=None) for z, s in observation.zones.items()})
    setpoints = [rule.act(blind).zone_cooling_setpoint_c[ZONES[0]] for _ in range(5)]
    assert setpoints == [25.0, 24.0, 23.0, 23.0, 23.0]


def test_missing_means_none_and_nan_alike() -> None:
    assert is_missing(None) and is_missing(math.nan) and is_missing(math.inf)
    assert not is_missing(0.0) and not is_missing(-40.0)
    observation = _with_inlets({ZONES[0]: None, ZONES[1]: 24.0})
    assert observation.hottest_inlet_c == 24.0
