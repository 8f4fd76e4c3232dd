"""``greendc train`` learns every zone of the site or refuses, and knows the site it learns."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from greendc.cli.main import app
from greendc.errors import GreendcError, UsageError
from greendc.learning.facility_model import FacilityModel, ModelFileError
from greendc.learning.features import TrainingDataError
from greendc.site.schema import Site
from greendc.telemetry.schema import Telemetry, validate_telemetry
from greendc.workflows import explore as explore_workflow
from greendc.workflows.explore import SITE_FILE, write_site_file
from greendc.workflows.train import train, training_site
from tests.conftest import example_site_data

runner = CliRunner()


def test_telemetry_without_one_zones_inlet_column_is_refused_naming_it(exploration: Telemetry,
                                                                      exploration_site: Site,
                                                                      tmp_path: Path) -> None:
    # Validation finds zones by their inlet columns, so East Hall silently vanishes from the telemetry...
    telemetry = validate_telemetry(exploration.frame.drop(columns=["East Hall/inlet_temp_c", "episode"]), "bms.csv")
    assert telemetry.zone_names == ["West Hall"]
    telemetry = dataclasses.replace(telemetry, frame=telemetry.frame.assign(episode=0))
    # ...but the site says it is there: no model of West Hall alone.
    with pytest.raises(TrainingDataError, match=r"^bms.csv: zone 'East Hall' lacks 'East Hall/inlet_temp_c' "
                                                r"\(missing or holding no number\)") as caught:
        train(telemetry, tmp_path / "model.gdm", exploration_site)
    assert isinstance(caught.value, UsageError) and "\n" not in str(caught.value)
    assert not (tmp_path / "model.gdm").exists()


def test_a_column_without_a_number_counts_as_missing(exploration: Telemetry, exploration_site: Site) -> None:
    frame = exploration.frame.assign(**{"West Hall/zone_cooling_setpoint_c": np.nan,
                                        "East Hall/it_power_w": np.nan})
    with pytest.raises(TrainingDataError, match=r"zone 'West Hall' lacks 'West Hall/zone_cooling_setpoint_c'; "
                                                r"zone 'East Hall' lacks 'East Hall/it_power_w'"):
        FacilityModel().fit(dataclasses.replace(exploration, frame=frame), exploration_site)
    without_water = exploration.frame.drop(columns=["chilled_water_setpoint_c"])
    with pytest.raises(TrainingDataError, match=r"the site's chiller plant lacks 'chilled_water_setpoint_c'"):
        FacilityModel().fit(dataclasses.replace(exploration, frame=without_water), exploration_site)


def test_a_zone_the_site_does_not_describe_is_refused(exploration: Telemetry) -> None:
    data = copy.deepcopy(example_site_data(end_day=8))
    data["zones"] = data["zones"][:1]
    with pytest.raises(TrainingDataError, match=r"zone\(s\) 'East Hall' are not in the site description, which "
                                                r"has 'West Hall'"):
        FacilityModel().fit(exploration, Site.model_validate(data))


def test_the_model_takes_its_zone_order_from_the_site(exploration: Telemetry) -> None:
    data = copy.deepcopy(example_site_data(end_day=8))
    data["zones"].reverse()
    model = FacilityModel(n_estimators=3, num_leaves=4, n_jobs=1).fit(exploration, Site.model_validate(data))
    assert model.zone_names_ == ["East Hall", "West Hall"] == model.envelope_.zone_names
    assert model.feature_names_.index("state:East Hall/it_power_w") < model.feature_names_.index(
        "state:West Hall/it_power_w")


def test_the_site_comes_from_site_json_or_site(exploration_dir: Path, exploration_site: Site, tmp_path: Path,
                                               short_site_file: Path) -> None:
    assert training_site(exploration_dir) == exploration_site
    assert training_site(exploration_dir, short_site_file) == Site.model_validate(example_site_data())
    single = tmp_path / "telemetry.parquet"
    pd.read_parquet(exploration_dir / "telemetry.parquet").iloc[:10].to_parquet(single)
    with pytest.raises(UsageError, match=r"telemetry.parquet: no site.json beside the telemetry \(greendc explore "
                                         r"writes one\); give --site SITE.yaml"):
        training_site(single)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / SITE_FILE).write_text(json.dumps({**exploration_site.model_dump(mode="json"), "colour": "red"}))
    with pytest.raises(GreendcError, match=r"broken/site.json: colour: unknown key"):
        training_site(broken)


def test_explore_writes_the_site_beside_the_telemetry(short_site: Site, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explore_workflow, "simulate_many", lambda jobs, **_: [object() for _ in jobs])
    monkeypatch.setattr(explore_workflow, "save_outcome", lambda outcome, folder: folder.mkdir(parents=True))
    exploration = explore_workflow.explore(short_site, None, tmp_path / "explore", ["chicago", "tampa"])
    assert sorted(path.name for path in exploration.out_dir.iterdir()) == [".greendc-result.json", "chicago",
                                                                          SITE_FILE, "tampa"]
    assert training_site(exploration.out_dir) == short_site


def test_train_command_prints_progress_coverage_and_what_it_learned_from(exploration_dir: Path,
                                                                           tmp_path: Path) -> None:
    model_path = tmp_path / "model.gdm"
    result = runner.invoke(app, ["train", str(exploration_dir), "--out", str(model_path)])
    assert result.exit_code == 0, result.output
    assert "fitting the facility model" in result.output and "100%" in result.output
    assert "of held-out outcomes (target >= 97 %)" in result.output
    assert "inlet mean +- 2 std covers" in result.output and "cooling power mean +- 2 x" in result.output
    assert "Learned from Two-hall example data center" in result.output
    model = FacilityModel.load(model_path)
    coverage = model.metrics_["inlet_within_2_std_fraction"]["value"]
    assert f"covers {100 * coverage:.1f} %" in result.output


def test_train_command_refusals_are_one_line(exploration_dir: Path, tmp_path: Path, short_site_file: Path) -> None:
    csv = tmp_path / "bms.csv"
    frame = pd.read_parquet(exploration_dir / "telemetry.parquet").drop(columns=["East Hall/inlet_temp_c"])
    frame.to_csv(csv, index=False)
    result = runner.invoke(app, ["train", str(csv), "--out", str(tmp_path / "m.gdm")])
    assert result.exit_code == 2 and "give --site SITE.yaml" in result.output
    result = runner.invoke(app, ["train", str(csv), "--site", str(short_site_file), "--out", str(tmp_path / "m.gdm")])
    assert result.exit_code == 2, result.output
    assert "zone 'East Hall' lacks 'East Hall/inlet_temp_c'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.gdm").exists()
    odd = tmp_path / "odd.yaml"
    odd.write_text(yaml.safe_dump({**example_site_data(), "ups_efficiency": 2}))
    result = runner.invoke(app, ["train", str(exploration_dir), "--site", str(odd), "--out", str(tmp_path / "m.gdm")])
    assert result.exit_code == 2 and "ups_efficiency" in result.output


def test_a_version_1_model_file_asks_for_retraining(small_model_bytes: bytes, tmp_path: Path) -> None:
    from tests.learning.model_files import with_meta

    def as_version_1(meta: dict) -> None:
        meta["format_version"] = 1
        for field in ("envelope", "calibration"):
            meta.pop(field)

    path = tmp_path / "old.gdm"
    path.write_bytes(with_meta(small_model_bytes, as_version_1))
    with pytest.raises(ModelFileError, match=r"old.gdm: model format version 1, this greendc reads version 2; "
                                             r"retrain with greendc train$"):
        FacilityModel.load(path)


def test_write_site_file_round_trips(exploration_site: Site, tmp_path: Path) -> None:
    path = write_site_file(exploration_site, tmp_path)
    assert Site.model_validate(json.loads(path.read_text())) == exploration_site
