"""Why the ai controller did what it did: a summary of a run's decision log ("knowable")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from greendc.errors import GreendcError
from greendc.results.records import RunSummary
from greendc.telemetry.decisions import DecisionRecord, read_decisions
from greendc.telemetry.schema import ARM_COLUMN, BASELINE, CANDIDATE
from greendc.telemetry.sensors import FACILITY, ZONE


class ExplainError(GreendcError, ValueError):
    """A run folder without the decision log of an ai run."""


def explain_run(run_dir: Path | str, top_features: int = 8) -> dict[str, Any]:
    """Guard activations (decisions and hours), the run's inlet excursions (``flags``: steps above 27 C or
    below 18 C, which no predicted saving excuses), predicted savings by month and the features that drive
    the model of a run."""
    run_dir = Path(run_dir)
    decisions_path = run_dir / "decisions.parquet"
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise ExplainError(f"{run_dir}: not a greendc run folder (no summary.json)")
    if not decisions_path.is_file():
        raise ExplainError(f"{run_dir}: no decisions.parquet; only ai runs log decisions")
    summary = RunSummary.read(summary_path)
    records = read_decisions(decisions_path)
    if not records:
        raise ExplainError(f"{decisions_path}: the decision log is empty")
    decisions = _decision_table(records)
    interval_h = summary.timestep_h
    guards = decisions["guard"].value_counts()
    applied = decisions["applied"] == "ai"
    # A decision holds until the next record (the next decision, or a guard taking over), not one timestep.
    until = decisions["time"].shift(-1)
    handed_back = _baseline_block_starts(run_dir)
    if handed_back is not None:
        # Under an A/B schedule a decision also ends where the baseline's block begins: its next record may
        # be days later, in the candidate's next block.
        next_start = handed_back.searchsorted(decisions["time"], side="right")
        ends = pd.Series(handed_back.append(pd.DatetimeIndex([pd.NaT]))[next_start], index=decisions.index)
        until = pd.concat([until, ends], axis=1).min(axis=1)  # the earlier of the two; NaT where neither
    held_h = ((until - decisions["time"]).dt.total_seconds() / 3600.0).fillna(interval_h)
    saving_kwh = decisions["predicted_saving_w"].where(applied, 0.0).fillna(0.0) * held_h / 1000.0
    months = decisions["time"].dt.month
    monthly = pd.DataFrame({
        "decisions": decisions.groupby(months).size(),
        "ai_applied_pct": 100.0 * applied.groupby(months).mean(),
        "predicted_saving_kwh": saving_kwh.groupby(months).sum(),
        "mean_supply_air_setpoint_c": decisions["mean_supply_air_setpoint_c"].groupby(months).mean(),
        "hottest_inlet_max_c": decisions["hottest_inlet_c"].groupby(months).max(),
    })
    guard_hours = held_h.groupby(decisions["guard"]).sum()
    explanation: dict[str, Any] = {
        "run": str(run_dir),
        "controller": summary.controller,
        "objective": summary.controller_options.get("objective"),
        "mode": summary.controller_options.get("mode"),
        "decisions": len(decisions),
        "decision_ms_median": float(decisions["decision_ms"].median()),
        "guards": {str(k): int(v) for k, v in guards.items()},
        # Hours each guard (or, as "none", the optimizer) was in charge: from each record to the next.
        "guard_hours": {str(guard): float(guard_hours[guard]) for guard in guards.index},
        "flags": inlet_flags(summary),
        # Decisions that passed over a cheaper safe choice to keep humid inlet air within the humidity limit.
        "humid_air_floor_decisions": int(decisions["humid_air_floor_c"].notna().sum()),
        "predicted_saving_kwh": float(saving_kwh.sum()),
        "monthly": monthly.reset_index(names="month").to_dict(orient="records"),
        "examples": _examples(records),
    }
    model_path = summary.controller_options.get("model")
    if model_path and Path(model_path).is_file():
        from greendc.learning.facility_model import FacilityModel, ModelFileError

        try:
            model = FacilityModel.load(model_path)
        except ModelFileError as error:  # replaced or retrained since the run: the run is still explained
            explanation["model_note"] = f"what drives the model is not shown: {error}"
            return explanation
        explanation["features"] = {
            target: {name: float(gain) for name, gain in model.feature_importance(target).head(top_features).items()}
            for target in (FACILITY.cooling_power_w.column, ZONE.inlet_temp_c.of(model.zone_names_[0]))
        }
        explanation["model_accuracy"] = model.metrics_
    return explanation


def _baseline_block_starts(run_dir: Path) -> pd.DatetimeIndex | None:
    """When each baseline block of an A/B run began (the start of its first interval), or None for a run
    without an A/B schedule."""
    telemetry = run_dir / "telemetry.parquet"
    if not telemetry.is_file():
        return None
    import pyarrow.parquet as pq

    if ARM_COLUMN not in pq.read_schema(telemetry).names:
        return None
    frame = pd.read_parquet(telemetry, columns=["time", ARM_COLUMN])
    arms, times = frame[ARM_COLUMN], pd.to_datetime(frame["time"])
    step = times.diff().median()
    starts = (arms == BASELINE) & (arms.shift(1) == CANDIDATE)
    return pd.DatetimeIndex(times[starts] - step)


def inlet_flags(summary: RunSummary) -> list[str]:
    """One line for each way the run's inlets left the ASHRAE recommended range (18-27 C; 32 C is the A1
    allowable limit), with the steps and hours: what a predicted saving must be read against."""
    step_h = summary.timestep_h
    flags = []
    for steps, what in ((summary.steps_above_27c, "above 27 C, the recommended maximum"),
                        (summary.steps_above_32c, "above 32 C, the allowable maximum (class A1)"),
                        (summary.steps_below_18c, "below 18 C, the recommended minimum")):
        if steps:
            flags.append(f"{steps} steps ({steps * step_h:.1f} h) with a server inlet {what}")
    return flags


def _decision_table(records: list[DecisionRecord]) -> pd.DataFrame:
    """The figures of each decision the explanation aggregates, one row per decision."""
    return pd.DataFrame({
        "time": pd.to_datetime([record.time for record in records]),
        "guard": [record.guard for record in records],
        "applied": [record.applied for record in records],
        "predicted_saving_w": [record.prediction.saving_w if record.prediction else None for record in records],
        "mean_supply_air_setpoint_c": [_mean(record.chosen.supply_air_setpoint_c) for record in records],
        "hottest_inlet_c": [record.hottest_inlet_c for record in records],
        "humid_air_floor_c": [record.humid_air_floor_c for record in records],
        "decision_ms": [record.decision_ms for record in records],
    }).astype({"predicted_saving_w": float, "mean_supply_air_setpoint_c": float, "humid_air_floor_c": float})


def _mean(values: dict[str, float] | None) -> float | None:
    return sum(values.values()) / len(values) if values else None


def _examples(records: list[DecisionRecord]) -> list[dict[str, Any]]:
    """The decision with the largest predicted saving and the first of each guard that fired."""
    picks = []
    predicted = [record for record in records if record.prediction is not None]
    if predicted:
        picks.append(max(predicted, key=lambda record: record.prediction.saving_w))
    seen: set[str] = set()
    for record in records:
        if record.guard != "none" and record.guard not in seen:
            seen.add(record.guard)
            picks.append(record)
    return [_example(record) for record in picks]


def _example(record: DecisionRecord) -> dict[str, Any]:
    example = {"time": str(record.time), "guard": record.guard, "applied": record.applied,
               "detail": record.detail, "hottest_inlet_c": record.hottest_inlet_c,
               "chosen_supply_air_setpoint_c": record.chosen.supply_air_setpoint_c,
               "baseline_supply_air_setpoint_c": record.baseline.supply_air_setpoint_c}
    if record.prediction is not None:
        example["predicted_saving_w"] = record.prediction.saving_w
        example["predicted_inlet_temp_c"] = record.prediction.inlet_temp_c
    return example
