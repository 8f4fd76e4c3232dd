from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from greendc.learning.facility_model import FacilityModel, ModelFileError, holdout_mask
from greendc.learning.features import feature_names, training_table
from greendc.learning.metrics import cv_rmse_pct, nmbe_pct
from greendc.telemetry.schema import Telemetry

ZONES = ["West Hall", "East Hall"]


@pytest.fixture(scope="module")
def model(facility_model: FacilityModel) -> FacilityModel:
    return facility_model


def test_guideline_14_metrics_by_hand() -> None:
    measured = np.array([10.0, 12.0, 14.0])
    predicted = np.array([11.0, 12.0, 12.0])
    # sqrt((1 + 0 + 4) / (3 - 1)) / 12 and (-1 + 0 + 2) / ((3 - 1) * 12)
    assert cv_rmse_pct(measured, predicted) == pytest.approx(100 * np.sqrt(2.5) / 12)
    assert nmbe_pct(measured, predicted) == pytest.approx(100 * 1 / 24)


def test_holdout_is_the_end_of_each_episode() -> None:
    mask = holdout_mask(np.array([0] * 10 + [1] * 5), 0.2)
    assert mask.tolist() == [False] * 8 + [True] * 2 + [False] * 4 + [True]


def test_training_pairs_never_straddle_a_gap(exploration: Telemetry) -> None:
    frame = exploration.frame.drop(index=range(100, 110)).reset_index(drop=True)
    gappy = Telemetry(frame, exploration.zone_names, exploration.interval_h, "gappy")
    full = training_table(exploration, True)
    cut = training_table(gappy, True)
    assert len(cut.features) == len(full.features) - 12  # ten rows gone, and the two beside the gap
    assert list(full.features.columns) == feature_names(ZONES, True)


def test_fit_reports_accuracy_within_guideline_14(model: FacilityModel) -> None:
    assert model.zone_names_ == ZONES
    for target in model.target_names_:
        figures = model.metrics_[target]
        assert figures["cv_rmse_pct"] < 30 and abs(figures["nmbe_pct"]) < 10, target
    assert model.metrics_["West Hall/inlet_temp_c"]["mae"] < 0.5  # kelvin


def test_predict_contract_and_repeatability(model: FacilityModel, exploration: Telemetry) -> None:
    features = training_table(exploration, True).features.iloc[:50]
    first = model.predict(features)
    again = FacilityModel(random_state=0).fit(exploration).predict(features)
    assert first.cooling_power_w.shape == (50,) and set(first.inlet_temp_c) == set(ZONES)
    np.testing.assert_array_equal(first.cooling_power_w, again.cooling_power_w)
    assert (first.inlet_temp_std_c["West Hall"] >= 0).all()
    np.testing.assert_allclose(first.facility_power_w, first.cooling_power_w + first.it_power_w)
    with pytest.raises(ValueError, match="features missing"):
        model.predict(features.drop(columns=["hour_sin"]))


def test_warmer_supply_air_never_lowers_predicted_inlet_or_it_power(model: FacilityModel,
                                                                     exploration: Telemetry) -> None:
    row = training_table(exploration, True).features.iloc[[200]]
    candidates = row.loc[row.index.repeat(14)].reset_index(drop=True)
    candidates["West Hall/supply_air_setpoint_c"] = np.linspace(12, 25, 14)
    prediction = model.predict(candidates)
    assert np.all(np.diff(prediction.inlet_temp_c["West Hall"]) >= 0)
    assert np.all(np.diff(prediction.it_power_w) >= 0)
    # The learned inlet follows the supply air: about a kelvin above it, not flat.
    assert prediction.inlet_temp_c["West Hall"][-1] - prediction.inlet_temp_c["West Hall"][0] > 8


def test_too_small_training_set(exploration: Telemetry) -> None:
    small = Telemetry(exploration.frame.iloc[:200], exploration.zone_names, exploration.interval_h, "small.parquet")
    with pytest.raises(ValueError, match=r"small.parquet: \d+ usable rows; the facility model needs at least 500"):
        FacilityModel().fit(small)


def test_save_load_round_trip(model: FacilityModel, exploration: Telemetry, tmp_path: Path) -> None:
    path = model.save(tmp_path / "model.gdm")
    loaded = FacilityModel.load(path, zone_names=ZONES)
    features = training_table(exploration, True).features.iloc[:20]
    np.testing.assert_array_equal(model.predict(features).cooling_power_w, loaded.predict(features).cooling_power_w)
    assert loaded.feature_names_ == model.feature_names_ and loaded.training_period_ == model.training_period_
    # The loaded model predicts from the file's text without LightGBM; its boosters, made on demand, agree.
    rows = features.to_numpy(dtype=float)
    np.testing.assert_array_equal(loaded.predict(rows).cooling_power_w,
                                  loaded.boosters_["cooling_power_w"].predict(rows))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gdm"]


def test_bad_model_files(model: FacilityModel, tmp_path: Path) -> None:
    path = model.save(tmp_path / "model.gdm")
    with pytest.raises(ModelFileError, match="trained for zones"):
        FacilityModel.load(path, zone_names=["Hall A"])
    corrupt = tmp_path / "corrupt.gdm"
    corrupt.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ModelFileError, match="corrupt or unreadable"):
        FacilityModel.load(corrupt)
    old = tmp_path / "old.gdm"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(old, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "meta.json":
                meta = json.loads(data)
                meta["format_version"] = 0
                data = json.dumps(meta).encode()
            target.writestr(item, data)
    with pytest.raises(ModelFileError, match="format version 0"):
        FacilityModel.load(old)
    # A readable archive with a damaged tree (a threshold missing) fails when loaded, not mid-run.
    damaged = tmp_path / "damaged.gdm"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "boosters/cooling_power_w.txt":
                lines = data.decode().splitlines()
                first = next(i for i, line in enumerate(lines) if line.startswith("threshold="))
                lines[first] = lines[first].rsplit(" ", 1)[0]
                data = "\n".join(lines).encode()
            target.writestr(item, data)
    with pytest.raises(ModelFileError, match=r"model 'cooling_power_w', tree 0: threshold has 13 values, not 14"):
        FacilityModel.load(damaged)
    with pytest.raises(ModelFileError, match="not found"):
        FacilityModel.load(tmp_path / "absent.gdm")


def test_compiled_trees_match_lightgbm(model: FacilityModel, exploration: Telemetry) -> None:
    # The model predicts through its trees compiled (greendc.learning.trees); it must give exactly what
    # Booster.predict gives, for single rows and for a batch, means and quantiles alike.
    matrix = training_table(exploration, True).features.iloc[:40].to_numpy(dtype=float)
    for rows in (matrix[:1], matrix[7:8], matrix[39:40], matrix):
        prediction = model.predict(rows)
        np.testing.assert_array_equal(prediction.cooling_power_w, model.boosters_["cooling_power_w"].predict(rows))
        for zone in ZONES:
            np.testing.assert_array_equal(prediction.inlet_temp_c[zone],
                                          model.boosters_[f"{zone}/inlet_temp_c"].predict(rows))
            width = (model.boosters_[f"{zone}/inlet_temp_c@q90"].predict(rows)
                     - model.boosters_[f"{zone}/inlet_temp_c@q10"].predict(rows))
            floor = model.metrics_[f"{zone}/inlet_temp_c"]["rmse"]
            np.testing.assert_array_equal(prediction.inlet_temp_std_c[zone], np.maximum(width / (2 * 1.2816), floor))
    with pytest.raises(ValueError, match="expected rows of 13 features"):
        model.predict(matrix[:, :5])
