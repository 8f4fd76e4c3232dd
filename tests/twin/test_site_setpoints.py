"""The site's setpoints in the loop: the runner clips every controller to the site's bounds (and is the only one
that does), the legacy control honours the bounds, and every controller holds the site's own design setpoints
where it does not move them, the chilled water of a site at 9 C in particular."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import REPO, example_site_data

from greendc.control.registry import make_controller
from greendc.site.schema import Bounds, Setpoints, Site
from greendc.telemetry.contract import Action, ControlContext, DesignSetpoints, Observation
from greendc.twin.builder import build_twin, design_setpoints
from greendc.twin.runner import clip_to_bounds, run_simulation

BOUNDS = Setpoints()  # supply air 12-26 C, zone cooling 18-30 C, chilled water 5-15 C
SHIPPED_MODEL = REPO / "src" / "greendc" / "data" / "models" / "two-hall-chicago.gdm"


def _site(water_c: float = 7.0, end_day: int = 1, **setpoints: dict[str, float]) -> Site:
    data = example_site_data(end_day=end_day)
    data["cooling"]["chiller_plant"]["chilled_water_supply_c"] = water_c
    data["setpoints"] = {**data["setpoints"], **setpoints}
    return Site.model_validate(data)


# -- clipping ------------------------------------------------------------------------------------------------
def test_an_action_inside_the_bounds_is_returned_as_it_is() -> None:
    action = Action({"A": 20.0, "B": 26.0}, {"A": 28.0, "B": 30.0}, 7.0)
    assert clip_to_bounds(action, BOUNDS) is action
    assert clip_to_bounds(Action(), BOUNDS) == Action()


def test_setpoints_outside_the_bounds_are_clipped() -> None:
    action = clip_to_bounds(Action({"A": 9.0, "B": 20.0}, {"A": 31.5, "B": 25.0}, 2.0), BOUNDS)
    assert action == Action({"A": 12.0, "B": 20.0}, {"A": 30.0, "B": 25.0}, 5.0)


@pytest.mark.parametrize(("action", "named"), [
    (Action({"A": math.nan}), "supply air of A"),
    (Action(None, {"B": math.inf}), "zone cooling of B"),
    (Action(None, None, math.nan), "chilled water"),
])
def test_a_setpoint_that_is_not_a_number_is_refused(action: Action, named: str) -> None:
    with pytest.raises(ValueError, match=f"{named} setpoint to (nan|inf)"):
        clip_to_bounds(action, BOUNDS)


@dataclass
class Asks:
    """Asks for the same setpoints all along and keeps the context it was given."""

    action: Action
    name: str = "asks"
    contexts: list[ControlContext] = field(default_factory=list)

    def reset(self, context: ControlContext) -> Action:
        self.contexts.append(context)
        return self.action

    def act(self, observation: Observation) -> Action:
        return self.action


def test_the_runner_applies_only_setpoints_inside_the_sites_bounds() -> None:
    site = _site(supply_air_c={"min": 14, "max": 24}, chilled_water_c={"min": 6, "max": 12})
    zones = [zone.name for zone in site.zones]
    wild = Asks(Action(dict.fromkeys(zones, 5.0), dict.fromkeys(zones, 40.0), 2.0))
    telemetry = run_simulation(build_twin(site), wild).telemetry.iloc[1:]  # from the second step on
    for zone in zones:
        # An HVAC average over the step's system timesteps: equal up to rounding.
        np.testing.assert_allclose(telemetry[f"{zone}/supply_air_setpoint_c"], 14.0, rtol=0, atol=1e-9)
        assert (telemetry[f"{zone}/zone_cooling_setpoint_c"] == 30.0).all()
    assert (telemetry["chilled_water_setpoint_c"] == 6.0).all()


# -- the legacy control and the design setpoints ------------------------------------------------------------
def _reset_range(twin_epjson: dict) -> set[tuple[float, float]]:
    managers = twin_epjson["SetpointManager:SingleZone:Cooling"].values()
    return {(m["minimum_supply_air_temperature"], m["maximum_supply_air_temperature"]) for m in managers}


@pytest.mark.parametrize(("supply_air_c", "reset_c"), [
    ({"min": 12, "max": 26}, (12.0, 18.0)),  # the example site: the EnergyPlus example's reset as it was
    ({"min": 14, "max": 24}, (14.0, 18.0)),
    ({"min": 10, "max": 16}, (12.0, 16.0)),
    ({"min": 19, "max": 26}, (19.0, 19.0)),  # no overlap: held at the nearest bound
])
def test_the_legacy_supply_air_reset_honours_the_sites_bounds(supply_air_c: dict, reset_c: tuple) -> None:
    site = _site(supply_air_c=supply_air_c)
    twin = build_twin(site)
    assert _reset_range(twin.epjson) == {reset_c}
    assert twin.design_setpoints.supply_air_reset_c == Bounds(*reset_c)


def test_the_legacy_control_runs_inside_the_sites_bounds() -> None:
    site = _site(supply_air_c={"min": 14, "max": 24}, zone_cooling_c={"min": 24, "max": 30})
    telemetry = run_simulation(build_twin(site), make_controller("default")).telemetry
    for zone in site.zones:
        supply = telemetry[f"{zone.name}/supply_air_setpoint_c"]
        assert supply.between(14.0 - 1e-9, 18.0 + 1e-9).all() and supply.min() < 15.0  # the reset reaches 14
        assert (telemetry[f"{zone.name}/zone_cooling_setpoint_c"] == 24.0).all()  # 23 C brought within 24-30


def test_the_design_setpoints_follow_the_site() -> None:
    assert design_setpoints(_site(9.0)) == DesignSetpoints(Bounds(12.0, 18.0), 23.0, 9.0)
    assert design_setpoints(_site(4.0)).chilled_water_c == 5.0  # within the chilled-water bounds, as any setpoint
    data = example_site_data()
    data["zones"][1]["cooling_coil"] = "dx"
    assert design_setpoints(Site.model_validate(data)).chilled_water_c is None


def test_controllers_get_the_sites_design_setpoints_and_bounds() -> None:
    site = _site(9.0, supply_air_c={"min": 14, "max": 24})
    controller = Asks(Action())
    run_simulation(build_twin(site), controller)
    [context] = controller.contexts
    assert context.design == DesignSetpoints(Bounds(14.0, 18.0), 23.0, 9.0)
    assert context.bounds == site.setpoints and context.has_chiller_plant
    assert context.zone_names == ["West Hall", "East Hall"] and context.timestep_h == 0.25


# -- a site at 9 C chilled water ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nine_c_twin():
    return build_twin(_site(9.0, end_day=2))


def _chilled_water(name: str, twin, **options) -> np.ndarray:
    result = run_simulation(twin, make_controller(name, **options))
    return result.telemetry["chilled_water_setpoint_c"].to_numpy()


@pytest.mark.parametrize("name", ["default", "trim-respond", "constant"])
def test_controllers_hold_the_sites_9_c_chilled_water(nine_c_twin, name: str) -> None:
    # Before, trim-respond and the constant controller forced 7 C while the legacy control kept the site's 9 C.
    assert (_chilled_water(name, nine_c_twin) == 9.0).all()


def test_the_ais_fallback_holds_the_sites_9_c_chilled_water(nine_c_twin, tmp_path: Path) -> None:
    switch = tmp_path / "STOP-AI"
    switch.touch()  # the kill switch hands every step to the baseline rule
    assert (_chilled_water("ai", nine_c_twin, model=SHIPPED_MODEL, kill_switch=switch) == 9.0).all()


def test_the_ai_moves_the_chilled_water_from_the_sites_9_c(nine_c_twin) -> None:
    controller = make_controller("ai", model=SHIPPED_MODEL)
    water = run_simulation(nine_c_twin, controller).telemetry["chilled_water_setpoint_c"].to_numpy()
    # Its first step is the rule's (9 C); its first decision moves one rate-limited step from there.
    assert water[0] == 9.0 and 8.0 - 1e-9 <= water[1] <= 10.0 + 1e-9
    baseline = [r.baseline.chilled_water_setpoint_c for r in controller.decision_log]
    assert set(baseline) == {9.0}
