"""Sensor faults as a feature: the faults file, every kind on hand-made observations, and twin runs that show
the controller saw the faults while the recorded telemetry stayed true."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from greendc.cli.main import app
from greendc.control.baselines import DefaultController
from greendc.errors import UsageError
from greendc.site.schema import Bounds, Setpoints, Site
from greendc.telemetry.contract import Action, ControlContext, DesignSetpoints, Observation, ZoneObservation
from greendc.telemetry.faults import (
    FaultInjectingController,
    FaultsFileError,
    SensorFault,
    check_fault_zones,
    load_faults,
)
from greendc.telemetry.sensors import FACILITY, ZONE
from greendc.twin.builder import build_twin
from greendc.twin.runner import run_simulation
from greendc.workflows.simulation import SimulationJob, simulate, simulate_many
from tests.conftest import example_site_data

ZONES = ["West Hall", "East Hall"]
CONTEXT = ControlContext(zone_names=ZONES, bounds=Setpoints(), has_chiller_plant=True, timestep_h=0.25,
                         design=DesignSetpoints(Bounds(12.0, 18.0), zone_cooling_c=23.0, chilled_water_c=7.0))
WEST_INLET = ZONE.inlet_temp_c.of("West Hall")
DRY_BULB = FACILITY.outdoor_dry_bulb_c.column
runner = CliRunner()


def _observation(day: int, hour: int, minute: int, inlet_c: float = 22.0, dry_bulb_c: float = 29.0) -> Observation:
    """July ``day``, the step ending at ``hour``:``minute`` (minute 60: the full hour); the inlet and outdoor dry
    bulb as given, East Hall's inlet 1 K warmer so that the zones can be told apart."""
    def zone(inlet: float) -> ZoneObservation:
        return ZoneObservation(it_power_w=38_000.0, zone_air_temp_c=28.0, inlet_temp_c=inlet, inlet_dew_point_c=10.0,
                               inlet_relative_humidity_pct=45.0, supply_air_temp_c=21.0, supply_air_setpoint_c=21.0,
                               zone_cooling_setpoint_c=28.0, supply_fan_power_w=1800.0)
    return Observation(month=7, day=day, hour=hour, minute=minute, outdoor_dry_bulb_c=dry_bulb_c,
                       outdoor_wet_bulb_c=21.0, outdoor_relative_humidity_pct=50.0, outdoor_dew_point_c=17.0,
                       zones={"West Hall": zone(inlet_c), "East Hall": zone(inlet_c + 1.0)}, it_power_w=76_000.0,
                       cooling_power_w=9_000.0, facility_power_w=89_000.0, chilled_water_setpoint_c=7.0)


@dataclass
class Seen:
    """Keeps every observation it is handed."""

    name: str = "seen"
    observations: list[Observation] = field(default_factory=list)
    decision_log: list[str] = field(default_factory=lambda: ["a decision"])

    def reset(self, context: ControlContext) -> Action:
        return Action()

    def act(self, observation: Observation) -> Action:
        self.observations.append(observation)
        return Action()


def _fault(**entry) -> SensorFault:
    return SensorFault.model_validate({"sensor": WEST_INLET, "start": "07-05 00:00", "hours": 12, **entry})


def _seen(faults: list[SensorFault], steps: list[Observation]) -> list[Observation]:
    inner = Seen()
    controller = FaultInjectingController(inner, faults)
    controller.reset(CONTEXT)
    for observation in steps:
        controller.act(observation)
    return inner.observations


def _west(observations: list[Observation]) -> list[float | None]:
    return [observation.zones["West Hall"].inlet_temp_c for observation in observations]


def test_nan_and_none_apply_within_the_window_only() -> None:
    # The reading at 07-05 00:00 (the step of 07-04 23:00-24:00) is the fault's first; the one at its end is true.
    steps = [_observation(4, 23, 45), _observation(4, 23, 60), _observation(5, 11, 45), _observation(5, 12, 0)]
    seen = _seen([_fault(kind="nan")], steps)
    assert _west(seen)[0] == 22.0 and math.isnan(_west(seen)[1]) and math.isnan(_west(seen)[2])
    assert _west(seen)[3] == 22.0
    assert seen[1].zones["East Hall"].inlet_temp_c == 23.0  # the other zone, and other sensors, stay true
    assert seen[1].zones["West Hall"].supply_air_temp_c == 21.0 and seen[1].outdoor_dry_bulb_c == 29.0
    assert _west(_seen([_fault(kind="none")], steps)) == [22.0, None, None, 22.0]


def test_outside_every_window_the_controller_gets_the_observation_itself() -> None:
    step = _observation(4, 12, 0)
    [seen] = _seen([_fault(kind="nan")], [step])
    assert seen is step


def test_stuck_holds_the_first_faulted_reading() -> None:
    steps = [_observation(5, 0, 15, inlet_c=22.0), _observation(5, 0, 30, inlet_c=24.0),
             _observation(5, 11, 45, inlet_c=26.0), _observation(5, 12, 15, inlet_c=26.5)]
    assert _west(_seen([_fault(kind="stuck")], steps)) == [22.0, 22.0, 22.0, 26.5]


def test_offset_adds_its_value() -> None:
    seen = _seen([_fault(kind="offset", value_k=-10.0)], [_observation(5, 3, 0, inlet_c=25.0)])
    assert _west(seen) == [15.0]


def test_spike_adds_for_its_hours_every_period_from_the_start() -> None:
    spike = _fault(kind="spike", value_k=15.0, every_hours=6, for_hours=1)
    times = [(4, 23, 60), (5, 0, 45), (5, 1, 0), (5, 5, 45), (5, 6, 0), (5, 6, 45), (5, 7, 0)]
    seen = _seen([spike], [_observation(*time, inlet_c=20.0) for time in times])
    assert _west(seen) == [35.0, 35.0, 20.0, 20.0, 35.0, 35.0, 20.0]


def test_stale_updates_only_every_period() -> None:
    stale = SensorFault(sensor=DRY_BULB, kind="stale", every_hours=3, start="07-05 00:00", hours=12)
    times = [(5, 0, 15), (5, 1, 30), (5, 2, 45), (5, 3, 0), (5, 3, 15), (5, 5, 0), (5, 6, 15)]
    dry_bulbs = [20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0]
    seen = _seen([stale], [_observation(*t, dry_bulb_c=c) for t, c in zip(times, dry_bulbs, strict=True)])
    assert [observation.outdoor_dry_bulb_c for observation in seen] == [20.0, 20.0, 20.0, 23.0, 23.0, 23.0, 26.0]
    assert _west(seen) == [22.0] * len(times)  # a facility fault leaves the zones alone
    assert SensorFault(sensor=DRY_BULB, kind="stale", start="07-05 00:00", hours=1).stale_every_hours == 1.0


def test_a_whole_zone_and_faults_in_file_order() -> None:
    everything = SensorFault(sensor="East Hall/*", kind="nan", start="07-05 00:00", hours=1)
    [seen] = _seen([everything], [_observation(5, 0, 30)])
    assert all(math.isnan(value) for value in seen.zones["East Hall"])
    assert seen.zones["West Hall"] == _observation(5, 0, 30).zones["West Hall"]
    # An offset and then a stuck reading: the stuck one holds the offset value.
    steps = [_observation(5, 0, 15, inlet_c=22.0), _observation(5, 0, 30, inlet_c=25.0)]
    assert _west(_seen([_fault(kind="offset", value_k=2.0), _fault(kind="stuck")], steps)) == [24.0, 24.0]


def test_the_wrapper_is_the_inner_controller_to_the_runner() -> None:
    inner = Seen()
    controller = FaultInjectingController(inner, [_fault(kind="nan")])
    assert controller.name == "seen" and controller.decision_log == ["a decision"]
    assert FaultInjectingController(DefaultController(), [_fault(kind="nan")]).decision_log is None
    with pytest.raises(UsageError, match=r"faults\[1\]\.sensor: the site has no zone 'North Hall'; its zones are "
                                         r"West Hall, East Hall"):
        FaultInjectingController(inner, [_fault(kind="nan"), _fault(kind="nan", sensor="North Hall/*")]).reset(CONTEXT)


def test_description() -> None:
    assert _fault(kind="offset", value_k=-10, hours=48).describe() == f"{WEST_INLET} offset -10 K 07-05 00:00 for 48 h"
    assert _fault(kind="spike", value_k=15, every_hours=6, for_hours=1).describe() == (
        f"{WEST_INLET} spike +15 K for 1 h every 6 h 07-05 00:00 for 12 h")


def _faults_file(tmp_path: Path, *entries: dict, **top) -> Path:
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump({"faults": [{"sensor": WEST_INLET, "start": "07-05 00:00", "hours": 48, **entry}
                                               for entry in entries], **top}))
    return path


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"kind": "nan", "colour": "red"}, r"faults\[1\]\.colour: unknown key"),
        ({"kind": "drift"}, r"faults\[1\]\.kind: Input should be 'nan', 'none', 'stuck', 'offset', 'spike' or "
                            r"'stale' \(got 'drift'\)"),
        ({"kind": "offset"}, r"faults\[1\]\.value_k: required for kind offset"),
        ({"kind": "nan", "value_k": 3}, r"faults\[1\]\.value_k: means nothing for kind nan"),
        ({"kind": "nan", "start": "13-40 25:00"}, r"faults\[1\]\.start: not a date and time of the run calendar"),
        ({"kind": "nan", "start": "7/5 0:00"}, r"faults\[1\]\.start: must be \"MM-DD HH:MM\""),
        ({"kind": "nan", "sensor": "West Hall/inlet_temperature"},
         r"faults\[1\]\.sensor: 'inlet_temperature' is not an observed zone sensor"),
        ({"kind": "nan", "sensor": "inlet_temp_c"},
         r"faults\[1\]\.sensor: 'inlet_temp_c' is a zone sensor: write 'Zone Name/inlet_temp_c'"),
        ({"kind": "nan", "hours": 0}, r"faults\[1\]\.hours: Input should be greater than 0"),
        ({"kind": "spike", "value_k": 15, "every_hours": 6}, r"faults\[1\]\.for_hours: required for kind spike"),
        ({"kind": "spike", "value_k": 15, "every_hours": 6, "for_hours": 6}, r"for_hours: must be less than"),
        ({"kind": "stuck", "every_hours": 6}, r"faults\[1\]\.every_hours: means nothing for kind stuck"),
    ],
)
def test_a_bad_faults_file_is_one_error_naming_the_entry(tmp_path: Path, entry: dict, expected: str) -> None:
    path = _faults_file(tmp_path, {"kind": "nan"}, entry)
    with pytest.raises(FaultsFileError, match=expected) as raised:
        load_faults(path)
    assert str(raised.value).startswith(f"{path}: ") and "\n" not in str(raised.value)


def test_a_good_faults_file_and_the_file_level_errors(tmp_path: Path) -> None:
    faults = load_faults(_faults_file(tmp_path, {"kind": "offset", "value_k": -10}, {"kind": "nan",
                                                                                     "sensor": "East Hall/*"}))
    assert [fault.kind for fault in faults] == ["offset", "nan"] and faults[1].zone == "East Hall"
    check_fault_zones(faults, ZONES)
    with pytest.raises(FaultsFileError, match="mode: unknown key"):
        load_faults(_faults_file(tmp_path, {"kind": "nan"}, mode="all"))
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(FaultsFileError, match="must be a YAML mapping"):
        load_faults(tmp_path / "list.yaml")
    with pytest.raises(FaultsFileError, match="faults file not found"):
        load_faults(tmp_path / "absent.yaml")


# -- twin runs --------------------------------------------------------------------------------------------

def _two_july_days() -> Site:
    return Site.model_validate(example_site_data(end_day=2))


def test_the_recorded_telemetry_stays_true_under_faults() -> None:
    """The legacy control ignores what it observes; with faults on everything it sees the record is unchanged."""
    site = _two_july_days()
    faults = [SensorFault(sensor=WEST_INLET, kind="offset", value_k=-10, start="07-01 12:00", hours=24),
              SensorFault(sensor="East Hall/*", kind="none", start="07-01 06:00", hours=12),
              SensorFault(sensor=DRY_BULB, kind="stuck", start="07-01 00:00", hours=48)]
    true = run_simulation(build_twin(site), DefaultController()).telemetry
    faulted = run_simulation(build_twin(site), FaultInjectingController(DefaultController(), faults)).telemetry
    pd.testing.assert_frame_equal(faulted, true)


def test_simulate_with_faults_drives_trim_respond_by_what_it_sees(tmp_path: Path) -> None:
    """``greendc simulate --faults``: trim-respond sees West Hall's inlet 10 K too warm for a day and cools
    harder; the telemetry records the true inlet and the supply-air setpoint the rule chose."""
    site = _two_july_days()
    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump(example_site_data(end_day=2)))
    faults_file = tmp_path / "faults.yaml"
    faults_file.write_text(yaml.safe_dump({"faults": [{"sensor": WEST_INLET, "kind": "offset", "value_k": 10,
                                                       "start": "07-01 12:00", "hours": 24}]}))
    out = tmp_path / "run"
    result = runner.invoke(app, ["simulate", str(site_file), "--controller", "trim-respond", "--faults",
                                 str(faults_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{WEST_INLET} offset +10 K 07-01 12:00 for 24 h" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["faults"] == [f"{WEST_INLET} offset +10 K 07-01 12:00 for 24 h"]
    faulted = pd.read_parquet(out / "telemetry.parquet").set_index("time")
    true = simulate(site, None, "trim-respond").result.telemetry.set_index("time")
    supply = ZONE.supply_air_setpoint_c.of("West Hall")
    before = faulted.index < pd.Timestamp("2001-07-01 12:15")  # the first action under the fault acts after it
    pd.testing.assert_series_equal(faulted.loc[before, supply], true.loc[before, supply])
    window = (faulted.index >= pd.Timestamp("2001-07-01 13:00")) & (faulted.index < pd.Timestamp("2001-07-02 12:00"))
    # The rule responds to the phantom requests: its supply air sits well below the true run's.
    assert (faulted.loc[window, supply] < true.loc[window, supply] - 1.0).mean() > 0.9
    # The record holds the true inlet: nowhere near the 10 K the controller was shown on top.
    assert faulted.loc[window, WEST_INLET].max() < 27.0


def test_cli_refuses_a_bad_faults_file_before_any_run(short_site_file: Path, tmp_path: Path) -> None:
    bad = _faults_file(tmp_path, {"kind": "offset"})
    result = runner.invoke(app, ["simulate", str(short_site_file), "--faults", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "faults[0].value_k: required for kind offset" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    elsewhere = _faults_file(tmp_path, {"kind": "nan", "sensor": "North Hall/inlet_temp_c"})
    result = runner.invoke(app, ["bench", "--site", str(short_site_file), "--faults", str(elsewhere), "--climates",
                                 "chicago", "--controllers", "default", "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 2
    assert "faults[0].sensor: the site has no zone 'North Hall'; its zones are West Hall, East Hall" in result.output
    assert not (tmp_path / "b.json").exists()


def test_simulate_many_checks_the_zones_before_any_run(short_site: Site) -> None:
    job = SimulationJob(short_site, None, "default", faults=(_fault(kind="nan", sensor="Attic/*"),))
    with pytest.raises(UsageError, match=r"faults\[0\]\.sensor: the site has no zone 'Attic'"):
        simulate_many([job], isolated=False)
