from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from greendc.results.store import write_directory_atomic, write_json_atomic
from greendc.results.summary import summarize


def _telemetry() -> pd.DataFrame:
    """Four 15-minute steps of a one-zone facility with hand-picked values."""
    time = pd.date_range("2001-01-31 23:30", periods=4, freq="15min")  # two steps in January, two in February
    return pd.DataFrame({
        "time": time,
        "Hall/it_cpu_power_w": [90_000.0] * 4,
        "Hall/it_fan_power_w": [10_000.0] * 4,
        "Hall/it_power_w": [100_000.0] * 4,
        "it_power_w": [100_000.0] * 4,
        "Hall/ups_power_w": [5_000.0] * 4,
        "Hall/supply_fan_power_w": [4_000.0] * 4,
        "chiller_power_w": [16_000.0, 16_000.0, 0.0, 0.0],
        "cooling_power_w": [20_000.0, 20_000.0, 4_000.0, 4_000.0],
        "facility_power_w": [125_000.0, 125_000.0, 109_000.0, 109_000.0],
        "Hall/inlet_temp_c": [17.0, 26.0, 28.0, 33.0],
        "Hall/inlet_dew_point_c": [10.0, 16.0, 10.0, 10.0],
        "Hall/inlet_relative_humidity_pct": [40.0, 50.0, 65.0, 30.0],
        "Hall/direct_evaporative_water_m3": [0.1, 0.0, 0.0, 0.2],
    })


def test_annual_figures_by_hand() -> None:
    summary = summarize(_telemetry(), ["Hall"], 0.25)
    assert summary.it_kwh == pytest.approx(4 * 100 * 0.25)
    assert summary.cooling_kwh == pytest.approx((20 + 20 + 4 + 4) * 0.25)
    assert summary.facility_kwh == pytest.approx((125 + 125 + 109 + 109) * 0.25)
    assert summary.pue == pytest.approx(468 / 400)
    assert summary.fans_kwh == pytest.approx(4 * 4 * 0.25)
    assert summary.chiller_kwh == pytest.approx(2 * 16 * 0.25)
    assert summary.ups_losses_kwh == pytest.approx(4 * 5 * 0.25)
    assert summary.other_kwh == pytest.approx(0.0, abs=1e-9)
    assert summary.water_m3 == pytest.approx(0.3)
    assert summary.steps_above_27c == 2
    assert summary.steps_above_32c == 1
    assert summary.steps_below_18c == 1
    assert summary.steps_humid == 2  # dew point 16 C, then 65 % RH
    assert summary.inlet_max_c == 33.0


def test_monthly_split_uses_the_step_start() -> None:
    months = summarize(_telemetry(), ["Hall"], 0.25).monthly
    # Steps ending 23:30 and 23:45 on 31 January are January; those ending 00:00 and 00:15 are not both.
    assert [m.month for m in months] == [1, 2]
    assert months[0].it_kwh == pytest.approx(3 * 25.0)
    assert months[1].it_kwh == pytest.approx(25.0)


def test_monthly_counts_add_up_to_the_year() -> None:
    summary = summarize(_telemetry(), ["Hall"], 0.25)
    january, february = summary.monthly
    # January holds the steps with inlets 17, 26 (dew point 16 C) and 28 C (65 % RH); February the 33 C step.
    assert (january.steps_above_27c, january.steps_above_32c, january.steps_below_18c,
            january.steps_humid) == (1, 0, 1, 2)
    assert (february.steps_above_27c, february.steps_above_32c, february.steps_below_18c,
            february.steps_humid) == (1, 1, 0, 0)
    for key in ("steps_above_27c", "steps_above_32c", "steps_below_18c", "steps_humid"):
        assert getattr(january, key) + getattr(february, key) == getattr(summary, key)


def test_failed_write_leaves_no_complete_looking_output(tmp_path: Path) -> None:
    out = tmp_path / "run"

    def failing(staging: Path) -> None:
        write_json_atomic(staging / "summary.json", {"it_kwh": 1.0})
        raise RuntimeError("simulation failed half way")

    with pytest.raises(RuntimeError):
        write_directory_atomic(out, failing)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_results_replaced_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_directory_atomic(out, lambda d: (d / "summary.json").write_text("old"))
    with pytest.raises(RuntimeError):
        write_directory_atomic(out, lambda d: (_ for _ in ()).throw(RuntimeError("boom")))
    assert (out / "summary.json").read_text() == "old"
    write_directory_atomic(out, lambda d: (d / "summary.json").write_text("new"))
    assert (out / "summary.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
