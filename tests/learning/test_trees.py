"""The compiled tree ensemble gives exactly what LightGBM gives."""

from __future__ import annotations

import lightgbm
import numba
import numpy as np
import pytest

from greendc.learning.trees import TreeEnsemble, compiled, resolve, walk, walk_together


def _booster(features: np.ndarray, target: np.ndarray, **params: object) -> lightgbm.Booster:
    settings = {"objective": "regression", "num_leaves": 15, "learning_rate": 0.2, "verbose": -1, "seed": 0,
                "deterministic": True, "num_threads": 1, **params}
    return lightgbm.train(settings, lightgbm.Dataset(features, label=target), num_boost_round=30)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    features = rng.normal(0.0, 3.0, size=(2000, 6))
    target = features[:, 0] ** 2 + 3 * np.sin(features[:, 1]) - features[:, 2] * features[:, 3] + features[:, 5]
    return features, target


def _batches(features: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches like the optimizer's (all rows share the first three columns), single rows and mixed rows."""
    shared = np.tile(features[3], (40, 1))
    shared[:, 3:] = rng.normal(0.0, 3.0, size=(40, 3))
    return [features[:1], features[1:3], features[:500], shared, shared[:8], shared[:7]]


def test_matches_lightgbm_bit_for_bit(data: tuple[np.ndarray, np.ndarray]) -> None:
    features, target = data
    boosters = {"a": _booster(features, target), "b": _booster(features, -target, objective="quantile", alpha=0.9)}
    ensemble = TreeEnsemble.from_boosters(boosters)
    assert ensemble.plain and ensemble.targets == ("a", "b")
    rng = np.random.default_rng(5)
    for batch in _batches(features, rng):
        predicted = ensemble.predict(batch)
        assert predicted.shape == (2, len(batch))
        for index, booster in enumerate(boosters.values()):
            np.testing.assert_array_equal(predicted[index], booster.predict(batch))


def test_trees_resolved_once_for_shared_columns_give_lightgbms_leaves(data: tuple[np.ndarray, np.ndarray]) -> None:
    # The optimizer resolves the splits on the state once per decision and walks both search phases through
    # what is left: every row that agrees with the resolved row on those columns gets LightGBM's prediction.
    features, target = data
    booster = _booster(features, target)
    ensemble = TreeEnsemble.from_boosters({"y": booster})
    shared = np.array([True, True, True, False, False, False])
    rows = np.tile(features[11], (5, 1))
    rows[:, 3:] = np.random.default_rng(8).normal(0.0, 3.0, size=(5, 3))
    part = resolve(ensemble.arrays, features[11], shared)
    assert len(part[0]) < len(ensemble.feature)  # fewer splits left to walk
    out = np.zeros((1, len(rows)))
    walk(rows, part, out)
    np.testing.assert_array_equal(out[0], booster.predict(rows))


@pytest.mark.parametrize("rows", [1, 2, 63, 64, 65, 130, 257])
def test_a_batch_walked_together_gets_lightgbms_predictions(data: tuple[np.ndarray, np.ndarray], rows: int) -> None:
    # Batches like the optimizer's: columns with a few values (some exactly on split thresholds, where a row
    # goes left, and LightGBM's zeros), one with a value per row, duplicate rows, over several words of bits.
    features, target = data
    boosters = {"a": _booster(features, target), "b": _booster(features, -target, objective="quantile", alpha=0.9)}
    ensemble = TreeEnsemble.from_boosters(boosters)
    rng = np.random.default_rng(rows)
    batch = np.tile(features[11], (rows, 1))
    on_threshold = ensemble.threshold[ensemble.feature == 4][:4]
    batch[:, 3] = rng.choice([-1.0, 0.0, 1e-40, 2.0], rows)
    batch[:, 4] = rng.choice(on_threshold, rows)
    batch[:, 5] = rng.normal(0.0, 3.0, rows)
    batch[rows // 2:rows // 2 + 2] = batch[0]
    expected = np.array([booster.predict(batch) for booster in boosters.values()])
    for trees in (ensemble.arrays, resolve(ensemble.arrays, features[11], np.array([True] * 3 + [False] * 3))):
        out = np.zeros((2, rows))
        walk_together(batch, trees, out)
        np.testing.assert_array_equal(out, expected)


def test_missing_value_rules_match_lightgbm(data: tuple[np.ndarray, np.ndarray]) -> None:
    # Training data with NaN gives splits with the NaN rule; zero_as_missing gives the Zero rule.
    features, target = data
    holed = features.copy()
    holed[::5, 0] = np.nan
    holed[::7, 1] = 0.0
    rng = np.random.default_rng(6)
    for params in ({}, {"zero_as_missing": True}):
        booster = _booster(holed, target, **params)
        ensemble = TreeEnsemble.from_boosters({"y": booster})
        assert not ensemble.plain
        for batch in [*_batches(holed, rng), np.array([[np.nan, 0.0, 1e-40, -0.0, np.nan, 2.0]] * 9)]:
            np.testing.assert_array_equal(ensemble.predict(batch)[0], booster.predict(batch))
            out = np.zeros((1, len(batch)))
            walk_together(batch, ensemble.arrays, out)  # row by row: the rules need each row's own value
            np.testing.assert_array_equal(out[0], booster.predict(batch))
    # Without missing-value rules LightGBM reads NaN as 0 (the plain path).
    plain = _booster(features, target)
    batch = np.array([[np.nan, 0.5, np.nan, 1.0, 2.0, np.nan]] * 9)
    np.testing.assert_array_equal(TreeEnsemble.from_boosters({"y": plain}).predict(batch)[0], plain.predict(batch))


def test_single_leaf_trees_and_shape_errors(data: tuple[np.ndarray, np.ndarray]) -> None:
    features, _ = data
    constant = _booster(features, np.full(len(features), 4.0))
    ensemble = TreeEnsemble.from_boosters({"y": constant})
    np.testing.assert_array_equal(ensemble.predict(features[:20])[0], constant.predict(features[:20]))
    with pytest.raises(ValueError, match="expected rows of 6 features"):
        ensemble.predict(features[:, :4])


def test_refuses_categorical_splits() -> None:
    rng = np.random.default_rng(7)
    category = rng.integers(0, 6, size=1000).astype(float)
    target = np.where(np.isin(category, [1, 4]), 10.0, 0.0) + rng.normal(0, 0.1, size=1000)
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "min_data_per_group": 5, "cat_smooth": 1},
                             lightgbm.Dataset(category[:, None], label=target, categorical_feature=[0]),
                             num_boost_round=3)
    with pytest.raises(ValueError, match="only numerical splits"):
        TreeEnsemble.from_boosters({"y": booster})


def test_compiles_without_a_cache_where_none_can_be_written() -> None:
    # A function numba cannot place a cache for (here: one without a source file) is compiled all the same.
    namespace: dict = {}
    exec("def add_one(x):\n    return x + 1.0\n", namespace)
    with pytest.raises(RuntimeError, match="no locator available"):
        numba.njit(cache=True)(namespace["add_one"])
    assert compiled(namespace["add_one"])(1.5) == 2.5
