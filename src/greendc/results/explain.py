"""Why the ai controller did what it did: a summary of a run's decision log ("knowable")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from greendc.errors import GreendcError
from greendc.results.records import RunSummary


class ExplainError(GreendcError, ValueError):
    """A run folder without the decision log of an ai run."""


def explain_run(run_dir: Path | str, top_features: int = 8) -> dict[str, Any]:
    """Guard activations, predicted savings by month and the features that drive the model of a run."""
    run_dir = Path(run_dir)
    decisions_path = run_dir / "decisions.parquet"
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise ExplainError(f"{run_dir}: not a greendc run folder (no summary.json)")
    if not decisions_path.is_file():
        raise ExplainError(f"{run_dir}: no decisions.parquet; only ai runs log decisions")
    summary = RunSummary.read(summary_path)
    decisions = pd.read_parquet(decisions_path)
    interval_h = summary.timestep_h
    guards = decisions["guard"].value_counts()
    applied = decisions["applied"] == "ai"
    # A decision holds until the next record (the next decision, or a guard taking over), not one timestep.
    held_h = ((decisions["time"].shift(-1) - decisions["time"]).dt.total_seconds() / 3600.0).fillna(interval_h)
    saving_kwh = decisions["predicted_saving_w"].where(applied, 0.0).fillna(0.0) * held_h / 1000.0
    months = decisions["time"].dt.month
    supply_columns = [c for c in decisions.columns if c.startswith("chosen:") and c.endswith("supply_air_setpoint_c")]
    monthly = pd.DataFrame({
        "decisions": decisions.groupby(months).size(),
        "ai_applied_pct": 100.0 * applied.groupby(months).mean(),
        "predicted_saving_kwh": saving_kwh.groupby(months).sum(),
        "mean_supply_air_setpoint_c": decisions[supply_columns].mean(axis=1).groupby(months).mean(),
        "hottest_inlet_max_c": decisions["hottest_inlet_c"].groupby(months).max(),
    })
    explanation: dict[str, Any] = {
        "run": str(run_dir),
        "controller": summary.controller,
        "objective": summary.controller_options.get("objective"),
        "mode": summary.controller_options.get("mode"),
        "decisions": len(decisions),
        "decision_ms_median": float(decisions["decision_ms"].median()),
        "guards": {str(k): int(v) for k, v in guards.items()},
        # Decisions that passed over a cheaper safe choice to keep humid inlet air within the humidity limit.
        "humid_air_floor_decisions": int(decisions["humid_air_floor_c"].notna().sum())
        if "humid_air_floor_c" in decisions else 0,
        "predicted_saving_kwh": float(saving_kwh.sum()),
        "monthly": monthly.reset_index(names="month").to_dict(orient="records"),
        "examples": _examples(decisions),
    }
    model_path = summary.controller_options.get("model")
    if model_path and Path(model_path).is_file():
        from greendc.learning.facility_model import FacilityModel

        model = FacilityModel.load(model_path)
        explanation["features"] = {
            target: {name: float(gain) for name, gain in model.feature_importance(target).head(top_features).items()}
            for target in ("cooling_power_w", f"{model.zone_names_[0]}/inlet_temp_c")
        }
        explanation["model_accuracy"] = model.metrics_
    return explanation


def _examples(decisions: pd.DataFrame) -> list[dict[str, Any]]:
    """The decision with the largest predicted saving and the first of each guard that fired."""
    picks = []
    if decisions["predicted_saving_w"].notna().any():
        picks.append(decisions.loc[decisions["predicted_saving_w"].idxmax()])
    for guard in decisions["guard"].unique():
        if guard != "none":
            picks.append(decisions[decisions["guard"] == guard].iloc[0])
    return [{k: (str(v) if isinstance(v, pd.Timestamp) else v) for k, v in row.dropna().items()} for row in picks]
