"""Features and targets of the facility model, built from telemetry only.

Each training row pairs the facility's state at the end of interval t-1 with the setpoints in force
during interval t (the action) and the action's outcome: the cooling electric power during t, and the
server inlet temperatures and IT electric power during t+1. Servers see a setpoint change one interval
after the air handler makes it (in the twin as in a real room, supply air takes time to reach the
racks), so judging an action by the inlets of its own interval would credit it with its predecessor's
effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from greendc.errors import UsageError, quoted
from greendc.telemetry.schema import Telemetry
from greendc.telemetry.sensors import FACILITY, ZONE

# The model's columns, named through the sensor registry. No lagged values of the targets: with them the trees
# lean on persistence ("next cooling power is about this one"), which predicts well but hides how the outcome
# depends on the action the optimizer varies.
STATE_COLUMNS = tuple(sensor.column for sensor in (FACILITY.outdoor_dry_bulb_c, FACILITY.outdoor_wet_bulb_c,
                                                   FACILITY.outdoor_relative_humidity_pct, FACILITY.it_power_w))
ZONE_STATE_COLUMNS = (ZONE.it_power_w.column,)
#: The actions are the setpoints a controller sets (the registry's setpoint sensors): per zone, then the plant's.
ZONE_ACTION_COLUMNS = tuple(sensor.column for sensor in ZONE if sensor.setpoint)
[PLANT_ACTION_COLUMN] = [sensor.column for sensor in FACILITY if sensor.setpoint]
#: The outcomes the model predicts: cooling and IT power, then each zone's inlet.
TARGET_COLUMNS = (FACILITY.cooling_power_w.column, FACILITY.it_power_w.column)
ZONE_TARGET_COLUMNS = (ZONE.inlet_temp_c.column,)


def action_columns(zone_names: list[str], has_chiller_plant: bool) -> list[str]:
    columns = [f"{zone}/{name}" for zone in zone_names for name in ZONE_ACTION_COLUMNS]
    return [*columns, PLANT_ACTION_COLUMN] if has_chiller_plant else columns


def feature_names(zone_names: list[str], has_chiller_plant: bool) -> list[str]:
    """Names of the model inputs, in order: state (``state:`` prefix), calendar, then action."""
    state = [f"state:{c}" for c in STATE_COLUMNS]
    state += [f"state:{zone}/{name}" for zone in zone_names for name in ZONE_STATE_COLUMNS]
    return [*state, "hour_sin", "hour_cos", *action_columns(zone_names, has_chiller_plant)]


def target_names(zone_names: list[str]) -> list[str]:
    return [*TARGET_COLUMNS, *[f"{zone}/{name}" for zone in zone_names for name in ZONE_TARGET_COLUMNS]]


def zone_columns(zone: str) -> list[str]:
    """The columns the model needs of one zone: its state, its actions and its outcome."""
    return [f"{zone}/{name}" for name in (*ZONE_STATE_COLUMNS, *ZONE_ACTION_COLUMNS, *ZONE_TARGET_COLUMNS)]


class TrainingDataError(UsageError):
    """Telemetry the facility model cannot be trained on as it stands (a zone's column missing or empty)."""


def check_training_columns(telemetry: Telemetry, zone_names: list[str], has_chiller_plant: bool) -> None:
    """Refuse telemetry that lacks a column the model needs for one of the site's zones, or holds no number in
    one (an empty column is a missing one), naming the zone and the columns.

    Telemetry finds its zones by their inlet columns, so a file without one hall's inlet column would
    otherwise train a model of the other halls without a word; the site says which zones there are. Zones
    in the telemetry that the site does not describe are refused too: their heat is in the facility's power.
    """
    frame = telemetry.frame
    problems = []
    for zone in zone_names:
        lacking = [column for column in zone_columns(zone) if column not in frame or not frame[column].notna().any()]
        if lacking:
            problems.append(f"zone {quoted(zone)} lacks {', '.join(quoted(column) for column in lacking)}")
    if has_chiller_plant and (PLANT_ACTION_COLUMN not in frame or not frame[PLANT_ACTION_COLUMN].notna().any()):
        problems.append(f"the site's chiller plant lacks {quoted(PLANT_ACTION_COLUMN)}")
    if problems:
        raise TrainingDataError(f"{telemetry.source}: {'; '.join(problems)} (missing or holding no number); the "
                                "facility model learns every zone of the site or none")
    unknown = [zone for zone in telemetry.zone_names if zone not in zone_names]
    if unknown:
        raise TrainingDataError(f"{telemetry.source}: zone(s) {', '.join(quoted(zone) for zone in unknown)} are "
                                f"not in the site description, which has {', '.join(quoted(z) for z in zone_names)}")


def hour_features(time: pd.Series | pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Time of day as a point on the unit circle (sine, cosine), so that 23:45 sits next to 00:00."""
    stamps = pd.DatetimeIndex(time)
    return hour_of_day_features(np.asarray(stamps.hour + stamps.minute / 60.0, dtype=float))


def hour_of_day_features(hour_of_day: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`hour_features` from the hour of day (0-24, fractional), without building timestamps."""
    angle = 2 * np.pi * np.asarray(hour_of_day, dtype=float) / 24.0
    return np.sin(angle), np.cos(angle)


@dataclass(frozen=True)
class TrainingTable:
    """Model inputs and targets, one row per consecutive pair of intervals, with each row's episode and time."""

    features: pd.DataFrame
    targets: pd.DataFrame
    episode: np.ndarray
    time: pd.Series

    def rows(self, mask: np.ndarray) -> TrainingTable:
        """The rows where ``mask`` is true, as a table of their own."""
        return TrainingTable(features=self.features[mask].reset_index(drop=True),
                             targets=self.targets[mask].reset_index(drop=True), episode=self.episode[mask],
                             time=self.time[mask].reset_index(drop=True))


def training_table(telemetry: Telemetry, has_chiller_plant: bool) -> TrainingTable:
    """Pair each interval's state with the next interval's action and outcome.

    Rows whose neighbours straddle a gap in time or another episode, or hold a missing value, are dropped.
    """
    zones = telemetry.zone_names
    frame = telemetry.frame
    if has_chiller_plant and PLANT_ACTION_COLUMN not in frame:
        raise ValueError(f"{telemetry.source}: missing column {PLANT_ACTION_COLUMN!r} for a site with a chiller plant")
    by_episode = frame.groupby("episode", sort=False)
    previous, following = by_episode.shift(1), by_episode.shift(-1)
    interval = pd.Timedelta(hours=telemetry.interval_h)
    consecutive = ((frame["time"] - previous["time"]) == interval) & ((following["time"] - frame["time"]) == interval)
    features = pd.DataFrame(index=frame.index)
    for column in STATE_COLUMNS:
        features[f"state:{column}"] = previous[column]
    for zone in zones:
        for name in ZONE_STATE_COLUMNS:
            features[f"state:{zone}/{name}"] = previous[f"{zone}/{name}"]
    features["hour_sin"], features["hour_cos"] = hour_features(frame["time"])
    for column in action_columns(zones, has_chiller_plant):
        features[column] = frame[column]
    # Cooling power during the action's interval; IT power and inlets during the next (see the module docstring).
    cooling, it = TARGET_COLUMNS
    targets = pd.DataFrame({cooling: frame[cooling], it: following[it]})
    for zone in zones:
        for name in ZONE_TARGET_COLUMNS:
            targets[f"{zone}/{name}"] = following[f"{zone}/{name}"]
    keep = (consecutive & features.notna().all(axis=1) & targets.notna().all(axis=1)).to_numpy()
    return TrainingTable(
        features=features.loc[keep, feature_names(zones, has_chiller_plant)].reset_index(drop=True),
        targets=targets.loc[keep].reset_index(drop=True),
        episode=frame["episode"].to_numpy()[keep],
        time=frame["time"][keep].reset_index(drop=True),
    )
