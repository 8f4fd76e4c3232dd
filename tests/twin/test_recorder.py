"""The recorder gives, for every sensor and timestep, the value EnergyPlus itself reports."""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import greendc.twin.runner as runner_module
from greendc.control.registry import make_controller
from greendc.site.schema import Site
from greendc.twin.builder import build_twin
from greendc.twin.eso import read_timestep_variables
from greendc.twin.recorder import REPORTING, Recorder, Reporting
from greendc.twin.runner import _sensors, run_simulation, with_timestep_output


def test_recorded_telemetry_is_what_energyplus_writes_to_its_timestep_output(
        short_site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    twin = build_twin(short_site)
    sensors = _sensors(twin)
    # The same model, also asked to write every sensor to its ESO file and the variable dictionary (.rdd).
    model = with_timestep_output(twin.epjson, sensors)
    model["Output:VariableDictionary"] = {"Output:VariableDictionary 1": {"key_field": "regular"}}
    for files in model["OutputControl:Files"].values():
        files["output_rdd"] = "Yes"
    recorders: list[Recorder] = []

    class KeptRecorder(Recorder):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            recorders.append(self)

    monkeypatch.setattr(runner_module, "Recorder", KeptRecorder)
    # What controllers observe is the recorder's copy of every variable at the end of each zone timestep:
    # it must be what the API itself gives at that moment (for HVAC variables, the last system timestep's).
    differences: list[str] = []

    class CheckedSession(runner_module._Session):
        def end_timestep(self, state: object) -> None:
            if self.active:
                for index, sensor in enumerate(self.sensors):
                    from_api = self.api.exchange.get_variable_value(self.state, sensor.handle)
                    copied = self.recorder.latest[self.recorder.latest_position(index)]
                    if copied != from_api:
                        differences.append(f"step {self.steps}: {sensor.column} {copied} != {from_api}")
            super().end_timestep(state)

    monkeypatch.setattr(runner_module, "_Session", CheckedSession)
    # trim-respond moves the setpoints every step, so EnergyPlus splits some steps into system timesteps.
    result = run_simulation(dataclasses.replace(twin, epjson=model), make_controller("trim-respond"),
                            workdir=tmp_path)

    [recorder] = recorders
    steps = len(result.telemetry)
    assert steps == 3 * 24 * 4
    assert recorder.system_timesteps > steps, "no step had system timesteps: the averaging was not exercised"
    assert differences == []
    written = read_timestep_variables(tmp_path / "eplusout.eso",
                                      {s.column: (s.key, s.variable) for s in sensors}).values
    for sensor in sensors:
        np.testing.assert_allclose(result.telemetry[sensor.column].to_numpy(), written[sensor.column].to_numpy(),
                                   rtol=1e-9, atol=1e-9, err_msg=sensor.column)

    # How EnergyPlus says it reports each variable ("Var Type,Var Report Type,Name [unit]").
    reported = {}
    for line in (tmp_path / "eplusout.rdd").read_text().splitlines():
        fields = line.split(",")
        if len(fields) == 3 and fields[0] in ("Zone", "HVAC"):
            reported[fields[2].rsplit(" [", 1)[0]] = (fields[0], fields[1])
    expected = {Reporting.ZONE: ("Zone", "Average"), Reporting.HVAC_AVERAGE: ("HVAC", "Average"),
                Reporting.HVAC_SUM: ("HVAC", "Sum")}
    for sensor in sensors:
        assert reported[sensor.variable] == expected[REPORTING[sensor.variable]], sensor.variable


def _call(address: int) -> None:
    """Call a recorder callback as EnergyPlus would, here with a null state."""
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)(None)


def test_recorder_writes_nothing_before_the_run_period_or_past_its_last_row() -> None:
    # Its callbacks check first whether to record at all, so they never touch the (here null) EnergyPlus state.
    before_start = Recorder(["Zone Air Temperature", "Schedule Value"], steps=1)
    no_row_left = Recorder(["Zone Air Temperature", "Schedule Value"], steps=0)
    no_row_left.start([1, 2])
    for recorder in (before_start, no_row_left):
        _call(recorder.end_system_timestep_address)
        _call(recorder.end_zone_timestep_address)
        assert recorder.recorded_steps == 0
        assert recorder.system_timesteps == 0
        assert recorder.values().shape == (0, 2)


def test_a_variable_without_known_reporting_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="Zone Mean Air Temperature"):
        Recorder(["Zone Air Temperature", "Zone Mean Air Temperature"], steps=1)


def test_a_finished_run_leaves_no_recorder_behind(short_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each recorder holds its compiled callbacks and the run's whole table; a process that runs many
    # simulations (Gymnasium episodes, in-process benchmarks) must get them back.
    alive: weakref.WeakSet[Recorder] = weakref.WeakSet()

    class TrackedRecorder(Recorder):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            alive.add(self)

    monkeypatch.setattr(runner_module, "Recorder", TrackedRecorder)
    site = Site.model_validate({**short_site.model_dump(), "simulation": {
        **short_site.simulation.model_dump(), "end_day": short_site.simulation.begin_day}})
    for _ in range(2):
        run_simulation(build_twin(site), make_controller("default"))
    gc.collect()
    assert len(alive) == 0


def test_recorders_made_side_by_side_each_get_their_own_callbacks() -> None:
    # Simulations in threads of one process (the Gymnasium wrapper runs EnergyPlus in one) each compile a
    # recorder; they must not share the tables their callbacks write to.
    with ThreadPoolExecutor(max_workers=4) as pool:
        recorders = list(pool.map(lambda steps: Recorder(["Zone Air Temperature"], steps=steps), range(1, 9)))
    assert len({recorder.end_zone_timestep_address for recorder in recorders}) == len(recorders)
    assert [recorder.steps for recorder in recorders] == list(range(1, 9))
