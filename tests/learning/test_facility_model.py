from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greendc.learning.facility_model import (
    FacilityModel,
    ModelFileError,
    conformal_threshold,
    day_blocks,
    effective_rows,
    holdout_mask,
    inlet_std_from_quantiles_c,
    random_half_of_days,
)
from greendc.learning.features import feature_names, training_table
from greendc.learning.metrics import cv_rmse_pct, nmbe_pct
from greendc.site.schema import Site
from greendc.telemetry.schema import Telemetry, validate_telemetry

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


def test_predict_contract_and_repeatability(model: FacilityModel, exploration: Telemetry,
                                            exploration_site: Site) -> None:
    features = training_table(exploration, True).features.iloc[:50]
    first = model.predict(features)
    again = FacilityModel(random_state=0).fit(exploration, exploration_site).predict(features)
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


def test_too_small_training_set(exploration: Telemetry, exploration_site: Site) -> None:
    small = Telemetry(exploration.frame.iloc[:200], exploration.zone_names, exploration.interval_h, "small.parquet")
    with pytest.raises(ValueError, match=r"small.parquet: \d+ usable rows; the facility model needs at least 500"):
        FacilityModel().fit(small, exploration_site)


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
            floor = model.calibration_.inlet_std_floor_c[zone]
            scale = model.calibration_.inlet_std_scale[zone]
            np.testing.assert_array_equal(prediction.inlet_temp_std_c[zone],
                                          np.maximum(width / (2 * 1.2816), floor) * scale)
    with pytest.raises(ValueError, match="expected rows of 13 features"):
        model.predict(matrix[:, :5])


def _synthetic_telemetry(days: int = 90, seed: int = 7) -> Telemetry:
    """Telemetry of the example site's two halls whose outcomes follow known rules plus noise: each zone's
    inlet follows the previous interval's supply-air setpoint, with a noise that grows with the zone's load,
    and cooling power the gap between outdoor air and supply air. Setpoints change every hour at random."""
    rng = np.random.default_rng(seed)
    steps = days * 96
    time = pd.date_range("2001-03-01 00:15", periods=steps, freq="15min")
    hour = np.asarray(time.hour + time.minute / 60.0)
    dry_bulb = 10 + 8 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 1, steps).cumsum() * 0.05
    frame = pd.DataFrame({"time": time, "outdoor_dry_bulb_c": dry_bulb, "outdoor_wet_bulb_c": dry_bulb - 3,
                          "outdoor_relative_humidity_pct": 55.0, "chilled_water_setpoint_c":
                              np.repeat(rng.uniform(6, 12, steps // 4 + 1), 4)[:steps]})
    cooling = np.full(steps, 4000.0)
    for zone, design_w in (("West Hall", 46_400.0), ("East Hall", 51_800.0)):
        load = design_w * (0.6 + 0.3 * (np.sin(2 * np.pi * (hour - 8) / 24) > 0))
        supply = np.repeat(rng.uniform(14, 24, steps // 4 + 1), 4)[:steps]
        previous = np.concatenate([[supply[0]], supply[:-1]])
        frame[f"{zone}/it_power_w"] = load
        frame[f"{zone}/supply_air_setpoint_c"] = supply
        frame[f"{zone}/zone_cooling_setpoint_c"] = supply + 6
        frame[f"{zone}/supply_air_temp_c"] = supply + 0.3
        frame[f"{zone}/inlet_temp_c"] = previous + 1.5 + rng.normal(0, 0.05 + 0.2 * load / design_w, steps)
        frame[f"{zone}/zone_air_temp_c"] = previous + 8
        cooling += 300 * np.maximum(dry_bulb - supply, 0) + rng.normal(0, 150, steps)
    frame["it_power_w"] = frame["West Hall/it_power_w"] + frame["East Hall/it_power_w"]
    frame["cooling_power_w"] = cooling
    frame["facility_power_w"] = frame["it_power_w"] + cooling
    telemetry = validate_telemetry(frame, "synthetic")
    return dataclasses.replace(telemetry, frame=telemetry.frame.assign(episode=0))


def test_the_calibrated_bands_cover_at_least_97_percent_of_held_out_outcomes(exploration_site: Site) -> None:
    model = FacilityModel(n_estimators=40, num_leaves=7, n_jobs=1).fit(_synthetic_telemetry(), exploration_site)
    held_out = model.metrics_["inlet_within_2_std_fraction"]
    assert held_out["n"] == model.holdout_rows_ == model.calibration_.rows
    for zone in ZONES:
        assert held_out["by_zone"][zone] >= 0.97, zone
        assert model.metrics_["inlet_below_mean_plus_2_std_fraction"]["by_zone"][zone] >= held_out["by_zone"][zone]
        # The quantile spread already tracks the load-dependent noise: the scale corrects it, it does not replace it.
        assert 0.5 < model.calibration_.inlet_std_scale[zone] < 2.0
    assert model.metrics_["cooling_power_within_2_std_fraction"]["value"] >= 0.97
    # Noise of 150 W per zone: one std of cooling power is about 210 W, the calibrated one a little more.
    assert 150.0 < model.cooling_power_std_w() < 400.0
    # The std the model predicts is the one whose coverage was measured: floor, spread and scale.
    rows = training_table(_synthetic_telemetry(days=3, seed=8), True).features
    calibration = model.inlet_std_calibration()
    _, quantiles = model.ensembles()
    raw = quantiles.predict(rows.to_numpy(dtype=float))
    expected = np.maximum((raw[1] - raw[0]) / (2 * 1.2816), calibration[0, 0]) * calibration[1, 0]
    np.testing.assert_array_equal(model.predict(rows).inlet_temp_std_c["West Hall"], expected)


def test_a_scale_of_one_leaves_the_floored_spread_as_it_was_to_the_bit() -> None:
    quantiles = np.random.default_rng(3).normal(20.0, 1.0, size=(4, 50))
    floors = np.array([0.3, 0.05])
    old = np.array([np.maximum((quantiles[2 * z + 1] - quantiles[2 * z]) / (2 * 1.2816), floors[z]) for z in (0, 1)])
    np.testing.assert_array_equal(inlet_std_from_quantiles_c(quantiles, np.array([floors, [1.0, 1.0]])), old)
    np.testing.assert_array_equal(inlet_std_from_quantiles_c(quantiles, np.array([floors, [2.0, 0.5]])),
                                  old * np.array([[2.0], [0.5]]))


def test_split_conformal_threshold_with_the_finite_sample_correction() -> None:
    scores = np.random.default_rng(0).exponential(size=999)
    every_row_its_own_day = np.arange(999)
    threshold, n_eff = conformal_threshold(scores, every_row_its_own_day, 0.975, confidence=0.5)
    # The ceil((n + 1) 0.975) = 975th smallest of 999 scores: plain split-conformal prediction.
    assert threshold == np.sort(scores)[974]
    assert 900 < n_eff <= 999
    raised, _ = conformal_threshold(scores, every_row_its_own_day, 0.975, confidence=0.9)
    assert raised > threshold and np.mean(scores <= raised) < 0.99


def test_errors_that_come_in_days_count_as_fewer_rows_and_widen_the_band() -> None:
    rng = np.random.default_rng(1)
    days = np.repeat(np.arange(100), 48)
    independent = rng.exponential(size=len(days))
    clustered = np.repeat(rng.exponential(size=100), 48)  # a day's rows share their error
    assert effective_rows(independent > 3.0, days) > 0.6 * len(days)
    assert effective_rows(clustered > 3.0, days) < 3 * 100
    plain, _ = conformal_threshold(clustered, days, 0.975, confidence=0.5)
    careful, n_eff = conformal_threshold(clustered, days, 0.975, confidence=0.9)
    assert n_eff < 300 and careful > plain
    assert effective_rows(np.zeros(10, dtype=bool), np.zeros(10)) == 10  # no exceedance: nothing to cluster
    assert effective_rows(np.arange(10) < 2, np.zeros(10)) == 1.0  # one day cannot show its clustering


def test_the_held_out_days_are_halved_whole_and_at_random() -> None:
    time = pd.Series(pd.date_range("2001-11-01 00:15", periods=20 * 96, freq="15min"))
    episode = np.repeat([0, 1], 10 * 96)
    blocks = day_blocks(episode, time)
    first = random_half_of_days(episode, blocks, 0)
    assert len(np.unique(blocks)) == 20
    for block in np.unique(blocks):
        assert len(np.unique(first[blocks == block])) == 1  # a day goes whole to one half
    assert first[episode == 0].sum() == first[episode == 1].sum() == 5 * 96  # half of each episode's days
    assert not np.array_equal(first, random_half_of_days(episode, blocks, 1))
    np.testing.assert_array_equal(first, random_half_of_days(episode, blocks, 0))


def test_fitting_reports_its_progress_over_every_boosting_round(exploration: Telemetry, exploration_site: Site) -> None:
    calls: list[tuple[int, int]] = []
    FacilityModel(n_estimators=3, num_leaves=4, n_jobs=1).fit(
        exploration, exploration_site, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(done, 8 * 3) for done in range(1, 25)]  # 4 mean and 4 quantile boosters of 3 rounds
