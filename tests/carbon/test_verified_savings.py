"""Savings of three kinds: verified (a greendc verification record), simulated (a benchmark), entered.

Worked numbers: a record of 15.1 MWh +- 2.3 MWh at 90 % confidence at a CN-East site (2023 grid average
0.5500 t/MWh) avoids 15.1 x 0.55 = 8.305 t, between 12.8 x 0.55 = 7.04 t and 17.4 x 0.55 = 9.57 t.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greendc.carbon import calculate, load_inventory
from greendc.carbon.errors import InventoryError
from greendc.errors import GreendcError
from greendc.workflows.run_inventory import load_source

from .conftest import bench_records, compute, minimal, run_summary, write_inventory
from .verification_records import verification, write_record

FACTOR = 0.55  # CN-East 2023 grid average, t/MWh


def _with_savings(*savings: dict) -> dict:
    data = minimal()
    data["savings"] = list(savings)
    return data


def _verified(path: str = "verify.json", name: str = "ai control", site: str = "DC1") -> dict:
    return {"name": name, "site": site, "from_verification": path}


def test_a_verified_saving_carries_its_interval_into_the_avoided_emissions(tmp_path: Path) -> None:
    write_record(tmp_path)
    result = compute(tmp_path, _with_savings(_verified()))
    [saving] = result.savings
    assert saving.kind == "verified" and saving.kind_words == "verified (metered)"
    assert saving.saved_mwh == pytest.approx(15.1)
    assert saving.avoided_tco2 == pytest.approx(15.1 * FACTOR)
    assert (saving.saved_interval.lower, saving.saved_interval.upper) == pytest.approx((12.8, 17.4))
    assert (saving.avoided_interval.lower, saving.avoided_interval.upper) == pytest.approx((12.8 * FACTOR,
                                                                                            17.4 * FACTOR))
    assert saving.avoided_interval.confidence_pct == 90.0
    assert saving.record.statistics.cv_rmse == 0.08 and saving.record.ipmvp_option.startswith("C")
    assert "IPMVP Option C" in saving.basis and "2023-01-01 to 2023-03-31" in saving.basis
    # The totals of the site and the organization are the verified ones, with the same interval.
    for figures in (result.figures, result.sites[0].figures):
        assert figures["avoided_tco2"].value == pytest.approx(8.305)
        assert figures["avoided_tco2_verified"].interval.half_width == pytest.approx(2.3 * FACTOR)
        assert figures["avoided_tco2_simulated"].value == 0.0
    assert result.figures["energy_saved_mwh"].interval.lower == pytest.approx(12.8)
    assert result.sites[0].value("location_based_tco2") == pytest.approx(1000 * FACTOR)  # never netted


def test_the_figures_json_carries_the_kind_the_interval_and_the_record(tmp_path: Path) -> None:
    from greendc.carbon.export import to_json

    write_record(tmp_path)
    doc = to_json(compute(tmp_path, _with_savings(_verified())))
    [saving] = doc["avoided_emissions"]
    assert saving["kind"] == "verified"
    assert saving["interval"]["avoided_tco2_upper"] == pytest.approx(17.4 * FACTOR)
    assert saving["figures"]["avoided_tco2"]["interval"]["lower"] == pytest.approx(12.8 * FACTOR)
    assert saving["verification_record"]["statistics"]["cv_rmse_limit"] == 0.2
    assert doc["organization"]["avoided_tco2_verified"] == pytest.approx(8.305)


def test_a_saving_not_distinguishable_from_zero_is_refused(tmp_path: Path) -> None:
    record = write_record(tmp_path, verification(1_000.0, 2_500.0))
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, _with_savings(_verified()))
    assert info.value.file == str(record) and info.value.field == "distinguishable_from_zero"
    assert info.value.message == (
        "the saving of 1.0 MWh ± 2.5 MWh at 90 % confidence is not distinguishable from zero: not a saving that can "
        "be claimed"
    )


def test_a_record_that_says_distinguishable_with_an_interval_through_zero_is_refused_too(tmp_path: Path) -> None:
    write_record(tmp_path, verification(1_000.0, 2_500.0, distinguishable_from_zero=True))
    with pytest.raises(InventoryError, match="not distinguishable from zero"):
        compute(tmp_path, _with_savings(_verified()))


def test_an_increase_is_refused(tmp_path: Path) -> None:
    write_record(tmp_path, verification(-8_000.0, 2_000.0))
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, _with_savings(_verified()))
    assert info.value.field == "avoided_kwh"
    assert "8.0 MWh above the adjusted baseline" in info.value.message
    assert "not a saving that can be claimed" in info.value.message


def test_a_file_that_is_not_a_verification_record_is_refused(tmp_path: Path) -> None:
    data = json.loads(verification().model_dump_json())
    data["kind"] = "greendc-bench"
    (tmp_path / "verify.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, _with_savings(_verified()))
    assert info.value.field == "kind" and "not a greendc verification record" in info.value.message


def test_a_missing_record_names_its_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, _with_savings(_verified("nowhere.json")))
    assert info.value.file.endswith("nowhere.json")


def test_the_old_key_says_it_was_renamed_and_what_the_three_kinds_are(tmp_path: Path) -> None:
    data = minimal()
    data["verified_savings"] = [{"name": "x", "energy_saved": {"value": 1, "unit": "MWh"}}]
    with pytest.raises(InventoryError) as info:
        load_inventory(write_inventory(tmp_path, data))
    assert info.value.field == "verified_savings"
    message = info.value.message
    assert message.startswith("renamed to savings")
    for source in ("energy_saved (entered", "from_bench (simulated", "from_verification (verified"):
        assert source in message


def test_a_saving_gives_exactly_one_source(tmp_path: Path) -> None:
    both = {**_verified(), "energy_saved": {"value": 1, "unit": "MWh"}, "verification": "audit"}
    with pytest.raises(InventoryError, match="give exactly one of energy_saved") as info:
        load_inventory(write_inventory(tmp_path, _with_savings(both)))
    assert info.value.field == "savings[0]"


def test_an_entered_saving_says_who_verified_it(tmp_path: Path) -> None:
    entered = {"name": "x", "site": "DC1", "energy_saved": {"value": 5, "unit": "MWh"}}
    with pytest.raises(InventoryError, match="an entered saving needs verification"):
        load_inventory(write_inventory(tmp_path, _with_savings(entered)))
    result = compute(tmp_path, _with_savings({**entered, "verification": "assured by an auditor"}))
    assert result.savings[0].kind == "entered" and result.savings[0].kind_words == "entered"


def test_verified_savings_at_two_sites_add_in_quadrature(tmp_path: Path) -> None:
    # 15.1 +- 2.3 MWh (DC1, CN-East 0.5500) and 20.0 +- 3.0 MWh (DC2, CN-South 0.4042), both at 90 %.
    write_record(tmp_path, name="a.json")
    write_record(tmp_path, verification(20_000.0, 3_000.0), name="b.json")
    data = _with_savings(_verified("a.json", "a"), _verified("b.json", "b", "DC2"))
    data["sites"].append({"name": "DC2", "grid_region": "CN-South", "electricity": {"annual": {"value": 500,
                                                                                            "unit": "MWh"}}})
    result = compute(tmp_path, data)
    saved = result.figures["energy_saved_mwh_verified"]
    assert saved.value == pytest.approx(35.1)
    assert saved.interval.half_width == pytest.approx(math.hypot(2.3, 3.0))
    avoided = result.figures["avoided_tco2_verified"]
    assert avoided.value == pytest.approx(15.1 * 0.55 + 20.0 * 0.4042)
    assert avoided.interval.half_width == pytest.approx(math.hypot(2.3 * 0.55, 3.0 * 0.4042))
    assert avoided.interval.confidence_pct == 90.0


def test_intervals_at_different_confidences_are_brought_to_the_highest_before_adding() -> None:
    from statistics import NormalDist

    from greendc.carbon.figures import Interval
    from greendc.carbon.verified import sum_interval

    z90, z95 = NormalDist().inv_cdf(0.95), NormalDist().inv_cdf(0.975)
    total = sum_interval(30.0, [Interval(8.0, 12.0, 90.0), Interval(17.0, 23.0, 95.0)])
    assert total.confidence_pct == 95.0
    assert total.half_width == pytest.approx(math.hypot(2.0 * z95 / z90, 3.0))


def test_kinds_are_totalled_apart_and_never_added(tmp_path: Path, bench_file: Path) -> None:
    write_record(tmp_path)
    simulated = {"name": "twin", "site": "DC1", "from_bench": {"path": "bench.json", "climate": "chicago",
                                                               "baseline_controller": "baseline",
                                                               "improved_controller": "ai"}}
    result = compute(tmp_path, _with_savings(_verified(), simulated))
    assert [x.kind for x in result.savings] == ["verified", "simulated"]
    assert result.savings[1].kind_words == "simulated (EnergyPlus twin, ai vs baseline)"
    for figures in (result.figures, result.sites[0].figures):
        assert figures["avoided_tco2"].value is None
        assert "different kinds" in figures["avoided_tco2"].note
        assert figures["avoided_tco2_verified"].value == pytest.approx(8.305)
        assert figures["avoided_tco2_simulated"].value == pytest.approx(120.0 * FACTOR)  # 1,400 - 1,280 MWh
        assert figures["avoided_tco2_simulated"].interval is None
    assert any("twin: simulated on greendc's EnergyPlus twin (ai against baseline" in d for d in result.disclosures)


def test_one_record_backs_one_saving(tmp_path: Path) -> None:
    write_record(tmp_path)
    with pytest.raises(InventoryError, match=r"already claimed by savings\[0\]") as info:
        compute(tmp_path, _with_savings(_verified(name="a"), _verified(name="b")))
    assert info.value.field == "savings[1].from_verification"


def test_overlapping_periods_at_one_site_are_refused(tmp_path: Path) -> None:
    write_record(tmp_path, name="a.json")  # January to March
    write_record(tmp_path, verification(months=3, start_month=3), name="b.json")  # March to May
    with pytest.raises(InventoryError, match=r"overlaps that of savings\[0\].*counted twice"):
        compute(tmp_path, _with_savings(_verified("a.json", "a"), _verified("b.json", "b")))
    write_record(tmp_path, verification(months=3, start_month=4), name="c.json")  # April to June: next to it
    assert len(compute(tmp_path, _with_savings(_verified("a.json", "a"), _verified("c.json", "c"))).savings) == 2


def test_a_saving_metered_outside_the_reporting_year_is_disclosed(tmp_path: Path) -> None:
    write_record(tmp_path, verification(year=2022))
    result = compute(tmp_path, _with_savings(_verified()))
    assert any("metered from 2022-01-01 to 2022-03-31, not within the reporting period" in d
               for d in result.disclosures)
    write_record(tmp_path)
    assert not any("metered from" in d for d in compute(tmp_path, _with_savings(_verified())).disclosures)


def test_duplicate_saving_names_are_refused(tmp_path: Path) -> None:
    entered = {"name": "same", "energy_saved": {"value": 5, "unit": "MWh"}, "verification": "audit",
               "factor": {"value_tco2_per_mwh": 0.5, "source": "s"}}
    with pytest.raises(InventoryError, match="duplicate saving 'same'"):
        load_inventory(write_inventory(tmp_path, _with_savings(entered, entered)))


def test_every_oracle_is_refused_as_a_controller(tmp_path: Path, bench_file: Path) -> None:
    for oracle in ("oracle", "oracle-hourly", "oracle-hourly-humid"):
        bench = {"path": "bench.json", "climate": "chicago", "baseline_controller": "baseline",
                 "improved_controller": oracle}
        with pytest.raises(InventoryError, match="hindsight reference"):
            compute(tmp_path, _with_savings({"name": "x", "site": "DC1", "from_bench": bench}))


# --- --verification: a record added on the command line --------------------------------------------------


def test_a_record_added_to_an_inventory_is_named_from_it(tmp_path: Path) -> None:
    record = write_record(tmp_path)
    loaded = load_source(write_inventory(tmp_path, minimal()), [record])
    [saving] = calculate(loaded).savings
    assert saving.name == "ai control vs trim-respond (metered, IPMVP Option C)"
    assert saving.site == "DC1" and saving.kind == "verified"


def test_a_record_without_controllers_is_named_by_its_period(tmp_path: Path) -> None:
    record = write_record(tmp_path, verification(baseline_controller="", candidate_controller=""))
    [saving] = calculate(load_source(write_inventory(tmp_path, minimal()), [record])).savings
    assert saving.name == "metered saving 2023-01-01 to 2023-03-31 (IPMVP Option C)"


def test_several_sites_need_a_site_choice(tmp_path: Path) -> None:
    record = write_record(tmp_path)
    data = minimal()
    data["sites"].append({"name": "DC2", "grid_region": "CN-South", "electricity": {"annual": {"value": 5,
                                                                                            "unit": "MWh"}}})
    inventory = write_inventory(tmp_path, data)
    with pytest.raises(GreendcError, match=r"--site: the inventory has 2 sites \(DC1, DC2\)"):
        load_source(inventory, [record])
    with pytest.raises(GreendcError, match="--site: no site named 'DC3'"):
        load_source(inventory, [record], site="DC3")
    [saving] = calculate(load_source(inventory, [record], site="dc2")).savings
    assert saving.site == "DC2" and saving.factor.region == "CN-South"


def test_cli_carbon_takes_verification_records(tmp_path: Path) -> None:
    from greendc.cli.main import app

    first = write_record(tmp_path, name="a.json")
    second = write_record(tmp_path, verification(20_000.0, 3_000.0, months=3, start_month=4), name="b.json")
    inventory = write_inventory(tmp_path, minimal())
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(app, ["carbon", str(inventory), "--verification", str(first), "--verification",
                                      str(second), "--json", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    names = [x["name"] for x in doc["avoided_emissions"]]
    # Two records of the same controllers: the second name says which file it is.
    assert names == ["ai control vs trim-respond (metered, IPMVP Option C)",
                     "ai control vs trim-respond (metered, IPMVP Option C), b.json"]
    assert doc["organization"]["avoided_tco2_verified"] == pytest.approx(35.1 * FACTOR)
    assert "19.3 ± 2.1 (90 %)" in result.output  # 35.1 x 0.55 t, half-widths in quadrature


def test_cli_refuses_a_record_that_cannot_be_claimed_in_one_line(tmp_path: Path) -> None:
    from greendc.cli.main import app

    record = write_record(tmp_path, verification(1_000.0, 2_500.0))
    inventory = write_inventory(tmp_path, minimal())
    result = CliRunner().invoke(app, ["report", str(inventory), "--verification", str(record), "--out",
                                      str(tmp_path / "r")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a saving that can be claimed" in lines[0]
    assert not (tmp_path / "r").exists()


def test_a_run_summary_takes_a_verification_record(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(run_summary()), encoding="utf-8")
    (tmp_path / "bench.json").write_text(json.dumps(bench_records()), encoding="utf-8")
    record = write_record(tmp_path)
    [saving] = calculate(load_source(run, [record])).savings
    assert saving.site == "Sim DC" and saving.kind == "verified"
    assert saving.factor.region == "US-RFCW"


def test_a_small_interval_keeps_two_significant_digits() -> None:
    from greendc.carbon.figures import Interval
    from greendc.carbon.verified import interval_words, plus_minus

    assert interval_words(10.23, Interval(9.93, 10.53, 90.0), "MWh") == "± 0.30 MWh at 90 % confidence"
    assert plus_minus(4.74, Interval(4.68, 4.80, 95.0), "MWh") == "4.740 MWh ± 0.060 MWh at 95 % confidence"
    assert plus_minus(313.1, Interval(265.1, 361.1, 90.0), "MWh") == "313.1 MWh ± 48.0 MWh at 90 % confidence"
    # An interval not centred on the value gives both bounds.
    assert interval_words(10.0, Interval(8.0, 14.0, 90.0), "MWh") == "8.0 to 14.0 MWh at 90 % confidence"
