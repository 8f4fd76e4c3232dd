"""greendc verify on synthetic metered years whose true saving is known; every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from greendc.cli.main import app
from greendc.verification.ab_test import verify_ab
from greendc.verification.adjustments import Adjustments, BaselineAdjustment, Exclusion
from greendc.verification.meter_data import MeterDataError, VerificationRefusedError
from greendc.verification.record import read_verification
from greendc.verification.savings import VerifyOptions, verify_savings
from tests.verification.conftest import synthetic_year, write

runner = CliRunner()


def _true_saving_kwh(seed: int, saving: float, growth: float) -> float:
    without = synthetic_year("2024-01-01 01:00", seed=seed, growth=growth)
    with_measure = synthetic_year("2024-01-01 01:00", seed=seed, saving=saving, growth=growth)
    return float((without["facility_power_w"] - with_measure["facility_power_w"]).sum() / 1000)


def test_the_true_saving_lies_in_the_interval(two_years: tuple[Path, Path]) -> None:
    baseline, reporting = two_years
    record = verify_savings(str(baseline), str(reporting), VerifyOptions(energy="facility"))
    truth = _true_saving_kwh(seed=2, saving=0.2, growth=0.1)
    assert record.avoided_kwh_lower <= truth <= record.avoided_kwh_upper
    assert record.distinguishable_from_zero
    assert abs(record.avoided_kwh - truth) / truth < 0.05
    assert record.statistics.passes and record.cv_rmse < 0.05
    assert len(record.monthly) == 12
    assert sum(m.avoided_kwh for m in record.monthly) == pytest.approx(record.avoided_kwh)
    assert record.ipmvp_option.startswith("C")
    assert record.it_load_signal.startswith("IT utilisation")
    names = {v.name for v in record.independent_variables}
    assert names >= {"outdoor air dry-bulb temperature", "outdoor air dew-point temperature"}


def test_cooling_energy_is_option_b(two_years: tuple[Path, Path]) -> None:
    baseline, reporting = two_years
    record = verify_savings(str(baseline), str(reporting), VerifyOptions(energy="cooling"))
    assert record.ipmvp_option.startswith("B")
    assert 0.15 < record.savings_fraction < 0.25


def test_json_contract_and_exit_codes(two_years: tuple[Path, Path], tmp_path: Path) -> None:
    baseline, reporting = two_years
    out = tmp_path / "verified.json"
    result = runner.invoke(app, ["verify", "--baseline", str(baseline), "--reporting", str(reporting),
                                 "--json", str(out), "--confidence", "95"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    for key in ("energy", "confidence", "avoided_kwh", "avoided_kwh_lower", "avoided_kwh_upper",
                "fractional_savings_uncertainty", "baseline_period", "reporting_period", "independent_variables",
                "cv_rmse", "nmbe", "r2", "method", "monthly"):
        assert key in data, key
    assert data["confidence"] == 95
    assert read_verification(out).avoided_kwh == pytest.approx(data["avoided_kwh"])


def test_no_saving_is_not_distinguishable_from_zero(tmp_path: Path) -> None:
    baseline = write(synthetic_year("2023-01-01 01:00", seed=1), tmp_path / "b.parquet")
    reporting = write(synthetic_year("2024-01-01 01:00", seed=2), tmp_path / "r.parquet")
    out = tmp_path / "v.json"
    result = runner.invoke(app, ["verify", "--baseline", str(baseline), "--reporting", str(reporting),
                                 "--json", str(out)])
    assert result.exit_code == 1, result.output
    assert "not distinguishable from zero" in result.output
    assert read_verification(out).distinguishable_from_zero is False


def _refusal(tmp_path: Path, baseline: pd.DataFrame, reporting: pd.DataFrame, *extra: str) -> str:
    b = write(baseline, tmp_path / "b.parquet")
    r = write(reporting, tmp_path / "r.parquet")
    out = tmp_path / "v.json"
    result = runner.invoke(app, ["verify", "--baseline", str(b), "--reporting", str(r), "--json", str(out), *extra])
    assert result.exit_code == 2, result.output
    assert not out.exists()
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) <= 3  # one message, wrapped by the terminal width at most
    return " ".join(result.output.split())


def test_refusals_name_the_reason(tmp_path: Path) -> None:
    year = synthetic_year("2023-01-01 01:00", seed=1)
    after = synthetic_year("2024-01-01 01:00", seed=2, saving=0.2)
    assert "overlaps the baseline period" in _refusal(tmp_path, year, synthetic_year("2023-06-01 01:00", seed=2))
    short = synthetic_year("2023-01-01 01:00", seed=1, hours=24 * 60)
    assert "covers 60 days" in _refusal(tmp_path, short, after)
    gap = year.drop(index=range(100, 110))
    assert "10 missing timestamp(s)" in _refusal(tmp_path, gap, after)
    twice = pd.concat([year, year.iloc[[50]]]).reset_index(drop=True)
    assert "duplicate timestamp" in _refusal(tmp_path, twice, after)
    mixed = pd.concat([year.iloc[:200], year.iloc[200:].assign(time=year["time"].iloc[200:] + pd.Timedelta(
        minutes=30))]).reset_index(drop=True)
    assert "different length" in _refusal(tmp_path, mixed, after)
    assert "outdoor_dew_point_c" in _refusal(tmp_path, year, after.drop(columns="outdoor_dew_point_c"))
    in_kw = after.rename(columns={"facility_power_w": "facility_power_kw"})
    assert "facility_power_w" in _refusal(tmp_path, year, in_kw)
    hot = synthetic_year("2024-01-01 01:00", seed=2, warmer_k=20)
    assert "outside the range the baseline covered" in _refusal(tmp_path, year, hot)
    noisy = year.assign(cooling_power_w=np.random.default_rng(3).uniform(0, 40_000, len(year)))
    assert "CV(RMSE)" in _refusal(tmp_path, noisy, after, "--energy", "cooling")
    no_load = after.drop(columns=[c for c in after if c.endswith("it_load_fraction")])
    assert "it_load_fraction" in _refusal(tmp_path, year.drop(columns=[c for c in year if c.endswith(
        "it_load_fraction")]), no_load)


def test_exclusions_excuse_a_gap_and_adjustments_move_the_baseline(tmp_path: Path) -> None:
    year = synthetic_year("2023-01-01 01:00", seed=1)
    gap = year.drop(index=range(100, 110))
    after = synthetic_year("2024-01-01 01:00", seed=2, saving=0.2)
    b, r = write(gap, tmp_path / "b.parquet"), write(after, tmp_path / "r.parquet")
    start, end = year["time"].iloc[99], year["time"].iloc[110]
    plain = verify_savings(str(b), str(r), VerifyOptions(adjustments=Adjustments(
        exclude=[Exclusion(start=start, end=end, reason="meter replaced")])))
    assert plain.adjustments[0].kind == "exclude" and plain.adjustments[0].hours == 1  # hour 111 itself
    added = Adjustments(exclude=plain_exclusions(start, end), adjust_baseline=[BaselineAdjustment(
        start=pd.Timestamp("2024-06-01"), end=pd.Timestamp("2024-07-01"), energy_kwh_per_hour=10.0,
        reason="hall C added")])
    adjusted = verify_savings(str(b), str(r), VerifyOptions(adjustments=added))
    assert adjusted.avoided_kwh - plain.avoided_kwh == pytest.approx(720 * 10.0)
    assert adjusted.adjustments[-1].energy_kwh == pytest.approx(7200.0)


def plain_exclusions(start: pd.Timestamp, end: pd.Timestamp) -> list[Exclusion]:
    return [Exclusion(start=start, end=end, reason="meter replaced")]


def test_a_b_estimate_covers_the_true_saving(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    days = rng.permutation(np.repeat([0, 1], 183))[:365]
    arm = np.repeat(days, 24)[:8760]
    frame = synthetic_year("2024-01-01 01:00", seed=4, saving=0.2, arm=arm, growth=0.1)
    without = synthetic_year("2024-01-01 01:00", seed=4, growth=0.1)
    path = write(frame, tmp_path / "ab.parquet")
    record = verify_ab(str(path), "facility", 90.0, settling_hours=0)  # synthetic hours carry no thermal mass
    truth = float(((without["facility_power_w"] - frame["facility_power_w"]).sum()) / 1000)
    assert record.avoided_kwh_lower <= truth <= record.avoided_kwh_upper
    assert record.distinguishable_from_zero
    assert "A/B" in record.method


def test_a_b_needs_the_arm_column(tmp_path: Path) -> None:
    path = write(synthetic_year("2024-01-01 01:00", seed=4), tmp_path / "plain.parquet")
    with pytest.raises(VerificationRefusedError, match="ab_arm"):
        verify_ab(str(path), "facility", 90.0)


def test_bad_arm_values_are_refused(tmp_path: Path) -> None:
    frame = synthetic_year("2024-01-01 01:00", seed=4, arm=np.ones(8760, int)).assign(ab_arm="maybe")
    with pytest.raises(MeterDataError, match="maybe"):
        verify_ab(str(write(frame, tmp_path / "bad.parquet")), "facility", 90.0)


def test_adjustments_file_errors_name_the_field(tmp_path: Path, two_years: tuple[Path, Path]) -> None:
    baseline, reporting = two_years
    bad = tmp_path / "changes.yaml"
    bad.write_text("exclude:\n  - {start: 2024-03-04 00:00, end: 2024-03-01 00:00, reason: chiller replaced}\n")
    result = runner.invoke(app, ["verify", "--baseline", str(baseline), "--reporting", str(reporting),
                                 "--adjustments", str(bad)])
    assert result.exit_code == 2
    assert "exclude[0]" in result.output and "end must be after start" in result.output


def test_verify_ab_on_the_command_line(tmp_path: Path) -> None:
    arm = np.repeat(np.random.default_rng(7).permutation(np.repeat([0, 1], 183))[:365], 24)[:8760]
    path = write(synthetic_year("2024-01-01 01:00", seed=8, saving=0.2, arm=arm), tmp_path / "ab" / "t.parquet")
    out = tmp_path / "ab.json"
    result = runner.invoke(app, ["verify", "--ab", str(path), "--json", str(out)])
    assert result.exit_code == 0, result.output
    record = read_verification(out)
    assert record.avoided_kwh > 0 and record.distinguishable_from_zero
    assert "had it run throughout" in " ".join(record.notes)
    both = runner.invoke(app, ["verify", "--ab", str(path), "--baseline", str(path)])
    assert both.exit_code == 2 and "not both" in both.output


def test_more_refusals_found_by_review(tmp_path: Path) -> None:
    year = synthetic_year("2023-01-01 01:00", seed=1)
    after = synthetic_year("2024-01-01 01:00", seed=2, saving=0.2)
    zoned = year.assign(time=year["time"].dt.tz_localize("Asia/Shanghai"))
    assert "time zone" in _refusal(tmp_path, zoned, after)
    assert "comes before the baseline" in _refusal(tmp_path, after, year)
    assert "364 days" in _refusal(tmp_path, year.iloc[24:], after)
    assert "dead meter" in _refusal(tmp_path, year, after.assign(cooling_power_w=0.0), "--energy", "cooling")
    assert "name the IT load" in _refusal(tmp_path, year, after, "--it-load", "cooling_power_w")
    assert "needs --it-load normalized" in _refusal(tmp_path, year, after, "--site", "examples/sites/x.yaml")
    changes = tmp_path / "changes.yaml"
    changes.write_text("exclude:\n  - {start: 2019-01-01 00:00, end: 2019-02-01 00:00, reason: typo in the year}\n")
    assert "covers no hour" in _refusal(tmp_path, year, after, "--adjustments", str(changes))
    changes.write_text("adjust_baseline:\n"
                       "  - {start: 2024-06-01 00:00, end: 2024-07-01 00:00, energy_kwh_per_hour: 5, reason: hall C}\n"
                       "  - {start: 2024-06-15 00:00, end: 2024-07-15 00:00, energy_kwh_per_hour: 5, reason: hall C}\n")
    assert "overlap" in _refusal(tmp_path, year, after, "--adjustments", str(changes))


def test_a_gap_at_the_start_does_not_change_the_interval_length(tmp_path: Path) -> None:
    year = synthetic_year("2023-01-01 01:00", seed=1)
    after = synthetic_year("2024-01-01 01:00", seed=2, saving=0.2)
    b, r = write(year.drop(index=[1, 2, 3]), tmp_path / "b.parquet"), write(after, tmp_path / "r.parquet")
    rules = Adjustments(exclude=[Exclusion(start=pd.Timestamp("2023-01-01 01:00"), end=pd.Timestamp(
        "2023-01-01 05:00"), reason="meter restarted")])
    record = verify_savings(str(b), str(r), VerifyOptions(adjustments=rules))
    truth = _true_saving_kwh(seed=2, saving=0.2, growth=0.0)
    assert record.avoided_kwh_lower <= truth <= record.avoided_kwh_upper


def test_a_b_with_day_blocks_and_long_settling_is_refused(tmp_path: Path) -> None:
    arm = np.repeat(np.arange(365) % 2, 24)  # the arm changes every midnight: mornings are never settled
    path = write(synthetic_year("2024-01-01 01:00", seed=4, saving=0.2, arm=arm), tmp_path / "ab.parquet")
    with pytest.raises(VerificationRefusedError, match="longer blocks"):
        verify_ab(str(path), "facility", 90.0, settling_hours=12)
