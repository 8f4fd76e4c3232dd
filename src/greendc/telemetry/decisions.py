"""The decision record: what a controller that explains itself (the ai) decided at each step, and why.

A :class:`DecisionRecord` holds a decision's inputs, the setpoints it chose and those of the baseline rule,
the model's predictions with their uncertainty, the guard that fired and what the decision cost. Written as
``decisions.parquet`` by :func:`write_decisions` (one flat column per value, the layout of
:func:`decisions_frame`) and read back by :func:`read_decisions`; no other code knows the column names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from greendc.files import InputFileError, checked_input_file
from greendc.telemetry.contract import Action
from greendc.telemetry.sensors import FACILITY, ZONE

#: A decision log of a year at one decision a step is about a megabyte; a gigabyte is not a decision log.
MAX_DECISIONS_FILE_BYTES = 1024**3
_SCALARS = ("guard", "detail", "mode", "applied", FACILITY.outdoor_dry_bulb_c.column, FACILITY.it_power_w.column,
            "hottest_inlet_c", "humid_air_floor_c", "decision_ms", "drift_statistic", "drift_margin_c")
_PREDICTED = (FACILITY.cooling_power_w.column, FACILITY.it_power_w.column, "objective_w", "baseline_objective_w")


@dataclass(frozen=True)
class Prediction:
    """What the facility model predicted for the chosen setpoints (W, C) and for the baseline rule's."""

    cooling_power_w: float
    it_power_w: float
    objective_w: float
    baseline_objective_w: float
    inlet_temp_c: dict[str, float]
    inlet_temp_std_c: dict[str, float]

    @property
    def saving_w(self) -> float:
        """Predicted objective of the baseline rule's setpoints minus that of the chosen ones, W."""
        return self.baseline_objective_w - self.objective_w


@dataclass(frozen=True)
class DecisionRecord:
    """One decision. ``applied`` is who was in charge: ``ai``, ``baseline`` (a guard handed over),
    ``recovery`` (a measured inlet at the limit), ``held`` (the setpoints kept while an over-limit reading waits
    for corroboration) or ``site`` (advisory mode: the site's own control, the decision only recommended)."""

    time: datetime
    guard: str
    detail: str
    mode: str
    applied: str
    outdoor_dry_bulb_c: float
    it_power_w: float
    hottest_inlet_c: float
    chosen: Action
    baseline: Action
    prediction: Prediction | None
    decision_ms: float
    #: The humid-air floor (C) the chosen setpoints keep the inlets above, when it ruled out a cheaper choice.
    humid_air_floor_c: float | None = None
    #: The drift monitor's statistic (standard deviations; ``greendc.control.drift``) at this decision.
    drift_statistic: float = 0.0
    #: How much the safety margin was widened because the plant ran warmer than predicted, K.
    drift_margin_c: float = 0.0
    #: The latest residual (measured minus predicted) of each target compared so far: inlets K, cooling power W.
    residuals: dict[str, float] = field(default_factory=dict)


def _setpoint_columns(label: str, action: Action) -> dict[str, float]:
    columns = {f"{label}:{ZONE.supply_air_setpoint_c.of(z)}": v
               for z, v in (action.supply_air_setpoint_c or {}).items()}
    columns.update({f"{label}:{ZONE.zone_cooling_setpoint_c.of(z)}": v
                    for z, v in (action.zone_cooling_setpoint_c or {}).items()})
    if action.chilled_water_setpoint_c is not None:
        columns[f"{label}:{FACILITY.chilled_water_setpoint_c.column}"] = action.chilled_water_setpoint_c
    return columns


def _row(record: DecisionRecord) -> dict[str, object]:
    row: dict[str, object] = {"time": record.time, **{name: getattr(record, name) for name in _SCALARS}}
    row.update(_setpoint_columns("chosen", record.chosen))
    row.update(_setpoint_columns("baseline", record.baseline))
    if record.prediction is not None:
        prediction = record.prediction
        row.update({f"predicted_{name}": getattr(prediction, name) for name in _PREDICTED})
        row["predicted_saving_w"] = prediction.saving_w
        for zone, inlet_c in prediction.inlet_temp_c.items():
            row[f"predicted:{ZONE.inlet_temp_c.of(zone)}"] = inlet_c
            row[f"predicted:{zone}/inlet_temp_std_c"] = prediction.inlet_temp_std_c[zone]
    row.update({f"residual:{target}": value for target, value in record.residuals.items()})
    return row


def decisions_frame(records: Iterable[DecisionRecord]) -> pd.DataFrame:
    """The records as one flat table, a row per decision (the layout of ``decisions.parquet``)."""
    return pd.DataFrame([_row(record) for record in records])


def write_decisions(path: Path, records: Sequence[DecisionRecord] | pd.DataFrame) -> Path:
    """Write ``decisions.parquet`` (the one writer of this file)."""
    frame = records if isinstance(records, pd.DataFrame) else decisions_frame(records)
    frame.to_parquet(path, index=False)
    return path


def _zone_values(frame: pd.DataFrame, row: pd.Series, prefix: str, suffix: str) -> dict[str, float]:
    return {column[len(prefix):-len(suffix)]: float(row[column]) for column in frame.columns
            if column.startswith(prefix) and column.endswith(suffix) and pd.notna(row[column])}


def _action(frame: pd.DataFrame, row: pd.Series, label: str) -> Action:
    water = row.get(f"{label}:{FACILITY.chilled_water_setpoint_c.column}")
    return Action(_zone_values(frame, row, f"{label}:", f"/{ZONE.supply_air_setpoint_c.column}") or None,
                  _zone_values(frame, row, f"{label}:", f"/{ZONE.zone_cooling_setpoint_c.column}") or None,
                  None if water is None or pd.isna(water) else float(water))


def _optional(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _record(frame: pd.DataFrame, row: pd.Series) -> DecisionRecord:
    prediction = None
    if pd.notna(row.get("predicted_objective_w")):
        prediction = Prediction(
            **{name: float(row[f"predicted_{name}"]) for name in _PREDICTED},
            inlet_temp_c=_zone_values(frame, row, "predicted:", f"/{ZONE.inlet_temp_c.column}"),
            inlet_temp_std_c=_zone_values(frame, row, "predicted:", "/inlet_temp_std_c"),
        )
    return DecisionRecord(
        time=pd.Timestamp(row["time"]).to_pydatetime(), guard=str(row["guard"]), detail=str(row["detail"]),
        mode=str(row["mode"]), applied=str(row["applied"]),
        outdoor_dry_bulb_c=float(row[FACILITY.outdoor_dry_bulb_c.column]),
        it_power_w=float(row[FACILITY.it_power_w.column]), hottest_inlet_c=float(row["hottest_inlet_c"]),
        chosen=_action(frame, row, "chosen"), baseline=_action(frame, row, "baseline"), prediction=prediction,
        decision_ms=float(row["decision_ms"]), humid_air_floor_c=_optional(row.get("humid_air_floor_c")),
        drift_statistic=float(row.get("drift_statistic", 0.0)), drift_margin_c=float(row.get("drift_margin_c", 0.0)),
        residuals={column[len("residual:"):]: float(row[column]) for column in frame.columns
                   if column.startswith("residual:") and pd.notna(row[column])},
    )


def read_decisions(path: Path) -> list[DecisionRecord]:
    """Read ``decisions.parquet`` back into records; a file that is not one is one error naming it."""
    path = checked_input_file(path, MAX_DECISIONS_FILE_BYTES, "decision log")
    try:
        frame = pd.read_parquet(path)
        return [_record(frame, row) for _, row in frame.iterrows()]
    except (KeyError, ValueError, TypeError, OSError) as error:
        raise InputFileError(path, "<decisions>", f"not a greendc decision log ({type(error).__name__}: "
                                                  f"{str(error)[:200]})") from None
