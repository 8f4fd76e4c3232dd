"""Simulate a site under a controller: build the twin, run it, summarize, and write the run's files.

Data flows one way: site -> twin -> co-simulation telemetry -> summary -> saved results. Several runs go
through an executor (:mod:`greendc.workflows.executor`): separate local processes by default.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from greendc.control.ab_schedule import (
    ABDesign,
    ABSchedule,
    calendar_day,
    switching_controller,
)
from greendc.control.registry import CONTROLLERS, make_controller
from greendc.errors import UsageError
from greendc.results.records import ABScheduleRecord, RunSummary
from greendc.results.store import write_directory_atomic, write_json_atomic
from greendc.results.summary import summarize
from greendc.site.schema import Site
from greendc.telemetry.contract import Controller
from greendc.telemetry.decisions import DecisionRecord, write_decisions
from greendc.telemetry.faults import FaultInjectingController, SensorFault, check_fault_zones, describe_faults
from greendc.telemetry.schema import ARM_COLUMN, BASELINE, CANDIDATE
from greendc.twin.builder import build_twin
from greendc.twin.runner import EnergyPlusError, RunResult, run_simulation
from greendc.workflows.executor import Executor, InProcessExecutor, LocalProcessExecutor, WorkerDiedError


@dataclass
class SimulationOutcome:
    result: RunResult
    summary: RunSummary
    #: The run's figures per hour (``greendc.results.oracle.hourly_table``), for a job that asked for them.
    hourly: pd.DataFrame | None = None


def simulate(
    site: Site,
    site_dir: Path | None,
    controller: str,
    weather: str | None = None,
    progress: Callable[[float], None] | None = None,
    controller_options: dict[str, Any] | None = None,
    faults: Sequence[SensorFault] = (),
    ab: ABDesign | None = None,
) -> SimulationOutcome:
    """Build the site's twin and run it for its run period under a named controller.

    With ``faults`` the controller observes its sensors through them (``greendc.telemetry.faults``); the
    simulation and its telemetry stay true, and the summary lists the faults. With ``ab`` the controller
    takes turns with the design's baseline in blocks from the run's first day
    (``greendc.control.ab_schedule``; both see the faults): the telemetry's ``ab_arm`` column says which was
    in control at each step, and the summary records the schedule.
    """
    twin = build_twin(site, site_dir=site_dir, weather=weather)
    schedule = None
    if ab is None:
        driver: Controller = make_controller(controller, **(controller_options or {}))
    else:
        # Blocks from the run's first day, so that the first is whole.
        origin_day = calendar_day(site.simulation.begin_month, site.simulation.begin_day)
        switching = switching_controller(controller, controller_options or {}, ab, origin_day)
        driver, schedule = switching, switching.schedule
    if faults:
        driver = FaultInjectingController(driver, faults)
    result = run_simulation(twin, driver, progress=progress)
    ab_record = None
    if schedule is not None and ab is not None:
        result.telemetry[ARM_COLUMN] = schedule.arms_of_rows(result.telemetry["time"], result.timestep_h)
        ab_record = ab_schedule_record(ab, controller, schedule, result.telemetry, result.timestep_h)
    period = summarize(result.telemetry, result.zone_names, result.timestep_h)
    decisions = result.decisions
    decision_stats = {} if decisions is None else _decision_statistics(decisions)
    summary = RunSummary(
        **period.model_dump(),
        **decision_stats,
        site=site.name,
        grid_region=site.grid_region,
        controller=controller,
        controller_options={k: str(v) for k, v in (controller_options or {}).items()},
        weather=str(twin.weather_path.name),
        wall_s=result.wall_s,
        energyplus_warnings=result.err.warnings,
        energyplus_severe_errors=result.err.severe,
        energyplus_severe_messages=result.err.severe_messages[:10],
        installed_it_power_kw=site.it_design_power_w / 1000.0,
        it_floor_area_m2=sum(zone.floor_area_m2 for zone in site.zones),
        faults=describe_faults(faults),
        ab_schedule=ab_record,
    )
    return SimulationOutcome(result, summary)


def ab_schedule_record(design: ABDesign, candidate: str, schedule: ABSchedule, telemetry: pd.DataFrame,
                       timestep_h: float) -> ABScheduleRecord:
    """The summary's record of an A/B schedule over the telemetry's span (a live agent's too)."""
    times = pd.to_datetime(telemetry["time"])
    blocks = schedule.blocks(times.iloc[0] - pd.Timedelta(hours=timestep_h), times.iloc[-1])
    arms = Counter(block.arm for block in blocks)
    return ABScheduleRecord(seed=schedule.seed, block_days=schedule.block_days, candidate_controller=candidate,
                            baseline_controller=design.baseline, first_block_day=schedule.first_block_day,
                            candidate_blocks=arms[CANDIDATE], baseline_blocks=arms[BASELINE])


def _decision_statistics(decisions: list[DecisionRecord]) -> dict[str, Any]:
    """How many decisions, how long they took (median and 99th percentile, ms) and which guards fired."""
    decision_ms = np.array([decision.decision_ms for decision in decisions])
    return {
        "decisions": len(decisions),
        "decision_ms_median": float(np.median(decision_ms)),
        "decision_ms_p99": float(np.quantile(decision_ms, 0.99)),
        "guard_counts": dict(Counter(decision.guard for decision in decisions).most_common()),
    }


def write_run_files(outcome: SimulationOutcome, folder: Path) -> None:
    """Write telemetry.parquet, summary.json, model.epJSON (and decisions.parquet) into ``folder``."""
    outcome.result.telemetry.to_parquet(folder / "telemetry.parquet", index=False)
    if outcome.result.decisions is not None:
        write_decisions(folder / "decisions.parquet", outcome.result.decisions)
    write_json_atomic(folder / "model.epJSON", outcome.result.epjson)
    outcome.summary.write(folder / "summary.json")


def save_outcome(outcome: SimulationOutcome, out_dir: Path) -> Path:
    """Write one run's files into a new folder ``out_dir`` atomically (inside a claimed result folder)."""
    return write_directory_atomic(out_dir, lambda folder: write_run_files(outcome, folder))


@dataclass(frozen=True)
class SimulationJob:
    """One simulation to run: a site under a controller in a climate (``None`` keeps the site's).

    With ``summary_only`` the outcome's telemetry, decisions and model are emptied in the worker: a bench of
    a hundred annual runs then neither pickles nor holds some 20 MB of frames per run it never reads.
    """

    site: Site
    site_dir: Path | None
    controller: str
    weather: str | None = None
    controller_options: dict[str, Any] = field(default_factory=dict)
    summary_only: bool = False
    #: Sensor faults the controller observes through (``greendc.telemetry.faults``); none: the true sensors.
    faults: tuple[SensorFault, ...] = ()
    #: Also return the run's per-hour table (some 0.6 MB a year), computed in the worker from the telemetry,
    #: for the hourly oracle: the bench then never ships the frames themselves.
    hourly: bool = False
    #: Take turns with a baseline controller on a randomized schedule (``greendc.control.ab_schedule``).
    ab: ABDesign | None = None


def _run_job(job: SimulationJob, report: Callable[[float], None] | None = None) -> SimulationOutcome:
    outcome = simulate(job.site, job.site_dir, job.controller, weather=job.weather, progress=report,
                       controller_options=job.controller_options, faults=job.faults, ab=job.ab)
    if job.hourly:
        from greendc.results.oracle import hourly_table

        result = outcome.result
        outcome = replace(outcome, hourly=hourly_table(result.telemetry, result.zone_names, result.timestep_h))
    if job.summary_only:
        result = outcome.result
        decisions = [] if result.decisions is not None else None
        outcome = replace(outcome, result=replace(result, telemetry=result.telemetry.iloc[0:0], decisions=decisions,
                                                  epjson={}))
    return outcome


def simulate_many(
    jobs: list[SimulationJob],
    workers: int = 2,
    on_progress: Callable[[int, float], None] | None = None,
    on_done: Callable[[int, SimulationOutcome], None] | None = None,
    isolated: bool = True,
    executor: Executor | None = None,
) -> list[SimulationOutcome]:
    """Run several simulations and return their outcomes in the order given.

    By default each run happens in a separate process, ``workers`` at a time, so that an EnergyPlus crash
    (which takes its process with it) becomes an :class:`EnergyPlusError` instead of killing the caller;
    ``isolated=False`` runs them here, one after the other; ``executor`` runs them however it does.
    ``on_progress(job_index, fraction)`` reports progress within each run; ``on_done`` each finished run.
    """
    for job in jobs:
        make_controller(job.controller, **job.controller_options)  # fail before starting any simulation
        if job.ab is not None:
            make_controller(job.ab.baseline, **job.ab.baseline_options)
        check_fault_zones(job.faults, [zone.name for zone in job.site.zones])
    executor = executor or (LocalProcessExecutor(workers) if isolated else InProcessExecutor())
    try:
        return executor.run(_run_job, jobs, on_progress=on_progress, on_done=on_done)
    except WorkerDiedError as error:
        job = jobs[error.index]
        raise EnergyPlusError(f"EnergyPlus crashed (its process died) while simulating {job.site.name} under "
                              f"{job.controller} in {job.weather or job.site.weather}") from None


def controller_options(names: list[str], zone_names: list[str], model: Path | None = None,
                       objective: str = "facility", advisory: bool = False,
                       kill_switch: Path | None = None, accept_model_mismatch: bool = False
                       ) -> dict[str, dict[str, Any]]:
    """Constructor options per controller name, checked before any run starts (the ai's model above all).

    Raises :class:`UsageError` for an unknown controller or objective, or an ai without a model; the model
    file's own errors (:class:`~greendc.learning.facility_model.ModelFileError`) name the file.
    """
    from greendc.results.oracle import OBJECTIVES

    unknown = [name for name in names if name not in CONTROLLERS]
    if unknown:
        raise UsageError(f"--controller: unknown controller {unknown[0]!r}; choose from {', '.join(CONTROLLERS)}")
    if objective not in OBJECTIVES:
        raise UsageError(f"--objective: must be {' or '.join(OBJECTIVES)}, not {objective!r}")
    options: dict[str, dict[str, Any]] = {name: {} for name in names}
    if "ai" not in names:
        return options
    from greendc.learning.facility_model import FacilityModel

    if model is None:
        raise UsageError("--model: the ai controller needs a facility model (greendc explore, then greendc train)")
    FacilityModel.load(model, zone_names=zone_names)
    options["ai"] = {"model": str(Path(model).resolve()), "objective": objective,
                     "mode": "advisory" if advisory else "closed-loop"}
    if kill_switch is not None:
        options["ai"]["kill_switch"] = str(Path(kill_switch).resolve())
    if accept_model_mismatch:
        options["ai"]["accept_model_mismatch"] = True
    return options


def model_site_warnings(site: Site, model: Path, accept_model_mismatch: bool = False) -> list[str]:
    """What differs between ``site`` and the site the model learned from, each one short line, before any run.

    Raises :class:`~greendc.learning.envelope.ModelMismatchError` (one line) when the model does not fit the
    site (its zones' IT design power more than 20 % away), unless the mismatch is accepted.
    """
    from greendc.learning.envelope import check_model_for_site
    from greendc.learning.facility_model import FacilityModel
    from greendc.twin.builder import control_context

    context = control_context(site)
    envelope = FacilityModel.load(model, zone_names=context.zone_names).envelope_
    return check_model_for_site(envelope, context, accept_model_mismatch)
