from __future__ import annotations

import copy
import dataclasses
import gc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import example_site_data

from greendc.control.registry import CONTROLLERS, make_controller
from greendc.site.schema import Site
from greendc.site.servers import it_power_fraction
from greendc.telemetry.contract import Action, ControlContext, Observation, frozen
from greendc.telemetry.sensors import FACILITY, ZONE, Derivation, Reporting
from greendc.twin.builder import build_twin
from greendc.twin.live import ExpiredObservationError
from greendc.twin.runner import EnergyPlusError, read_err, run_simulation


@dataclass
class FixedSupplyAir:
    """Hold each zone's supply air at a fixed setpoint; zone setpoints well above it."""

    supply_air_c: dict[str, float]
    name: str = "fixed"
    seen: list[Observation] = field(default_factory=list)

    def reset(self, context: ControlContext) -> Action:
        return self._action()

    def _action(self) -> Action:
        return Action(supply_air_setpoint_c=dict(self.supply_air_c),
                      zone_cooling_setpoint_c={z: 30.0 for z in self.supply_air_c})

    def act(self, observation: Observation) -> Action:
        self.seen.append(frozen(observation))
        return self._action()


@pytest.mark.parametrize("name", sorted(set(CONTROLLERS) - {"ai"}))  # ai needs a model: tests/control
def test_short_cosimulation_per_controller(short_site: Site, name: str) -> None:
    result = run_simulation(build_twin(short_site), make_controller(name))
    frame = result.telemetry
    assert len(frame) == 3 * 24 * 4
    assert (frame["time"].diff().dropna() == pd.Timedelta(minutes=15)).all()
    assert frame["time"].iloc[0] == pd.Timestamp("2001-07-01 00:15")
    ups = frame[[f"{z}/ups_power_w" for z in result.zone_names]].sum(axis=1)
    # Facility electricity is IT + UPS losses + cooling: nothing is lost or double counted.
    np.testing.assert_allclose(frame["facility_power_w"], frame["it_power_w"] + ups + frame["cooling_power_w"],
                               rtol=1e-6)
    assert (frame["it_power_w"] > 0.4 * short_site.it_design_power_w).all()
    assert "chiller_power_w" in frame and "West Hall/dx_coil_power_w" in frame
    assert result.err.fatal_messages == []


def test_runs_are_repeatable(short_site: Site) -> None:
    twin = build_twin(short_site)
    first = run_simulation(twin, make_controller("trim-respond")).telemetry
    second = run_simulation(twin, make_controller("trim-respond")).telemetry
    np.testing.assert_array_equal(first["facility_power_w"].to_numpy(), second["facility_power_w"].to_numpy())


def _zone_means(site: Site, supply: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    controller = FixedSupplyAir(supply)
    result = run_simulation(build_twin(site), controller)
    last = controller.seen[-1]
    assert sum(last.cooling_power_by_component_w.values()) == pytest.approx(last.cooling_power_w)
    assert any(name.endswith("supply_fan_power_w") for name in last.cooling_power_by_component_w)
    frame = result.telemetry.iloc[8:]  # let the first two hours settle
    inlet = {z: float(frame[f"{z}/inlet_temp_c"].mean()) for z in supply}
    it = {z: float(frame[f"{z}/it_power_w"].mean()) for z in supply}
    return inlet, it


def test_every_zone_responds_to_its_own_setpoint() -> None:
    data = example_site_data(end_day=2)
    data["zones"].append({"name": "Third Hall", "floor_area_m2": 100, "it_design_power_kw": 20,
                          "cooling_coil": "dx"})
    site = Site.model_validate(data)
    names = [zone.name for zone in site.zones]
    for setpoints in ([15.0, 19.0, 23.0], [23.0, 15.0, 19.0]):
        supply = dict(zip(names, setpoints, strict=True))
        inlet, _ = _zone_means(site, supply)
        for zone, target in supply.items():
            # Inlet = supply air plus a little recirculated exhaust (10 % at design).
            assert target <= inlet[zone] <= target + 2.0, (zone, target, inlet[zone])


def test_warmer_inlet_raises_it_power_as_documented() -> None:
    data = example_site_data(end_day=2)
    data["it_load"] = {"kind": "constant", "fraction": 1.0}
    data["zones"][1]["floor_area_m2"] = data["zones"][0]["floor_area_m2"]
    site = Site.model_validate(data)
    west, east = (zone.name for zone in site.zones)
    inlet, it = _zone_means(site, {west: 19.0, east: 29.0})
    measured = it[east] / it[west]
    curves = site.servers.model()
    expected = float(it_power_fraction(curves, 1.0, inlet[east]) / it_power_fraction(curves, 1.0, inlet[west]))
    assert measured == pytest.approx(expected, rel=0.005)
    # volume-a2 servers: roughly +3 % going from about 20 C to about 30 C inlet, not a doubling.
    assert 1.02 < measured < 1.08


def test_fatal_error_quotes_the_err_file(short_site: Site) -> None:
    twin = build_twin(short_site)
    broken = copy.deepcopy(twin.epjson)
    # Schema-valid but inconsistent: EnergyPlus finds the problem and stops with a fatal error.
    next(iter(broken["ElectricEquipment:ITE:AirCooled"].values()))["zone_or_space_name"] = "No Such Zone"
    twin.epjson = broken
    with pytest.raises(EnergyPlusError, match=r"Fatal.*NO SUCH ZONE"):
        run_simulation(twin, make_controller("default"))


def test_invalid_model_is_refused_before_anything_runs(short_site: Site, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The EnergyPlus state is built while the model is validated; a model that fails gets it deleted again,
    # and no run directory.
    from pyenergyplus.api import EnergyPlusAPI

    from greendc.twin.schema_check import ModelValidationError

    twin = build_twin(short_site)
    bad = dataclasses.replace(twin, epjson={**twin.epjson, "Coil:Cooling:Imaginary": {"x": {}}})
    created, deleted = [], []
    api = EnergyPlusAPI()
    manager = type(api.state_manager)
    new_state, delete_state = manager.new_state, manager.delete_state
    monkeypatch.setattr(manager, "new_state", lambda self: created.append(new_state(self)) or created[-1])
    monkeypatch.setattr(manager, "delete_state", lambda self, state: deleted.append(state) or delete_state(self, state))
    with pytest.raises(ModelValidationError, match="unknown object type"):
        run_simulation(bad, make_controller("default"), workdir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert len(created) == 1 and deleted == created


def test_controller_exception_is_raised_not_swallowed(short_site: Site) -> None:
    class Broken:
        name = "broken"

        def reset(self, context: ControlContext) -> Action:
            return Action()

        def act(self, observation: Observation) -> Action:
            raise ZeroDivisionError("controller bug")

    with pytest.raises(ZeroDivisionError, match="controller bug"):
        run_simulation(build_twin(short_site), Broken())


def test_a_run_freezes_what_existed_before_it_and_unfreezes_it_even_when_it_fails(short_site: Site) -> None:
    # Full collections during the run leave the process's older objects out (they cost a tenth of a second
    # each); afterwards the process's collector is as it was, whether the run finished or not.
    frozen_during: list[int] = []

    class Watching(FixedSupplyAir):
        def act(self, observation: Observation) -> Action:
            frozen_during.append(gc.get_freeze_count())
            if self.name == "failing":
                raise ZeroDivisionError("controller bug")
            return self._action()

    assert gc.get_freeze_count() == 0
    twin = build_twin(short_site)
    run_simulation(twin, Watching({z.name: 20.0 for z in short_site.zones}))
    assert gc.get_freeze_count() == 0
    with pytest.raises(ZeroDivisionError):
        run_simulation(twin, Watching({z.name: 20.0 for z in short_site.zones}, name="failing"))
    assert gc.get_freeze_count() == 0
    assert len(frozen_during) == 3 * 24 * 4 + 1 and min(frozen_during) > 10_000
    frozen_during.clear()
    run_simulation(twin, Watching({z.name: 20.0 for z in short_site.zones}), freeze_older_objects=False)
    assert max(frozen_during) == 0


def test_a_freeze_is_released_by_the_last_block_and_never_one_the_process_made_itself() -> None:
    from greendc.twin.runner import older_objects_frozen

    with older_objects_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with older_objects_frozen():  # a second run, nested or in another thread
            pass
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with older_objects_frozen():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_read_err_counts_and_quotes(tmp_path: Path) -> None:
    err = tmp_path / "eplusout.err"
    err.write_text(
        "   ** Warning ** something\n"
        "   ** Severe  ** Coil failed\n"
        "   **   ~~~   ** at 07/01 00:15\n"
        "   **  Fatal  ** Program terminated\n"
        "   ************* EnergyPlus Terminated--Fatal Error Detected. 3 Warning; 1 Severe Errors; Elapsed\n"
    )
    summary = read_err(err)
    assert summary.severe == 1
    assert summary.severe_messages == ["** Severe  ** Coil failed at 07/01 00:15"]
    assert summary.fatal_messages == ["**  Fatal  ** Program terminated"]


def test_observations_hold_every_observed_sensor_as_the_telemetry_reports_it(short_site: Site) -> None:
    # Each observed sensor of the registry, frozen during act: a zone-timestep sensor (and a sum of them) is
    # exactly the telemetry's value of the same step. (An HVAC average is not: controllers see the step's last
    # system timestep, the telemetry its mean; tests/twin/test_recorder.py checks both.)
    controller = FixedSupplyAir({zone.name: 20.0 for zone in short_site.zones})
    frame = run_simulation(build_twin(short_site), controller).telemetry
    assert len(controller.seen) == len(frame)
    exact = [s for s in ZONE if s.observed and (s.reporting is Reporting.ZONE or s.derivation)]
    assert {s.column for s in exact} >= {"inlet_temp_c", "it_power_w", "zone_cooling_setpoint_c"}
    for zone in (zone.name for zone in short_site.zones):
        for sensor in exact:
            seen = [getattr(observation.zones[zone], sensor.column) for observation in controller.seen]
            np.testing.assert_array_equal(seen, frame[sensor.of(zone)], err_msg=sensor.column)
    for sensor in FACILITY:
        if sensor.observed and (sensor.reporting is Reporting.ZONE or sensor.derivation is Derivation.SUM_OVER_ZONES):
            seen = [getattr(observation, sensor.column) for observation in controller.seen]
            np.testing.assert_allclose(seen, frame[sensor.column], rtol=1e-12, err_msg=sensor.column)


@dataclass
class KeepsLiveObservations:
    """Keeps the runner's live observations as they are; reads one zone's inlet during every other act."""

    name: str = "keeper"
    kept: list[Observation] = field(default_factory=list)
    inlets_c: list[float] = field(default_factory=list)

    def reset(self, context: ControlContext) -> Action:
        return Action()

    def act(self, observation: Observation) -> Action:
        self.kept.append(observation)
        if len(self.kept) % 2:
            self.inlets_c.append(observation.zones["West Hall"].inlet_temp_c)
        return Action()


def test_live_observations_match_telemetry_and_expire(short_site: Site) -> None:
    controller = KeepsLiveObservations()
    result = run_simulation(build_twin(short_site), controller)
    frame = result.telemetry
    # Zone-timestep sensors read live equal what EnergyPlus reports for the same step.
    np.testing.assert_allclose(controller.inlets_c, frame["West Hall/inlet_temp_c"][::2], rtol=1e-12)
    # An observation read during act keeps its own step's values, every one of them, after the run...
    read, unread = controller.kept[-2], controller.kept[-1]
    assert len(controller.kept) % 2 == 0 and read.zones["West Hall"].inlet_temp_c == controller.inlets_c[-1]
    assert read.zones["East Hall"].inlet_temp_c == frame["East Hall/inlet_temp_c"].iloc[-2]
    assert controller.kept[0].zones["West Hall"].inlet_temp_c == controller.inlets_c[0]
    # ...and one not read during act cannot be read afterwards: EnergyPlus has moved on.
    with pytest.raises(ExpiredObservationError):
        _ = unread.zones["East Hall"].inlet_temp_c
