"""Bad fleet files: one line naming the entry, exit code 2, before any simulation starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.workflows.conftest import SITES, require_ray, write_fleet
from typer.testing import CliRunner

from greendc.cli.main import app
from greendc.workflows.fleet import FleetFileError, load_fleet

runner = CliRunner()


def test_a_good_fleet_file_is_read_with_every_site(fleet_file: Path) -> None:
    fleet = load_fleet(fleet_file)
    assert [m.entry for m in fleet.members] == ["sites[0]", "sites[1]"]
    assert fleet.climates == ("chicago",)
    assert fleet.report_controller == "default"


def test_the_example_fleet_is_valid() -> None:
    fleet = load_fleet(Path(__file__).resolve().parents[2] / "examples" / "fleet.yaml")
    assert len(fleet.members) == 2 and fleet.report_controller == "trim-respond"


BAD = {
    "missing site": ({"sites": [{"path": "nowhere.yaml"}]}, "sites[0].path: site file not found"),
    "duplicate site": ({"sites": [{"path": f"{SITES[0]}.yaml"}, {"path": f"./{SITES[0]}.yaml"}]},
                       "sites[1].path: the same site file as sites[0]"),
    "unknown controller": ({"controllers": ["default", "magic"]}, "controllers[1]: unknown controller 'magic'"),
    "unknown climate": ({"climates": ["chicago", "atlantis"]}, "climates[1]: unknown climate 'atlantis'"),
    "missing weather file": ({"climates": ["missing.epw"]}, "climates[0]: weather file not found"),
    "ai without a model": ({"controllers": ["ai"]}, "sites[0]: the ai controller needs a facility model"),
    "unknown key": ({"sitez": []}, "sitez"),
    "bad objective": ({"objective": "water"}, "objective"),
    "report controller not run": ({"report": {"controller": "rbc"}}, "report.controller: 'rbc' is not among"),
    "report climate not run": ({"report": {"climate": "tampa"}}, "report.climate: 'tampa' is not among"),
    "report of a hindsight reference": ({"controllers": ["default", "oracle"], "report": {"controller": "oracle"}},
                                        "report.controller: 'oracle' is a hindsight reference"),
    "grid region against the site's": (
        {"sites": [{"path": f"{SITES[0]}.yaml", "inventory": {"grid_region": "US-SRVC"}}]},
        "sites[0].inventory.grid_region: 'US-SRVC' differs"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_each_bad_entry_is_one_line_naming_it_and_exit_2(tmp_path: Path, case: str) -> None:
    fields, expected = BAD[case]
    path = write_fleet(tmp_path, **fields)
    with pytest.raises(FleetFileError, match=r"fleet\.yaml: ") as raised:
        load_fleet(path)
    assert expected in str(raised.value)
    result = runner.invoke(app, ["fleet", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()  # refused before anything was written or run


def test_a_ray_address_that_does_not_answer_is_one_line_before_any_run(fleet_file: Path, tmp_path: Path) -> None:
    require_ray()
    result = runner.invoke(app, ["fleet", str(fleet_file), "--out", str(tmp_path / "out"),
                                 "--executor", "ray:127.0.0.1:1"])
    assert result.exit_code == 2, result.output
    assert "ray:127.0.0.1:1: the Ray cluster does not answer" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def test_an_unknown_executor_is_refused(fleet_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["fleet", str(fleet_file), "--out", str(tmp_path / "out"), "--executor", "dask"])
    assert result.exit_code == 2 and "--executor: 'dask' is not local, ray or ray:ADDRESS" in result.output


def test_a_folder_with_a_users_files_is_refused(fleet_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["fleet", str(fleet_file), "--out", str(out)])
    assert result.exit_code == 2 and "did not write" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
