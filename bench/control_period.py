"""What the ai's control period trades: hourly decisions (the default) against decisions every two hours.

Issue 3 asks for an annual closed-loop ai run of at most twice a bare EnergyPlus run. With hourly decisions
the ai is at about 2.1-2.2x (bench/README.md, section 5); deciding every two hours halves the decisions. This
script measures both sides of that trade on the example site with the shipped model:

* ``--quality``: annual runs at ``decide_every_steps`` 4 (hourly) and 8 (two-hourly) in every shipped climate
  and the heat-wave year (Dulles +3 K dry bulb, +2 K dew point), for both objectives, two runs at a time:
  facility, cooling and IT electricity, steps above 27 C, humid steps, decisions;
* ``--speed N``: N interleaved repeats of the bare binary and of annual Chicago ai runs at both periods, each
  run alone in a fresh process, timed like ``bench/speed.py``.

Usage::

    python bench/control_period.py --quality --speed 3    # JSON to bench/results/control-period.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # the benchmark next to this one

PERIODS = (4, 8)
CLIMATES = ("chicago", "dulles", "tampa", "golden", "san-francisco")
DEFAULT_OUT = speed.REPO / "bench" / "results" / "control-period.json"


def _ai_run(weather: str | None, objective: str, every: int) -> tuple[Any, Any, float]:
    from greendc.control.registry import make_controller
    from greendc.twin.runner import run_simulation

    twin = speed._twin(str(speed.DEFAULT_SITE), weather)
    start = time.perf_counter()
    controller = make_controller("ai", model=speed.SHIPPED_MODEL, decide_every_steps=every, objective=objective)
    result = run_simulation(twin, controller)
    return twin, (result, controller), time.perf_counter() - start


def quality(job: tuple[str, str, str, int]) -> dict[str, Any]:
    """One annual ai run's energy, violations and decisions."""
    from greendc.results.summary import summarize

    climate, weather, objective, every = job
    twin, (result, controller), wall = _ai_run(weather, objective, every)
    summary = summarize(result.telemetry, [zone.names.zone for zone in twin.zones], result.timestep_h)
    return {"climate": climate, "objective": objective, "decide_every_steps": every,
            "decisions": sum(1 for record in controller.decision_log if record.guard == "none"),
            "wall_s_two_at_a_time": round(wall, 1),
            **{key: getattr(summary, key) for key in ("it_kwh", "cooling_kwh", "facility_kwh", "pue",
                                                      "steps_above_27c", "steps_humid")}}


def timed(mode: str) -> float:
    """Wall seconds of one annual Chicago run: ``bare`` or ``ai@<decide_every_steps>``."""
    if mode == "bare":
        from greendc.twin.runner import run_bare

        twin = speed._twin(str(speed.DEFAULT_SITE), None)
        with tempfile.TemporaryDirectory(prefix="greendc-period-") as workdir:
            return run_bare(twin, Path(workdir))
    return _ai_run(None, "facility", int(mode.split("@")[1]))[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--speed", type=int, default=0, metavar="REPEATS")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"when": datetime.now(UTC).isoformat(timespec="seconds")}
    if args.quality:
        from greendc.site.weather import resolve_weather, shifted_weather

        with tempfile.TemporaryDirectory(prefix="greendc-period-") as folder:
            heat_wave = shifted_weather(resolve_weather("dulles"), Path(folder) / "dulles-heatwave.epw")
            weathers = [(name, str(resolve_weather(name))) for name in CLIMATES]
            weathers.append(("dulles-heatwave", str(heat_wave)))
            jobs = [(climate, weather, objective, every) for objective in ("facility", "cooling")
                    for climate, weather in weathers for every in PERIODS]
            with ProcessPoolExecutor(2) as pool:
                report["quality"] = []
                for record in pool.map(quality, jobs):
                    report["quality"].append(record)
                    print(json.dumps(record), flush=True)
    if args.speed:
        modes = ["bare", *[f"ai@{every}" for every in PERIODS]]
        walls: dict[str, list[float]] = {mode: [] for mode in modes}
        for repeat in range(args.speed):
            for mode in modes:
                walls[mode].append(speed._fresh_process(timed, mode))
                print(f"repeat {repeat + 1}: {mode:6s} {walls[mode][-1]:6.1f} s", flush=True)
        bare = statistics.median(walls["bare"])
        report["speed"] = {mode: {"runs_s": [round(w, 2) for w in runs], "median_s": round(statistics.median(runs), 2),
                                  "ratio_to_bare": round(statistics.median(runs) / bare, 3)}
                           for mode, runs in walls.items()}
        for mode, figures in report["speed"].items():
            print(f"{mode:6s} median {figures['median_s']:6.2f} s, {figures['ratio_to_bare']:.2f}x bare")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
