"""Library before hand-written code (issue 15, item 9): which predictor should the ai's search use?

``greendc.learning.trees`` re-implements LightGBM's model reader and predictor (flat arrays walked by numba,
``walk_together`` walking each tree once per candidate batch) and ``greendc.control.search`` runs the whole
setpoint search compiled on top of it. This script measures well-kept libraries for the same job on the
exact model-input batches of every decision of an annual closed-loop ai run of the example site:

1. **Record.** It runs the annual ai simulation in this process (``examples/sites/two-hall-chicago.yaml``
   with the shipped model, as ``greendc simulate ... --controller ai`` does) with
   ``greendc.control.ai.search_setpoints`` wrapped (in this process only, nothing in ``src/`` changes) so
   that every decision's arguments (state row, setpoints, humid-air floors) and result (chosen row, number
   of candidates) are kept. With ``--compare-with DIR/decisions.parquet`` of a ``greendc simulate`` run it
   checks that the recording run made the same decisions (every column but ``decision_ms``).
2. **Rebuild the batches.** For each decision it rebuilds, with the search's own compiled pieces
   (``candidate_rows``, ``resolve``, ``evaluate_rows``, ``cheapest_row``, ``_spread``), the batches the
   compiled search evaluates: the baseline rule's row (quantile models), phase 1 (81 grid rows and the
   baseline's, mean models), phase 2 (the phase-1 choice and each zone's supply air alone at 9 steps: 19
   rows, mean models) and the chosen row (quantile models). It checks that the rebuilt search chooses the
   row the compiled search chose, with as many candidates, in every decision.
3. **Time the predictors**, decision by decision, the predictors in turn (their order rotated from one
   decision to the next, so that background load hits all alike), the whole set ``--repeats`` times:

   * ``greendc``: the current compiled path as the search uses it, in one compiled call: ``resolve`` of the
     four mean models on the state, ``walk_together`` on phase 1 and on phase 2, ``walk`` of the four
     quantile models on the baseline's and the chosen row;
   * ``lightgbm``: ``Booster.predict(batch, num_threads=1)`` of every booster the search needs: the four
     mean boosters (cooling power, IT power, each zone's inlet) on phase 1 and on phase 2, the four quantile
     boosters (each zone's 10 % and 90 % inlet) on the baseline's and on the chosen row: 16 calls (one
     booster per target, one call per booster and batch). One thread, as the search runs on one and
     ``greendc bench`` runs two simulations on the two cores (in a trial run, LightGBM on its default two
     threads made every predictor timed in the same process several times slower, itself included);
   * ``lleaves``: each booster compiled once with ``lleaves.Model(...).compile()`` (its defaults, fp64; the
     compile time is reported), then ``predict(batch, n_jobs=1)``, the same 16 calls. lleaves 1.3.0 (its
     current release) needs llvmlite's legacy pass manager, which llvmlite 0.45 removed, and the numba that
     greendc installs needs a newer llvmlite; so where it does not run here, ``--lleaves-python`` names a
     Python where it does, and each repeat runs it there, in a fresh process on the same batches,
     interleaved with LightGBM again (rows ``lleaves (worker)``, ``lightgbm (worker)``);
   * ``treelite``: treelite 4.x has no compiled runtime any more (``treelite_runtime`` is gone); its
     predictor is GTIL, ``treelite.gtil.predict(model, batch, nthread=1)`` on each booster imported with
     ``treelite.frontend.from_lightgbm``, the same 16 calls;
   * ``search``: the whole compiled ``search_setpoints`` call on the recorded arguments (predictor and the
     search's own arithmetic); ``search`` less ``greendc``, decision by decision, is the search's own
     arithmetic, which comes on top of any predictor. For a library whose median is under the 1 ms limit
     the whole decision is estimated as its time plus that arithmetic, decision by decision.

   Each predictor's outputs are compared with LightGBM's (``num_threads=1``, same process) for every batch of
   every decision of the first repeat; the largest absolute and relative differences are reported.

What the times include: the predictor calls on prepared float64 C-contiguous batches with each library's own
per-call overhead (argument checks, output allocation, the C call) and, for ``greendc``, numba's dispatch of
one call. They exclude building the batches and the rest of the search (in the ``search`` row), the ai's
guards and logging, and EnergyPlus: the batches are replayed outside the simulation, each predictor after
the others have run through the caches since its previous call (inside EnergyPlus, which evicts them between
decisions, the compiled search cost about twice its warm replay: bench/README.md, section 5). Each rebuilt
decision is checked to choose what the compiled search chose, so the batches are the run's.

Usage::

    pip install treelite               # bench only, not a dependency of greendc (measured: treelite 4.8.1)
    # lleaves 1.3.0 cannot run beside greendc's numba (llvmlite >= 0.45): give it an environment of its own
    python -m venv /tmp/lleaves-env && /tmp/lleaves-env/bin/pip install lleaves==1.3.0 llvmlite==0.44.0 \
        lightgbm numpy
    greendc simulate examples/sites/two-hall-chicago.yaml --controller ai \
        --model src/greendc/data/models/two-hall-chicago.gdm --out /tmp/p9-ai
    python bench/predictor_choice.py --compare-with /tmp/p9-ai/decisions.parquet --repeats 3 \
        --lleaves-python /tmp/lleaves-env/bin/python --out /tmp/predictor_choice.json
    python bench/predictor_choice.py --sample 2000   # a uniform sample: every k-th decision, 2,000 of them
    python bench/predictor_choice.py --skip treelite,lleaves   # the current path and LightGBM only

The recording run takes about 30-45 s; ``--recording FILE`` keeps it for the next call. On the development
machine, busy with other work, each repeat over the 8,757 searched decisions of the year took 3-4 minutes
(treelite's GTIL most of it) and the lleaves worker 45-60 s more (its compilation included).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SITE = REPO / "examples" / "sites" / "two-hall-chicago.yaml"
SHIPPED_MODEL = REPO / "src" / "greendc" / "data" / "models" / "two-hall-chicago.gdm"
#: Issue 15, item 9: adopt a library if the median decision stays under this, ms.
LIMIT_MS = 1.0
#: The row of a library's whole-decision estimate (its predictor plus the search's own arithmetic).
ESTIMATE = " + the search's own arithmetic (estimate)"
#: The thread in which the ai prepares its search on a made-up observation (not a decision).
_PREPARE_THREAD = "greendc-ai-prepare-search"


# -- 1. record ------------------------------------------------------------------------------------------
def record(site_path: Path, model_path: Path) -> dict[str, Any]:
    """Run the annual ai simulation with every ``search_setpoints`` call's inputs and result kept."""
    import greendc.control.ai as ai_module
    from greendc.control.registry import make_controller
    from greendc.site.loader import load_site
    from greendc.twin.builder import build_twin
    from greendc.twin.runner import run_simulation

    real = ai_module.search_setpoints
    calls: list[tuple[Any, ...]] = []
    constants: dict[str, Any] = {}

    def recording(*args: Any) -> Any:
        result = real(*args)
        if threading.current_thread().name != _PREPARE_THREAD:
            state, setpoints_c, steps, grid, columns, bounds, means, quantiles, floor, humid, *rest = args
            if not constants:
                constants.update(steps=steps.copy(), grid=grid.copy(), columns=columns, bounds=bounds.copy(),
                                 means=means, quantiles=quantiles, floor=floor.copy(), rest=tuple(rest))
            calls.append((state.copy(), setpoints_c.copy(), humid.copy(), bool(result[0]), result[1].copy(),
                          int(result[6])))
        return result

    site, site_dir = load_site(site_path)
    twin = build_twin(site, site_dir)
    ai_module.search_setpoints = recording
    try:
        started = time.perf_counter()
        result = run_simulation(twin, make_controller("ai", model=model_path))
        wall_s = time.perf_counter() - started
    finally:
        ai_module.search_setpoints = real
    return {"calls": calls, "constants": constants, "decisions": result.decisions, "wall_s": wall_s}


def compare_decisions(recorded: Any, path: Path) -> str:
    """Check that the recording run's decision log equals a ``greendc simulate`` run's (but ``decision_ms``)."""
    import pandas as pd

    from greendc.telemetry.decisions import decisions_frame

    other = pd.read_parquet(path)
    mine = decisions_frame(recorded).drop(columns="decision_ms").reset_index(drop=True)
    theirs = other.drop(columns="decision_ms").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs, check_dtype=False, check_exact=True)
    return f"the recording run's {len(mine)} decision records equal {path}'s in every column but decision_ms"


# -- 2. rebuild the batches -------------------------------------------------------------------------------
def rebuild_batches(call: tuple[Any, ...], constants: dict[str, Any]) -> dict[str, Any]:
    """The batches the compiled search evaluated for one recorded decision, rebuilt step by step as
    ``search_setpoints`` builds them; checks that the rebuilt search chooses the recorded row."""
    from greendc.control.search import (
        MAX,
        MIN,
        SUPPLY_AIR,
        ZONE_COOLING,
        _spread,
        candidate_rows,
        cheapest_row,
        evaluate_rows,
    )
    from greendc.learning.trees import resolve

    state, setpoints_c, humid, found, chosen_recorded, candidates_recorded = call
    columns, bounds = constants["columns"], constants["bounds"]
    supply_columns, cooling_columns, _ = columns
    zones = len(supply_columns)
    current = setpoints_c[:zones]
    base_supply, base_cooling = setpoints_c[zones:2 * zones], setpoints_c[2 * zones:3 * zones]
    base_water, water_now = setpoints_c[3 * zones], setpoints_c[3 * zones + 1]
    baseline = candidate_rows(state, base_supply.reshape(1, zones), (base_cooling - base_supply).reshape(1, zones),
                              np.full(1, base_water), columns, bounds)
    shared = shared_columns(len(state), columns)
    means = resolve(constants["means"], state, shared)
    spread = _spread(baseline[0], constants["quantiles"], constants["floor"])
    grid = constants["grid"]
    supply = current[None, :] + grid[:, :1]
    rise = np.repeat(grid[:, 1:2], zones, axis=1)
    phase1 = np.empty((len(grid) + 1, len(state)))
    phase1[:-1] = candidate_rows(state, supply, rise, water_now + grid[:, 2], columns, bounds)
    phase1[-1] = baseline[0]
    rest = constants["rest"]
    _, objective, feasible, _ = evaluate_rows(phase1, means, spread, humid, *rest)
    best = cheapest_row(objective, feasible)
    nothing = np.empty((0, len(state)))
    batches: dict[str, Any] = {"state": state, "baseline": baseline, "phase1": phase1, "phase2": nothing,
                               "chosen": nothing}
    candidates = len(phase1)
    found_rebuilt = best >= 0
    chosen = baseline[0]
    if found_rebuilt:
        chosen = phase1[best].copy()
        if zones > 1:
            steps = constants["steps"]
            refined = np.empty((1 + zones * len(steps), len(state)))
            refined[:] = chosen
            for zone in range(zones):
                s, c = supply_columns[zone], cooling_columns[zone]
                rise_now = chosen[c] - chosen[s]
                for step, offset in enumerate(steps):
                    row = 1 + zone * len(steps) + step
                    refined[row, s] = current[zone] + offset
                    refined[row, c] = current[zone] + offset + rise_now
            for zone in range(zones):
                s, c = supply_columns[zone], cooling_columns[zone]
                refined[:, s] = np.minimum(np.maximum(refined[:, s], bounds[SUPPLY_AIR, MIN]), bounds[SUPPLY_AIR, MAX])
                refined[:, c] = np.minimum(np.maximum(refined[:, c], bounds[ZONE_COOLING, MIN]),
                                           bounds[ZONE_COOLING, MAX])
            _, objective, feasible, _ = evaluate_rows(refined, means, spread, humid, *rest)
            candidates += len(refined)
            batches["phase2"] = refined
            best = cheapest_row(objective, feasible)
            if best >= 0:
                chosen = refined[best].copy()
        batches["chosen"] = chosen.reshape(1, len(state))  # its spread is predicted only when a row was found
    if found_rebuilt != found or not np.array_equal(chosen, chosen_recorded) or candidates != candidates_recorded:
        raise AssertionError("the rebuilt search does not choose what the compiled search chose")
    return batches


def shared_columns(n_columns: int, columns: tuple[Any, ...]) -> np.ndarray:
    """The state's columns (every column but the setpoints'), as the search resolves them."""
    supply_columns, cooling_columns, water_column = columns
    shared = np.ones(n_columns, dtype=np.bool_)
    shared[supply_columns] = False
    shared[cooling_columns] = False
    if water_column >= 0:
        shared[water_column] = False
    return shared


# -- 3. the predictors ---------------------------------------------------------------------------------------
def model_texts(model_path: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """The mean and quantile targets in the search's order, and each booster's LightGBM text from the model
    file (a zip of ``meta.json`` and ``boosters/{target}.txt``)."""
    from greendc.learning.facility_model import _safe
    from greendc.learning.features import target_names

    with zipfile.ZipFile(model_path) as archive:
        meta = json.loads(archive.read("meta.json"))
        means = target_names(meta["zone_names"])
        quantiles = [f"{inlet}@q{level}" for inlet in means[2:] for level in (10, 90)]
        texts = {name: archive.read(f"boosters/{_safe(name)}.txt").decode()
                 for name in means + quantiles}
    return means, quantiles, texts


def greendc_predictor(model_path: Path, constants: dict[str, Any]) -> tuple[Any, float]:
    """The current compiled path, as the search runs it, in one compiled call."""
    import numba

    from greendc.learning.facility_model import FacilityModel
    from greendc.learning.trees import resolve, walk, walk_together

    started = time.perf_counter()
    mean_ensemble, quantile_ensemble = FacilityModel.load(model_path).ensembles()
    means, quantiles = mean_ensemble.arrays, quantile_ensemble.arrays
    load_s = time.perf_counter() - started
    n_means, n_quantiles = len(mean_ensemble.targets), len(quantile_ensemble.targets)
    shared = shared_columns(mean_ensemble.n_features, constants["columns"])

    @numba.njit
    def current(state, shared, phase1, phase2, baseline, chosen, means, quantiles):
        resolved = resolve(means, state, shared)
        v1 = np.zeros((n_means, phase1.shape[0]))
        walk_together(phase1, resolved, v1)
        v2 = np.zeros((n_means, phase2.shape[0]))
        if phase2.shape[0] > 0:
            walk_together(phase2, resolved, v2)
        qb = np.zeros((n_quantiles, 1))
        walk(baseline, quantiles, qb)
        qc = np.zeros((n_quantiles, chosen.shape[0]))
        if chosen.shape[0] > 0:
            walk(chosen, quantiles, qc)
        return v1, v2, qb, qc

    def predict(b: dict[str, Any]) -> tuple[np.ndarray, ...]:
        return current(b["state"], shared, b["phase1"], b["phase2"], b["baseline"], b["chosen"], means, quantiles)

    return predict, load_s


def per_booster(models_means: list[Any], models_quantiles: list[Any], call: Any) -> Any:
    """16 calls a decision: each mean model on phase 1 and phase 2, each quantile model on the baseline's and
    the chosen row; ``call(model, batch)`` gives a 1-d prediction."""
    def predict(b: dict[str, Any]) -> tuple[np.ndarray, ...]:
        v1 = np.array([call(m, b["phase1"]) for m in models_means])
        v2 = np.array([call(m, b["phase2"]) for m in models_means]) if len(b["phase2"]) else np.empty((0, 0))
        qb = np.array([call(m, b["baseline"]) for m in models_quantiles])
        qc = np.array([call(m, b["chosen"]) for m in models_quantiles]) if len(b["chosen"]) else np.empty((0, 0))
        return v1, v2, qb, qc

    return predict


def lightgbm_predictor(means: list[str], quantiles: list[str], texts: dict[str, str]) -> tuple[Any, float]:
    import lightgbm

    started = time.perf_counter()
    boosters = {name: lightgbm.Booster(model_str=text) for name, text in texts.items()}
    load_s = time.perf_counter() - started
    m, q = [boosters[n] for n in means], [boosters[n] for n in quantiles]
    return per_booster(m, q, lambda booster, x: booster.predict(x, num_threads=1)), load_s


def lleaves_predictor(means: list[str], quantiles: list[str], texts: dict[str, str]) -> tuple[Any, float, str]:
    import lleaves

    with tempfile.TemporaryDirectory(prefix="greendc-lleaves-") as folder:
        models = {}
        started = time.perf_counter()
        for name, text in texts.items():
            path = Path(folder) / f"{len(models)}.txt"
            path.write_text(text)
            model = lleaves.Model(model_file=str(path))
            model.compile()  # defaults: fp64, raw_score False (regression and quantile outputs are raw anyway)
            models[name] = model
        compile_s = time.perf_counter() - started
    version = _version("lleaves")
    return per_booster([models[n] for n in means], [models[n] for n in quantiles],
                       lambda model, x: model.predict(x, n_jobs=1)), compile_s, version


def treelite_predictor(means: list[str], quantiles: list[str], texts: dict[str, str]) -> tuple[Any, float, str]:
    import lightgbm
    import treelite

    started = time.perf_counter()
    models = {name: treelite.frontend.from_lightgbm(lightgbm.Booster(model_str=text)) for name, text in texts.items()}
    load_s = time.perf_counter() - started
    return per_booster([models[n] for n in means], [models[n] for n in quantiles],
                       lambda model, x: treelite.gtil.predict(model, x, nthread=1).reshape(len(x))), load_s, \
        treelite.__version__


def search_call(constants: dict[str, Any]) -> Any:
    """The whole compiled search on a recorded decision's arguments."""
    from greendc.control.search import search_setpoints

    c = constants

    def run(call: tuple[Any, ...]) -> Any:
        state, setpoints_c, humid = call[:3]
        return search_setpoints(state, setpoints_c, c["steps"], c["grid"], c["columns"], c["bounds"], c["means"],
                                c["quantiles"], c["floor"], humid, *c["rest"])

    return run


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


# -- 4. time them ---------------------------------------------------------------------------------------------
def agreement(output: tuple[np.ndarray, ...], reference: tuple[np.ndarray, ...]) -> tuple[float, float, bool]:
    """Largest absolute and relative difference from the reference over a decision's batches, and whether
    every prediction is the same double."""
    largest_abs = largest_rel = 0.0
    equal = True
    for mine, theirs in zip(output, reference, strict=True):
        if theirs.size == 0:
            continue
        mine = np.asarray(mine, dtype=float).reshape(theirs.shape)
        difference = np.abs(mine - theirs)
        largest_abs = max(largest_abs, float(difference.max()))
        largest_rel = max(largest_rel, float((difference / np.maximum(np.abs(theirs), 1e-300)).max()))
        equal = equal and bool(np.array_equal(mine, theirs))
    return largest_abs, largest_rel, equal


def measure(batches: list[dict[str, Any]], predictors: dict[str, Any], check: bool,
            reference: str = "lightgbm") -> dict[str, Any]:
    """One repeat: time every predictor on every decision, their order rotated by one from one decision to the
    next; with ``check``, compare each predictor's outputs with the reference's, decision by decision.

    A predictor is a function of a decision's batches; ``search`` takes the recorded call instead (the batches
    dict holds it as ``call``).
    """
    names = list(predictors)
    times = {name: np.empty(len(batches)) for name in names}
    checks = {name: {"max_abs": 0.0, "max_rel": 0.0, "identical_decisions": 0} for name in names if name != "search"}
    for _ in range(3):  # warm-up: compile and touch everything once
        for predict in predictors.values():
            predict(batches[0])
    load_before, started = os.getloadavg(), time.perf_counter()
    gc.collect()
    gc.disable()
    try:
        for index, batch in enumerate(batches):
            shift = index % len(names)
            outputs = {}
            for name in names[shift:] + names[:shift]:
                predict = predictors[name]
                begin = time.perf_counter_ns()
                output = predict(batch)
                end = time.perf_counter_ns()
                times[name][index] = (end - begin) / 1e6
                outputs[name] = output
            if check:
                for name, entry in checks.items():
                    largest_abs, largest_rel, equal = agreement(outputs[name], outputs[reference])
                    entry["max_abs"] = max(entry["max_abs"], largest_abs)
                    entry["max_rel"] = max(entry["max_rel"], largest_rel)
                    entry["identical_decisions"] += equal
    finally:
        gc.enable()
    return {"times_ms": times, "checks": checks,
            "wall_s": time.perf_counter() - started, "load": [load_before[0], os.getloadavg()[0]]}


def worker(path: Path) -> int:
    """``--worker FILE``: time lleaves against LightGBM on the batches in FILE (a pickle written by the main
    process), in a Python environment where lleaves runs (see :func:`run_worker`); write the result to
    FILE + ``.out``. Imports neither greendc nor numba."""
    job = pickle.loads(path.read_bytes())
    means, quantiles, texts = job["means"], job["quantiles"], job["texts"]
    lightgbm, _ = lightgbm_predictor(means, quantiles, texts)
    lleaves, compile_s, version = lleaves_predictor(means, quantiles, texts)
    result = measure(job["batches"], {"lleaves": lleaves, "lightgbm": lightgbm}, check=job["check"])
    result.update(compile_s=compile_s, versions={"lleaves": version, "llvmlite": _version("llvmlite"),
                                                 "lightgbm": _version("lightgbm"), "numpy": _version("numpy")})
    Path(f"{path}.out").write_bytes(pickle.dumps(result))
    return 0


def run_worker(python: str, batches: list[dict[str, Any]], model: tuple[Any, ...], check: bool) -> dict[str, Any]:
    """One repeat of lleaves and LightGBM in a fresh process of another Python environment."""
    means, quantiles, texts = model
    with tempfile.TemporaryDirectory(prefix="greendc-predictor-choice-") as folder:
        job = Path(folder) / "job.pkl"
        plain = [{key: value for key, value in batch.items() if key != "call"} for batch in batches]
        job.write_bytes(pickle.dumps({"batches": plain, "means": means, "quantiles": quantiles, "texts": texts,
                                      "check": check}))
        subprocess.run([python, str(Path(__file__).resolve()), "--worker", str(job)], check=True)
        return pickle.loads(Path(f"{job}.out").read_bytes())


def statistics_of(per_repeat: list[np.ndarray]) -> dict[str, Any]:
    """Median, 99th percentile and total of each repeat's per-decision times; their range over repeats."""
    rows = [{"median_ms": float(np.median(v)), "p99_ms": float(np.percentile(v, 99)), "total_s": float(v.sum() / 1e3)}
            for v in per_repeat]
    return {"per_repeat": rows, **{f"{key}_{how}": fn([r[key] for r in rows])
                                   for key in ("median_ms", "p99_ms", "total_s")
                                   for how, fn in (("min", min), ("median", statistics.median), ("max", max))}}


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=DEFAULT_SITE)
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample", type=int, default=None,
                        help="time a uniform sample of this many decisions (every k-th) instead of all")
    parser.add_argument("--compare-with", type=Path, default=None,
                        help="decisions.parquet of a greendc simulate run of the same site and model")
    parser.add_argument("--lleaves-python", default=None,
                        help="a Python with lleaves and an llvmlite it runs on, when it cannot run beside numba")
    parser.add_argument("--recording", type=Path, default=None,
                        help="keep the recorded decisions in this pickle, and reuse it when it exists")
    parser.add_argument("--skip", default="", help="leave out these predictors (comma-separated: treelite, lleaves)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        return worker(args.worker)

    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    if args.recording is not None and args.recording.exists():
        recorded = pickle.loads(args.recording.read_bytes())
    else:
        recorded = record(args.site, args.model)
        if args.recording is not None:
            args.recording.write_bytes(pickle.dumps(recorded))
    calls, constants = recorded["calls"], recorded["constants"]
    notes = [f"recording run: {len(recorded['decisions'])} decision records, {len(calls)} searches, "
             f"{recorded['wall_s']:.1f} s"]
    if args.compare_with is not None:
        notes.append(compare_decisions(recorded["decisions"], args.compare_with))
    batches = [rebuild_batches(call, constants) | {"call": call} for call in calls]
    notes.append(f"rebuilt batches choose the compiled search's row, with as many candidates, in all {len(calls)} "
                 f"searches; {sum(len(b['phase2']) == 0 for b in batches)} without a safe phase-1 row (no phase 2)")
    if args.sample is not None and args.sample < len(calls):
        picked = np.unique(np.linspace(0, len(calls) - 1, args.sample).round().astype(int))
        batches = [batches[i] for i in picked]
        notes.append(f"uniform sample: {len(picked)} decisions, every {len(calls) / len(picked):.2f}-th")
    notes.append(f"batch rows: phase 1 {sorted({len(b['phase1']) for b in batches})}, phase 2 "
                 f"{sorted({len(b['phase2']) for b in batches})}, baseline 1, chosen "
                 f"{sorted({len(b['chosen']) for b in batches})}")

    model = model_texts(args.model)
    predictors: dict[str, Any] = {}
    setup: dict[str, float] = {}
    predictors["greendc"], setup["greendc: FacilityModel.load + ensembles"] = greendc_predictor(args.model, constants)
    predictors["lightgbm"], setup["lightgbm: 8 x Booster(model_str=...)"] = lightgbm_predictor(*model)
    versions = {name: _version(name) for name in ("numpy", "numba", "llvmlite", "lightgbm")}
    for name, make, what in (("lleaves", lleaves_predictor, "8 x Model.compile()"),
                             ("treelite", treelite_predictor, "8 x frontend.from_lightgbm")):
        if name in args.skip.split(","):
            continue
        try:
            predictors[name], setup[f"{name}: {what}"], versions[name] = make(*model)
        except ImportError as error:
            notes.append(f"{name} not installed here ({error})")
        except Exception as error:
            notes.append(f"{name} {_version(name)} does not run beside numba {versions['numba']} (llvmlite "
                         f"{versions['llvmlite']}): {type(error).__name__}: {error}")
    search = search_call(constants)
    predictors["search"] = lambda batch: search(batch["call"])

    times: dict[str, list[np.ndarray]] = {name: [] for name in predictors}
    checks: dict[str, Any] = {}
    repeats: list[dict[str, Any]] = []
    for repeat in range(args.repeats):
        result = measure(batches, predictors, check=repeat == 0)
        for name, values in result["times_ms"].items():
            times[name].append(values)
        checks.update(result["checks"] if repeat == 0 else {})
        repeats.append({"main": {"wall_s": result["wall_s"], "load": result["load"]}})
        if args.lleaves_python and "lleaves" not in predictors and "lleaves" not in args.skip.split(","):
            other = run_worker(args.lleaves_python, batches, model, check=repeat == 0)
            for name in ("lleaves", "lightgbm"):
                times.setdefault(f"{name} (worker)", []).append(other["times_ms"][name])
            if repeat == 0:
                checks["lleaves (worker)"] = other["checks"]["lleaves"]
                versions["worker"] = other["versions"]
            setup[f"lleaves (worker, repeat {repeat + 1}): 8 x Model.compile()"] = other["compile_s"]
            repeats[-1]["worker"] = {"wall_s": other["wall_s"], "load": other["load"]}
        print(f"repeat {repeat + 1}/{args.repeats}: {repeats[-1]}", file=sys.stderr)

    rest = [s - g for s, g in zip(times["search"], times["greendc"], strict=True)]
    rows = {name: statistics_of(values) for name, values in times.items()}
    rows["search - greendc: the search's own arithmetic"] = statistics_of(rest)
    verdicts = []
    for name in times:
        if name in ("greendc", "search") or name.startswith("lightgbm ("):
            continue
        median = rows[name]["median_ms_median"]
        if median >= LIMIT_MS:
            verdicts.append(f"{name}: its predictor alone takes {median:.3f} ms a decision (median), over the "
                            f"{LIMIT_MS:g} ms limit for the whole decision: rejected on that ground")
        else:
            rows[name + ESTIMATE] = statistics_of([v + r for v, r in zip(times[name], rest, strict=True)])
            verdicts.append(f"{name}: its predictor takes {median:.3f} ms a decision (median), under the limit; "
                            f"with the search's own arithmetic {rows[name + ESTIMATE]['median_ms_median']:.3f} ms")

    print()
    for note in notes:
        print(f"- {note}")
    print("- setup, s: " + "; ".join(f"{key} {value:.2f}" for key, value in setup.items()))
    print(f"- versions: {versions}")
    print(f"- machine: {machine()}")
    print(f"- {len(batches)} decisions x {args.repeats} repeats; predictions compared with lightgbm (num_threads=1, "
          "in the same process) in repeat 1:")
    for name, entry in checks.items():
        print(f"  - {name}: max |diff| {entry['max_abs']:.3g}, max relative {entry['max_rel']:.3g}, every prediction "
              f"the same double in {entry['identical_decisions']} of {len(batches)} decisions")
    print()
    print("| per decision | median ms (range over repeats) | p99 ms (range) | total s, decisions timed (range) |")
    print("|---|---|---|---|")
    for name, row in rows.items():
        cells = [f"{row[f'{key}_median']:.{digits}f} ({row[f'{key}_min']:.{digits}f}-{row[f'{key}_max']:.{digits}f})"
                 for key, digits in (("median_ms", 3), ("p99_ms", 3), ("total_s", 2))]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    for verdict in verdicts:
        print(f"- {verdict}")
    if args.out is not None:
        args.out.write_text(json.dumps({
            "date": datetime.now(UTC).isoformat(timespec="seconds"), "command": sys.argv, "machine": machine(),
            "versions": versions, "notes": notes, "setup_s": setup, "checks": checks, "repeats": repeats,
            "rows": rows, "verdicts": verdicts}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
