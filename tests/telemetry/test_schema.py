from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greendc.telemetry.schema import TelemetryError, load_telemetry, validate_telemetry


def _frame(rows: int = 8) -> pd.DataFrame:
    data = {
        "time": pd.date_range("2001-07-01 00:15", periods=rows, freq="15min"),
        "outdoor_dry_bulb_c": 25.0, "outdoor_wet_bulb_c": 19.0, "outdoor_relative_humidity_pct": 60.0,
        "it_power_w": 90_000.0, "cooling_power_w": 12_000.0, "facility_power_w": 107_000.0,
    }
    for name, value in (("it_power_w", 90_000.0), ("inlet_temp_c", 22.0), ("zone_air_temp_c", 30.0),
                        ("supply_air_temp_c", 21.0), ("supply_air_setpoint_c", 21.0),
                        ("zone_cooling_setpoint_c", 30.0)):
        data[f"Hall/{name}"] = value
    return pd.DataFrame(data)


def test_valid_telemetry() -> None:
    telemetry = validate_telemetry(_frame())
    assert telemetry.zone_names == ["Hall"] and telemetry.interval_h == 0.25


def test_missing_columns_are_named() -> None:
    with pytest.raises(TelemetryError, match=r"missing column\(s\) cooling_power_w, Hall/supply_air_setpoint_c"):
        validate_telemetry(_frame().drop(columns=["cooling_power_w", "Hall/supply_air_setpoint_c"]))
    with pytest.raises(TelemetryError, match="at least one IT zone"):
        validate_telemetry(_frame().drop(columns=["Hall/inlet_temp_c"]))


def test_duplicate_timestamps() -> None:
    frame = _frame()
    frame.loc[3, "time"] = frame.loc[2, "time"]
    with pytest.raises(TelemetryError, match="duplicate timestamp 2001-07-01 00:45"):
        validate_telemetry(frame, "bms.csv")


@pytest.mark.parametrize(("column", "value", "hint"), [
    ("Hall/inlet_temp_c", 71.6, "Fahrenheit"),
    ("Hall/inlet_temp_c", 295.15, "kelvin"),
    ("it_power_w", 90.0, None),
])
def test_wrong_units_are_named(column: str, value: float, hint: str | None) -> None:
    frame = _frame()
    frame[column] = value
    if hint is None:  # 90 W of IT is physically possible; kW mistakes in IT power pass the range check
        validate_telemetry(frame)
        return
    with pytest.raises(TelemetryError, match=f"{column}.*{hint}"):
        validate_telemetry(frame)


def test_isolated_faults_become_missing_values() -> None:
    frame = _frame()
    frame.loc[2, "Hall/inlet_temp_c"] = 999.0
    frame.loc[4, "outdoor_dry_bulb_c"] = np.nan
    telemetry = validate_telemetry(frame)
    assert np.isnan(telemetry.frame.loc[2, "Hall/inlet_temp_c"])
    assert telemetry.frame["Hall/inlet_temp_c"].notna().sum() == 7


def test_folder_loading_keeps_files_apart(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        _frame().to_parquet(tmp_path / name / "telemetry.parquet")
    (tmp_path / "a" / "notes.csv").write_text("not telemetry\n")
    telemetry = load_telemetry(tmp_path)
    assert len(telemetry.frame) == 16 and sorted(telemetry.frame["episode"].unique()) == [0, 1]
    (tmp_path / "empty").mkdir()
    with pytest.raises(TelemetryError, match=r"no \.parquet or \.csv"):
        load_telemetry(tmp_path / "empty")
    with pytest.raises(TelemetryError, match="telemetry not found"):
        load_telemetry(tmp_path / "absent")
