"""A measured proposal for the co-simulation runner's hot path (``src/greendc/twin/runner.py``).

``bench/speed.py`` finds the Python loop well above 1.5x a bare EnergyPlus run. This script applies the
changes proposed for ``greendc.twin.runner._Session`` at run time (monkeypatching; the runner's file is not
edited here), checks that the telemetry is identical to the unpatched runner's, and times both:

1. ``_observe_and_act``: read the sensors through the raw ctypes function
   ``api.exchange.api.getVariableValue`` with a handle list made once in ``_init_handles``, instead of
   ``DataExchange.get_variable_value`` (its per-call ``is_number`` check costs more than the read itself);
   the calendar through ``api.exchange.api.month/dayOfMonth/hour/zoneTimeStepNum``.
2. ``_apply_schedules`` / ``_apply_supply_air``: raw ``setActuatorValue`` / ``getVariableValue`` likewise
   (``_apply_supply_air`` runs at every HVAC iteration when a controller sets the supply air).
3. ``_in_run_period``: decide once per zone timestep in ``begin_timestep`` (warm-up flag and kind of
   simulation do not change within a timestep) instead of two API calls in each of the callbacks.
4. ``_observation``: index lists made once instead of ``dict(zip(columns, row))`` and f-string keys every
   timestep; with ``--lazy``, an observation object that builds zone observations only when a controller
   reads them (the ``default`` controller reads nothing).
5. ``telemetry``: timestamps built with vectorised pandas instead of one ``pd.Timestamp`` per row.

Usage::

    python bench/runner_hotpath.py                # default and trim-respond, 1 repeat
    python bench/runner_hotpath.py --lazy --repeats 3
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "examples" / "sites" / "two-hall-chicago.yaml"
ZONE_FIELDS = ("zone_air_temp_c", "inlet_temp_c", "inlet_dew_point_c", "inlet_relative_humidity_pct",
               "supply_air_temp_c", "supply_air_setpoint_c", "zone_cooling_setpoint_c", "supply_fan_power_w")


def patch_runner(lazy: bool) -> None:
    """Replace the hot-path methods of greendc.twin.runner._Session with the proposed versions."""
    import numpy as np
    import pandas as pd

    import greendc.twin.runner as runner
    from greendc.control.base import Observation, ZoneObservation

    session = runner._Session
    original_init_handles = session._init_handles

    def _init_handles(self: Any) -> bool:
        if not original_init_handles(self):
            return False
        raw = self.api.exchange.api
        self._get, self._set = raw.getVariableValue, raw.setActuatorValue
        self._calendar = (raw.month, raw.dayOfMonth, raw.hour, raw.zoneTimeStepNum)
        self._warmup, self._kind = raw.warmupFlag, raw.kindOfSim
        self._handles = [sensor.handle for sensor in self.sensors]
        index = {column: i for i, column in enumerate(self.columns)}
        self._zone_index = [(zone, index[f"{zone}/it_cpu_power_w"], index[f"{zone}/it_fan_power_w"],
                             [index[f"{zone}/{name}"] for name in ZONE_FIELDS]) for zone in self.zone_names]
        self._site_index = [index[c] for c in ("outdoor_dry_bulb_c", "outdoor_wet_bulb_c",
                                               "outdoor_relative_humidity_pct", "outdoor_dew_point_c",
                                               "facility_power_w")]
        self._water_index = index.get("chilled_water_setpoint_c")
        self._cooling = [(self.columns[i], i) for i in self.cooling_index]
        return True

    def begin_timestep(self: Any, state: Any) -> None:
        if self.failed is not None:
            return
        try:
            self._active = (self.ready or self._init_handles()) and not self._warmup(self.state) \
                and self._kind(self.state) == runner.RUN_PERIOD_WEATHER
        except BaseException as error:  # as _guard: never unwind through the C library
            self.failed = error
            self.api.runtime.stop_simulation(self.state)
            return
        self._guard(self._apply_schedules)

    def _in_run_period(self: Any) -> bool:
        return getattr(self, "_active", False)

    def _apply_schedules(self: Any) -> None:
        if not self._in_run_period():
            return
        action, state, set_value = self.action, self.state, self._set
        if action.zone_cooling_setpoint_c is not None:
            for zone, value in action.zone_cooling_setpoint_c.items():
                set_value(state, self.cooling_setpoint_handles[zone], value)
        if action.chilled_water_setpoint_c is not None and self.chilled_water_handle >= 0:
            set_value(state, self.chilled_water_handle, action.chilled_water_setpoint_c)

    def _apply_supply_air(self: Any) -> None:
        supply = self.action.supply_air_setpoint_c
        if supply is None or not self._in_run_period():
            return
        state, set_value, get = self.state, self._set, self._get
        for zone, value in supply.items():
            for handle in self.node_handles[zone]:
                set_value(state, handle, value)
            mixed, fan_out = self.node_temp_handles[zone]
            set_value(state, self.mixed_air_handles[zone], value - max(0.0, get(state, fan_out) - get(state, mixed)))

    def _observe_and_act(self: Any) -> None:
        if not self._in_run_period():
            return
        state, get = self.state, self._get
        row = [get(state, handle) for handle in self._handles]
        month, day, hour, step = self._calendar
        month, day, hour = month(state), day(state), hour(state)
        minute = step(state) * self.minutes_per_step
        self.rows.append(row)
        self.times.append((month, day, hour, minute))
        self.action = self.controller.act(self._observation(row, month, day, hour, minute)).clipped(
            self.twin.site.setpoints)
        if self.progress is not None and minute == 60 and hour == 23:
            done = (self.api.exchange.day_of_year(state) - self.first_day + 1) / self.n_days
            self.progress(min(1.0, max(0.0, done)))

    def _zones(self: Any, row: list[float]) -> tuple[dict[str, Any], float]:
        zones, it_total = {}, 0.0
        for zone, cpu, fan, fields in self._zone_index:
            it_power = row[cpu] + row[fan]
            it_total += it_power
            zones[zone] = ZoneObservation(it_power, *[row[i] for i in fields])
        return zones, it_total

    def _full(self: Any, row: list[float], month: int, day: int, hour: int, minute: int) -> Any:
        zones, it_total = _zones(self, row)
        dry, wet, humidity, dew, facility = (row[i] for i in self._site_index)
        cooling = {column: row[i] for column, i in self._cooling}
        return Observation(month=month, day=day, hour=hour, minute=minute, outdoor_dry_bulb_c=dry,
                           outdoor_wet_bulb_c=wet, outdoor_relative_humidity_pct=humidity, outdoor_dew_point_c=dew,
                           zones=zones, it_power_w=it_total, cooling_power_w=float(sum(cooling.values())),
                           cooling_power_by_component_w=cooling, facility_power_w=facility,
                           chilled_water_setpoint_c=None if self._water_index is None else row[self._water_index])

    class LazyObservation:
        """Duck-typed Observation: zone observations are built on first access, the rest on demand."""

        __slots__ = ("_row", "_s", "_zones", "day", "hour", "minute", "month")

        def __init__(self, s: Any, row: list[float], month: int, day: int, hour: int, minute: int) -> None:
            self._s, self._row, self._zones = s, row, None
            self.month, self.day, self.hour, self.minute = month, day, hour, minute

        @property
        def zones(self) -> dict[str, Any]:
            if self._zones is None:
                self._zones = _zones(self._s, self._row)[0]
            return self._zones

        def __getattr__(self, name: str) -> Any:  # anything else: build the full observation
            return getattr(_full(self._s, self._row, self.month, self.day, self.hour, self.minute), name)

    def _observation(self: Any, row: list[float], month: int, day: int, hour: int, minute: int) -> Any:
        if lazy:
            return LazyObservation(self, row, month, day, hour, minute)
        return _full(self, row, month, day, hour, minute)

    def telemetry(self: Any) -> pd.DataFrame:
        frame = pd.DataFrame(np.asarray(self.rows, dtype=float).reshape(len(self.rows), len(self.columns)),
                             columns=self.columns)
        times = np.asarray(self.times, dtype=np.int64).reshape(-1, 4)
        days = pd.to_datetime(pd.DataFrame({"year": 2001, "month": times[:, 0], "day": times[:, 1]}))
        frame.insert(0, "time", pd.DatetimeIndex(days + pd.to_timedelta(times[:, 2] * 60 + times[:, 3], unit="min")))
        for zone in self.zone_names:
            frame[f"{zone}/it_power_w"] = frame[f"{zone}/it_cpu_power_w"] + frame[f"{zone}/it_fan_power_w"]
        frame["it_power_w"] = frame[[f"{z}/it_power_w" for z in self.zone_names]].sum(axis=1)
        frame["cooling_power_w"] = frame[runner.cooling_power_columns(self.columns)].sum(axis=1)
        return frame

    for name, function in (("_init_handles", _init_handles), ("begin_timestep", begin_timestep),
                           ("_in_run_period", _in_run_period), ("_apply_schedules", _apply_schedules),
                           ("_apply_supply_air", _apply_supply_air), ("_observe_and_act", _observe_and_act),
                           ("_observation", _observation), ("telemetry", telemetry)):
        setattr(session, name, function)


def timed(mode: str, controller: str, lazy: bool, telemetry_path: str | None) -> dict[str, Any]:
    from greendc.site.loader import load_site
    from greendc.twin.builder import build_twin
    from greendc.twin.runner import run_bare, run_simulation

    try:
        from greendc.control.registry import make_controller
    except ImportError:  # older layout
        from greendc.control.baselines import make_controller
    if mode == "patched":
        patch_runner(lazy)
    site, site_dir = load_site(SITE)
    twin = build_twin(site, site_dir)
    with tempfile.TemporaryDirectory(prefix="greendc-hotpath-") as workdir:
        start = time.perf_counter()
        if mode == "bare":
            run_bare(twin, Path(workdir))
        else:
            result = run_simulation(twin, make_controller(controller), workdir=Path(workdir))
        wall = time.perf_counter() - start
    if mode != "bare" and telemetry_path:
        result.telemetry.to_parquet(telemetry_path)
    return {"mode": mode, "controller": controller, "wall_s": wall}


def _fresh(*args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(timed, *args).result()


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--controllers", default="default,trim-respond")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--lazy", action="store_true", help="also build observations lazily (change 4b)")
    parser.add_argument("--out", type=Path, default=None, help="also write the medians as JSON")
    args = parser.parse_args(argv)
    controllers = [c.strip() for c in args.controllers.split(",") if c.strip()]
    walls: dict[tuple[str, str], list[float]] = {}
    identical = True
    with tempfile.TemporaryDirectory(prefix="greendc-hotpath-") as scratch:
        for _ in range(args.repeats):
            walls.setdefault(("bare", "-"), []).append(_fresh("bare", "-", args.lazy, None)["wall_s"])
            for controller in controllers:
                paths = {}
                for mode in ("runner", "patched"):
                    paths[mode] = str(Path(scratch) / f"{mode}-{controller}.parquet")
                    record = _fresh(mode, controller, args.lazy, paths[mode])
                    walls.setdefault((mode, controller), []).append(record["wall_s"])
                    print(f"  {mode:8s} {controller:13s} {record['wall_s']:6.1f} s", file=sys.stderr, flush=True)
                same = pd.read_parquet(paths["runner"]).equals(pd.read_parquet(paths["patched"]))
                identical &= same
                if not same:
                    print(f"  telemetry of {controller} differs between runner and patched!", file=sys.stderr)
    bare = statistics.median(walls[("bare", "-")])
    print(f"{'run':26s} {'median s':>9s} {'ratio to bare':>14s}")
    for (mode, controller), values in walls.items():
        median = statistics.median(values)
        label = "bare" if mode == "bare" else f"{mode} {controller}"
        print(f"{label:26s} {median:9.1f} {median / bare:14.2f}")
    print("telemetry identical: " + ("yes" if identical else "NO"))
    if args.out:
        import json
        from datetime import UTC, datetime

        medians = {("bare" if m == "bare" else f"{m} {c}"): statistics.median(v) for (m, c), v in walls.items()}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "benchmark": "bench/runner_hotpath.py", "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "lazy": args.lazy, "repeats": args.repeats, "median_wall_s": medians,
            "ratio_to_bare": {k: v / bare for k, v in medians.items()}, "telemetry_identical": identical,
            "runs_s": {("bare" if m == "bare" else f"{m} {c}"): v for (m, c), v in walls.items()},
        }, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
