"""Every tree is checked once, when its text is read, so that the compiled walkers never meet a bad index.

The walkers read features, children and leaves without bounds checks; these tests craft small model texts
that break one rule each and check that reading them fails with a message naming the tree and the split.
"""

from __future__ import annotations

import re

import lightgbm
import numpy as np
import pytest

from greendc.learning.trees import ModelTextError, TreeEnsemble, walk, walk_together

#: Two trees on features a and b. Tree 0: a <= 0.5 ? (b <= 1.5 ? 1 : 2) : 3. Tree 1: b <= 0.25 ? 10 : 20.
TEXT = """tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=regression
feature_names=a b
feature_infos=[0:1] [0:2]

Tree=0
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=1 1
threshold=0.5 1.5
decision_type=2 2
left_child=1 -1
right_child=-3 -2
leaf_value=1 2 3
leaf_weight=1 1 1
leaf_count=1 1 1
internal_value=0 0
internal_weight=1 1
internal_count=1 1
is_linear=0
shrinkage=1


Tree=1
num_leaves=2
num_cat=0
split_feature=1
split_gain=1
threshold=0.25
decision_type=2
left_child=-1
right_child=-2
leaf_value=10 20
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=1
internal_count=1
is_linear=0
shrinkage=1


end of trees
"""


def edited(key: str, value: str, tree: int = 0, text: str = TEXT) -> str:
    """``text`` with field ``key`` of tree ``tree`` (or of the header, for ``tree=-1``) set to ``value``."""
    sections = re.split(r"(?=^Tree=)", text, flags=re.MULTILINE)
    index = tree + 1
    line = re.compile(rf"^{re.escape(key)}=.*$", re.MULTILINE)
    assert line.search(sections[index]), f"no {key} in section {index}"
    sections[index] = line.sub(f"{key}={value}", sections[index], count=1)
    return "".join(sections)


def read(text: str) -> TreeEnsemble:
    return TreeEnsemble.from_model_texts({"y": text})


def test_the_hand_written_model_predicts_what_lightgbm_and_the_hand_say() -> None:
    rows = np.array([[0.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.5, 1.5]])
    expected = [1 + 10, 2 + 20, 3 + 10, 1 + 20]
    ensemble = read(TEXT)
    np.testing.assert_array_equal(ensemble.predict(rows)[0], expected)
    np.testing.assert_array_equal(lightgbm.Booster(model_str=TEXT).predict(rows), expected)
    for walker in (walk, walk_together):
        out = np.zeros((1, len(rows)))
        walker(rows, ensemble.arrays, out)
        np.testing.assert_array_equal(out[0], expected)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("left_child", "5 -1", r"tree 0: split 0: left child 5 is neither a split \(0 to 1\) nor a leaf \(-1 to -3\)"),
    ("right_child", "-3 -4", r"tree 0: split 1: right child -4 is neither a split"),
    ("left_child", "1 99999999999999999999999", r"split 1: left child 99999999999999999999999 is neither"),
])
def test_child_index_out_of_range(key: str, value: str, message: str) -> None:
    with pytest.raises(ModelTextError, match=message):
        read(edited(key, value))


@pytest.mark.parametrize(("value", "message"), [
    ("0 2", r"tree 0: split 1: feature 2 is not one of the model's 2 features \(0 to 1\)"),
    ("-1 1", r"tree 0: split 0: feature -1 is not one of the model's 2 features"),
])
def test_split_feature_out_of_range(value: str, message: str) -> None:
    with pytest.raises(ModelTextError, match=message):
        read(edited("split_feature", value))


def test_a_child_pointing_back_to_the_root_is_a_cycle() -> None:
    # Split 1's left child is split 0: walking a row with a <= 0.5 and b <= 1.5 would never end.
    with pytest.raises(ModelTextError, match=r"tree 0: split 1: its child split 0 is reached twice .*a cycle"):
        read(edited("left_child", "1 0"))


def test_a_split_that_is_its_own_child_is_a_cycle() -> None:
    with pytest.raises(ModelTextError, match=r"split 1: its child split 1 is reached twice"):
        read(edited("right_child", "-3 1"))


def test_a_branch_shared_by_two_parents_is_not_a_tree() -> None:
    # Both children of split 0 are split 1: no loop, but split 1 is reached twice (it would overflow the
    # walkers' stacks, which hold one entry per split) and leaf 2 never.
    with pytest.raises(ModelTextError, match=r"split 0: its child split 1 is reached twice"):
        read(edited("right_child", "1 -2"))


def test_a_leaf_shared_by_two_splits_is_not_a_tree() -> None:
    with pytest.raises(ModelTextError, match=r"split 1: its child leaf 0 is reached twice"):
        read(edited("right_child", "-3 -1"))


def test_a_leaf_no_split_reaches_is_refused() -> None:
    # Root's right child is leaf 1, also split 1's right child; leaf 2 is left out.
    with pytest.raises(ModelTextError, match=r"leaf 1 is reached twice"):
        read(edited("right_child", "-2 -2"))


@pytest.mark.parametrize("value", ["nan 1.5", "inf 1.5", "0.5 -inf", "0.5 1e999"])
def test_non_finite_thresholds_are_refused(value: str) -> None:
    with pytest.raises(ModelTextError, match=r"tree 0: split \d: threshold .* is not finite"):
        read(edited("threshold", value))


@pytest.mark.parametrize("value", ["1 nan 3", "1 2 inf", "-1e400 2 3"])
def test_non_finite_leaf_values_are_refused(value: str) -> None:
    with pytest.raises(ModelTextError, match=r"tree 0: leaf \d: value .* is not finite"):
        read(edited("leaf_value", value))


@pytest.mark.parametrize(("value", "message"), [
    ("2 1", r"split 1: decision type 1 is a categorical split; only numerical splits are supported"),
    ("2 3", r"split 1: decision type 3 is a categorical split"),
    ("12 2", r"split 0: decision type 12 is not a decision type LightGBM writes"),
    ("2 16", r"split 1: decision type 16 is not a decision type"),
    ("-2 2", r"split 0: decision type -2 is not a decision type"),
])
def test_unknown_and_categorical_decision_types_are_refused(value: str, message: str) -> None:
    with pytest.raises(ModelTextError, match=message):
        read(edited("decision_type", value))


def test_known_decision_types_are_read() -> None:
    # Default left (2), the Zero (4, 6) and NaN (8, 10) missing-value rules: all numerical.
    for kinds in ("0 2", "4 6", "8 10"):
        ensemble = read(edited("decision_type", kinds))
        assert len(ensemble.feature) == 3


def test_category_arrays_and_linear_trees_are_refused() -> None:
    with pytest.raises(ModelTextError, match=r"tree 1: num_cat '1': only numerical splits"):
        read(edited("num_cat", "1", tree=1))
    with pytest.raises(ModelTextError, match=r"tree 0: a linear tree"):
        read(edited("is_linear", "1"))


@pytest.mark.parametrize(("key", "value", "message"), [
    ("threshold", "0.5", r"tree 0: threshold has 1 values, not 2"),
    ("left_child", "1 -1 -2", r"left_child has 3 values, not 2"),
    ("leaf_value", "1 2", r"leaf_value has 2 values, not 3"),
    ("split_feature", "0 x", r"split_feature: 'x' is not an integer"),
    ("threshold", "0.5 1.5.5", r"threshold: '1.5.5' is not a number"),
    ("num_leaves", "0", r"num_leaves 0 is not between 1 and 131072"),
    ("num_leaves", "999999999", r"num_leaves 999999999 is not between"),
    ("num_leaves", "three", r"num_leaves: 'three' is not an integer"),
    ("threshold", "1" * 100, r"threshold is 100 characters long, too long for 2 numbers"),
])
def test_malformed_fields_are_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(ModelTextError, match=message):
        read(edited(key, value))


def test_missing_fields_and_trees_are_refused() -> None:
    with pytest.raises(ModelTextError, match=r"tree 1: no left_child field"):
        read(TEXT.replace("left_child=-1\n", ""))
    with pytest.raises(ModelTextError, match=r"model 'y': no trees"):
        read(TEXT.split("Tree=0")[0])


@pytest.mark.parametrize(("value", "message"), [
    ("-1", r"max_feature_idx -1 is not between 0 and"),
    ("10000000", r"max_feature_idx 10000000 is not between"),
    ("x", r"max_feature_idx: 'x' is not an integer"),
])
def test_header_feature_count_is_checked(value: str, message: str) -> None:
    with pytest.raises(ModelTextError, match=message):
        read(edited("max_feature_idx", value, tree=-1))


def test_more_than_one_output_per_iteration_is_refused() -> None:
    # LightGBM itself divides by this number (0 kills it with SIGFPE); the walker sums one output only.
    for value in ("0", "3"):
        with pytest.raises(ModelTextError, match="not a single-output"):
            read(edited("num_tree_per_iteration", value, tree=-1))


def test_models_on_different_features_are_refused() -> None:
    other = edited("max_feature_idx", "2", tree=-1)
    with pytest.raises(ModelTextError, match="model 'z' has 3 features, not 2"):
        TreeEnsemble.from_model_texts({"y": TEXT, "z": other})


def test_a_constant_tree_needs_no_split_fields() -> None:
    tree = "Tree=0\nnum_leaves=1\nnum_cat=0\nleaf_value=4.5\nshrinkage=1\n\n\nend of trees\n"
    constant = TEXT.split("Tree=0")[0] + tree
    np.testing.assert_array_equal(read(constant).predict(np.zeros((3, 2)))[0], [4.5] * 3)
