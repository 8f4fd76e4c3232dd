"""Gradient-boosted regression trees compiled for the optimizer's candidate batches.

Every control step the optimizer asks the facility model about a hundred candidate rows that share most of
their columns (the state: weather, IT load, hour of day) and differ only in the setpoints. LightGBM's own
predictor walks every tree to its full depth for every row and costs tens of microseconds per call before
the first tree, once per target. :class:`TreeEnsemble` holds the trees of several targets as flat arrays
and evaluates them in one compiled call (numba): when a batch has enough rows it first resolves, once, every
split on a column that is the same in all rows, so that each row then walks only the splits on the columns
that differ (on the shipped example model, about two levels of the seven a tree has). The optimizer's
batches go further (:func:`walk_together`): their rows take a few values per column, so each tree is walked
once for the whole batch, carrying the rows that reach each split as bits.

The result is LightGBM's to the last bit: the same thresholds, the same missing-value rules
(``LightGBM/include/LightGBM/tree.h``, ``Tree::NumericalDecision``), and each row's leaf values summed in
tree order from zero, as ``GBDT::PredictRaw`` sums them. A test compares the two.

Why not a library (issue 15, item 9; bench/README.md, "Issue 15, item 9"; bench/predictor_choice.py):
on the exact candidate batches of all 8,757 searches of an annual Chicago ai run (2026-12-01, 2 busy
cores, 5 repeats), these trees predict a decision's batches in 0.31-0.37 ms (median), bit for bit equal
to LightGBM. LightGBM's own ``Booster.predict`` (one thread, 16 calls per decision) took 2.8-8.4 ms and
treelite 4.8.1's GTIL 10-24 ms, each over the 1 ms limit before any search arithmetic. lleaves 1.3.0
took 0.48-0.78 ms (0.62-1.00 ms with the search's arithmetic, estimated). It is not adopted: it does
not run with the llvmlite that numba >= 0.62 needs, it compiles the model for 12-33 s in every process
(or loads an unchecked cache), and its sums differ from LightGBM's in the last bits. Revisit when lleaves
supports llvmlite >= 0.45. Every tree is checked when its text is read (``_check_tree`` and
``_check_reached_once``), so a model file that loads cannot send the compiled walkers out of their arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from greendc.errors import quoted

# LightGBM's decision_type bits (``LightGBM/include/LightGBM/tree.h``): categorical split, default left,
# and in bits 2-3 the missing-value handling of a numerical split.
_CATEGORICAL_MASK, _DEFAULT_LEFT_MASK = 1, 2
_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN = 0, 1, 2
#: The decision types of the numerical splits LightGBM writes: default left or not, each missing-value rule.
_NUMERICAL_DECISION_TYPES = frozenset(default | missing << 2 for default in (0, _DEFAULT_LEFT_MASK)
                                      for missing in (_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN))
#: LightGBM's largest ``num_leaves`` (``config.h``); more in a file is corruption, not a model.
MAX_LEAVES_PER_TREE = 131_072
#: More features than any facility model has by far; a larger ``max_feature_idx`` is corruption.
MAX_FEATURES = 100_000
#: The longest a number in a model text can be: 17 significant digits, sign, point, exponent and a space.
_MAX_NUMBER_CHARS = 32
#: LightGBM's kZeroThreshold: its dense-row reader drops values this close to zero, and a "Zero" missing
#: type sends them the default way.
_ZERO_THRESHOLD = 1e-35
#: Up to this many rows :func:`walk_together` walks a batch as one (the search's batches have about a hundred).
_TOGETHER_MAX_ROWS = 256
#: From this many rows on, resolving the shared columns' splits once is cheaper than walking every tree
#: to its leaves for every row (resolving visits the reachable part of every tree once).
_RESOLVE_MIN_ROWS = 8


class ModelTextError(ValueError):
    """A LightGBM model text that cannot be used: malformed, or trees the compiled walkers could not walk safely.

    The message names the model, the tree and the split or leaf at fault.
    """


@dataclass(frozen=True)
class TreeEnsemble:
    """The trees of one or more LightGBM regression boosters, as flat arrays.

    Split ``i`` (over all trees) tests column ``feature[i]`` against ``threshold[i]``; its children
    ``left[i]`` and ``right[i]`` are split indices when at least 0 and leaf ``~child`` when negative.
    Tree ``t`` starts at ``root[t]`` (a leaf code for a single-leaf tree) and adds to target
    ``tree_target[t]``.
    """

    targets: tuple[str, ...]
    n_features: int
    feature: np.ndarray
    threshold: np.ndarray
    missing: np.ndarray
    default_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray
    root: np.ndarray
    tree_target: np.ndarray
    #: No split has a missing-value rule (LightGBM's "None" missing type), so each is one comparison.
    plain: bool

    @classmethod
    def from_boosters(cls, boosters: Mapping[str, Any]) -> TreeEnsemble:
        """Flatten LightGBM boosters (``{target: Booster}``, all on the same features) into one ensemble."""
        return cls.from_model_texts({target: booster.model_to_string() for target, booster in boosters.items()})

    @classmethod
    def from_model_texts(cls, texts: Mapping[str, str]) -> TreeEnsemble:
        """Flatten LightGBM models in their text format (``{target: Booster.model_to_string()}``, all on the
        same features) into one ensemble, without LightGBM (importing it and dumping 1,200 trees through its
        JSON took half a second of every ai run).

        The text holds, per tree, its splits' features, thresholds (17 significant digits, so the doubles
        come back exactly), decision types and children (a leaf as ``~index``), and its leaf values
        (LightGBM's ``Tree::ToString``). Every tree is checked here, once, so that the compiled walkers,
        which trust every index they read, can neither read out of bounds nor loop (:func:`_check_tree`);
        anything else raises :class:`ModelTextError` naming the model, the tree and the split.
        """
        splits: dict[str, list[Any]] = {name: [] for name in
                                        ("feature", "threshold", "missing", "default_left", "left", "right")}
        leaf_value: list[float] = []
        root: list[int] = []
        tree_target: list[int] = []
        n_features = None
        for target_index, (target, text) in enumerate(texts.items()):
            try:
                header, trees = _model_sections(text)
                features = _header_features(header)
            except ModelTextError as error:
                raise ModelTextError(f"model {target!r}: {error}") from None
            if n_features is None:
                n_features = features
            elif features != n_features:
                raise ModelTextError(f"model {target!r} has {features} features, not {n_features}")
            for tree_index, tree in enumerate(trees):
                try:
                    root.append(_add_tree(tree, features, splits, leaf_value))
                except ModelTextError as error:
                    raise ModelTextError(f"model {target!r}, tree {tree_index}: {error}") from None
                tree_target.append(target_index)
        return cls(
            targets=tuple(texts), n_features=int(n_features or 0),
            feature=np.asarray(splits["feature"], dtype=np.int64),
            threshold=np.asarray(splits["threshold"], dtype=np.float64),
            missing=np.asarray(splits["missing"], dtype=np.int8),
            default_left=np.asarray(splits["default_left"], dtype=np.bool_),
            left=np.asarray(splits["left"], dtype=np.int64), right=np.asarray(splits["right"], dtype=np.int64),
            leaf_value=np.asarray(leaf_value, dtype=np.float64), root=np.asarray(root, dtype=np.int64),
            tree_target=np.asarray(tree_target, dtype=np.int64),
            plain=all(missing == _MISSING_NONE for missing in splits["missing"]),
        )

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Raw predictions, shape (targets, rows), for a float matrix with one row per case."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got an array of shape {matrix.shape}")
        out = np.zeros((len(self.targets), len(matrix)))
        predict_raw(matrix, self.arrays, out)
        return out

    @property
    def arrays(self) -> tuple[Any, ...]:
        """The ensemble as :func:`predict_raw` takes it, for compiled callers."""
        return (self.feature, self.threshold, self.missing, self.default_left, self.left, self.right,
                self.leaf_value, self.root, self.tree_target, self.plain)


def compiled(function: Any) -> Any:
    """``function`` compiled by numba, cached on disk where numba finds a writable place for the cache (beside
    this module or in the user's cache directory); where it finds none, such as a read-only install without a
    home directory, it compiles in every process instead of failing to import."""
    try:
        return numba.njit(cache=True)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return numba.njit(function)


def _model_sections(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A LightGBM model text's header and its trees, each as ``key=value`` fields."""
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    fields = header
    for line in text.splitlines():
        if line.startswith("Tree="):
            fields = {}
            trees.append(fields)
        elif line == "end of trees":
            break
        elif "=" in line:
            key, value = line.split("=", 1)
            fields[key] = value
    if not trees:
        raise ModelTextError("no trees in the model text")
    return header, trees


def _header_features(header: dict[str, str]) -> int:
    """How many features a model's splits may test, from its header; refuse what the walker cannot evaluate."""
    if header.get("num_tree_per_iteration", "1") != "1" or "average_output" in header:
        raise ModelTextError("not a single-output boosted regression model")
    [last_feature] = _numbers(header, "max_feature_idx", 1, int)
    if not 0 <= last_feature < MAX_FEATURES:
        raise ModelTextError(f"max_feature_idx {last_feature} is not between 0 and {MAX_FEATURES - 1}")
    return last_feature + 1


def _numbers(fields: dict[str, str], key: str, count: int, kind: type) -> list[Any]:
    """Field ``key`` as exactly ``count`` numbers of ``kind`` (``int`` or ``float``).

    The length is checked before the field is split, so that a corrupted field of millions of values
    costs no more memory than its text.
    """
    if key not in fields:
        raise ModelTextError(f"no {key} field")
    text = fields[key]
    if len(text) > count * _MAX_NUMBER_CHARS:
        raise ModelTextError(f"{key} is {len(text):,} characters long, too long for {count} numbers")
    tokens = text.split()
    if len(tokens) != count:
        raise ModelTextError(f"{key} has {len(tokens)} values, not {count}")
    try:
        return [kind(token) for token in tokens]
    except ValueError:
        bad = next(token for token in tokens if not _parses(token, kind))
        raise ModelTextError(f"{key}: {quoted(bad)} is not {'an integer' if kind is int else 'a number'}") from None


def _parses(token: str, kind: type) -> bool:
    try:
        kind(token)
    except ValueError:
        return False
    return True


def _add_tree(tree: dict[str, str], n_features: int, splits: dict[str, list[Any]], leaf_value: list[float]) -> int:
    """Append one tree's splits and leaves (split ``i`` and leaf ``j`` of the tree after those already there)
    once it is checked (:func:`_check_tree`); return its root: its first split, or its only leaf's code."""
    first_split, first_leaf = len(splits["feature"]), len(leaf_value)
    [leaves] = _numbers(tree, "num_leaves", 1, int)
    if not 1 <= leaves <= MAX_LEAVES_PER_TREE:
        raise ModelTextError(f"num_leaves {leaves} is not between 1 and {MAX_LEAVES_PER_TREE}")
    if tree.get("num_cat", "0").strip() != "0":
        raise ModelTextError(f"num_cat {quoted(tree['num_cat'])}: only numerical splits are supported")
    if tree.get("is_linear", "0").strip() != "0":
        raise ModelTextError("a linear tree; only constant leaves are supported")
    values = _numbers(tree, "leaf_value", leaves, float)
    if leaves == 1:  # a constant: LightGBM writes its split fields empty or not at all
        _check_tree([], [], [], [], [], values, n_features)
        leaf_value.extend(values)
        return ~first_leaf
    inner = leaves - 1
    feature, threshold = _numbers(tree, "split_feature", inner, int), _numbers(tree, "threshold", inner, float)
    decision_type = _numbers(tree, "decision_type", inner, int)
    left, right = _numbers(tree, "left_child", inner, int), _numbers(tree, "right_child", inner, int)
    _check_tree(feature, threshold, decision_type, left, right, values, n_features)
    leaf_value.extend(values)

    def code(child: int) -> int:
        return first_split + child if child >= 0 else ~(first_leaf + ~child)

    splits["feature"] += feature
    splits["threshold"] += threshold
    splits["missing"] += [(kind >> 2) & 3 for kind in decision_type]
    splits["default_left"] += [bool(kind & _DEFAULT_LEFT_MASK) for kind in decision_type]
    splits["left"] += [code(child) for child in left]
    splits["right"] += [code(child) for child in right]
    return first_split


def _check_tree(feature: list[int], threshold: list[float], decision_type: list[int], left: list[int],
                right: list[int], leaf_value: list[float], n_features: int) -> None:
    """Refuse a tree the compiled walkers could read out of bounds or loop in, or would evaluate wrongly.

    The walkers (:func:`walk`, :func:`walk_together`, :func:`resolve`) index the feature, child and leaf
    arrays without bounds checks and size their stacks by the number of splits, both of which are only safe
    for a tree: every index in range and every split and leaf reached exactly once from the root (split 0).
    A child that points back to an ancestor would make the walk endless; one shared by two parents would
    overflow the stacks.
    """
    splits, leaves = len(feature), len(leaf_value)
    for leaf, value in enumerate(leaf_value):
        if not math.isfinite(value):
            raise ModelTextError(f"leaf {leaf}: value {value} is not finite")
    for node in range(splits):
        if not 0 <= feature[node] < n_features:
            raise ModelTextError(f"split {node}: feature {feature[node]} is not one of the model's "
                                 f"{n_features} features (0 to {n_features - 1})")
        # LightGBM writes every threshold finite (Common::AvoidInf caps them at +-1e300).
        if not math.isfinite(threshold[node]):
            raise ModelTextError(f"split {node}: threshold {threshold[node]} is not finite")
        if decision_type[node] not in _NUMERICAL_DECISION_TYPES:
            kind = ("a categorical split; only numerical splits are supported"
                    if 0 <= decision_type[node] < 16 and decision_type[node] & _CATEGORICAL_MASK else
                    "not a decision type LightGBM writes")
            raise ModelTextError(f"split {node}: decision type {decision_type[node]} is {kind}")
        for side, child in (("left", left[node]), ("right", right[node])):
            if not -leaves <= child < splits:
                raise ModelTextError(f"split {node}: {side} child {child} is neither a split (0 to {splits - 1}) "
                                     f"nor a leaf (-1 to {-leaves})")
    if splits:
        _check_reached_once(left, right, leaves)


def _check_reached_once(left: list[int], right: list[int], leaves: int) -> None:
    """Refuse children that do not make a tree rooted at split 0 (children known to be in range)."""
    split_seen, leaf_seen = [False] * len(left), [False] * leaves
    split_seen[0] = True
    stack = [0]
    while stack:  # each split is pushed at most once, so this ends whatever the children are
        node = stack.pop()
        for child in (left[node], right[node]):
            seen = split_seen if child >= 0 else leaf_seen
            index = child if child >= 0 else ~child
            if seen[index]:
                what = f"split {index}" if child >= 0 else f"leaf {index}"
                raise ModelTextError(f"split {node}: its child {what} is reached twice from the root (a cycle or "
                                     "a shared branch: not a tree)")
            seen[index] = True
            if child >= 0:
                stack.append(child)
    if not all(split_seen):
        raise ModelTextError(f"split {split_seen.index(False)} is not reached from the root")
    if not all(leaf_seen):
        raise ModelTextError(f"leaf {leaf_seen.index(False)} is not reached from the root")


@compiled
def _goes_left(value: float, threshold: float, missing: int, default_left: bool) -> bool:
    if abs(value) <= _ZERO_THRESHOLD:
        value = 0.0
    if np.isnan(value):
        if missing == _MISSING_NAN:
            return default_left
        value = 0.0
    if missing == _MISSING_ZERO and value == 0.0:
        return default_left
    return value <= threshold


@compiled
def _descend(node: int, row: np.ndarray, shared: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
             missing: np.ndarray, default_left: np.ndarray, left: np.ndarray, right: np.ndarray) -> int:
    """Follow the splits on shared columns from ``node``; return the first other split, or a leaf code."""
    while node >= 0 and shared[feature[node]]:
        goes_left = _goes_left(row[feature[node]], threshold[node], missing[node], default_left[node])
        node = left[node] if goes_left else right[node]
    return node


@compiled
def _zeros_read_as_lightgbm_reads_them(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` with NaN and values within _ZERO_THRESHOLD of zero set to 0, as LightGBM reads them where a
    split has no missing-value rule (a copy only when there is one)."""
    for value in matrix.ravel():
        if np.isnan(value) or abs(value) <= _ZERO_THRESHOLD:
            return np.where(np.isnan(matrix) | (np.abs(matrix) <= _ZERO_THRESHOLD), 0.0, matrix)
    return matrix


@compiled
def predict_raw(matrix: np.ndarray, trees: tuple[Any, ...], out: np.ndarray) -> None:
    """Add each row's raw prediction of every target to ``out`` (targets, rows), for an ensemble's ``arrays``
    and a C-contiguous float matrix with the ensemble's columns (callable from compiled code)."""
    rows, columns = matrix.shape
    if rows >= _RESOLVE_MIN_ROWS:
        shared = np.ones(columns, dtype=np.bool_)
        for column in range(columns):
            first = matrix[0, column]
            for row in range(1, rows):
                if matrix[row, column] != first:  # NaN is never shared
                    shared[column] = False
                    break
        trees = resolve(trees, matrix[0], shared)
    walk(matrix, trees, out)


@compiled
def resolve(trees: tuple[Any, ...], row: np.ndarray, shared: np.ndarray) -> tuple[Any, ...]:
    """The part of each tree that rows agreeing with ``row`` on every ``shared`` column can reach, as
    ensemble arrays: the splits on shared columns are resolved once (they all go the same way) and left out.

    Walking the result gives every such row the leaves the whole trees give it.
    """
    feature, threshold, missing, default_left, left, right, leaf_value, root, tree_target, plain = trees
    splits = len(feature)
    sub_feature, sub_threshold = np.empty(splits, np.int64), np.empty(splits, np.float64)
    sub_missing, sub_default_left = np.empty(splits, np.int8), np.empty(splits, np.bool_)
    sub_left, sub_right = np.empty(splits, np.int64), np.empty(splits, np.int64)
    sub_root = np.empty(len(root), np.int64)
    stack_from, stack_to = np.empty(splits, np.int64), np.empty(splits, np.int64)
    count = 0
    for tree in range(len(root)):
        node = _descend(root[tree], row, shared, feature, threshold, missing, default_left, left, right)
        if node < 0:
            sub_root[tree] = node
            continue
        sub_root[tree] = count
        stack_from[0], stack_to[0], top = node, count, 1
        count += 1
        while top > 0:
            top -= 1
            node, copy = stack_from[top], stack_to[top]
            sub_feature[copy], sub_threshold[copy] = feature[node], threshold[node]
            sub_missing[copy], sub_default_left[copy] = missing[node], default_left[node]
            for side in range(2):
                child = _descend(left[node] if side == 0 else right[node], row, shared, feature, threshold,
                                 missing, default_left, left, right)
                if child >= 0:
                    stack_from[top], stack_to[top] = child, count
                    top += 1
                    child = count
                    count += 1
                if side == 0:
                    sub_left[copy] = child
                else:
                    sub_right[copy] = child
    return (sub_feature[:count], sub_threshold[:count], sub_missing[:count], sub_default_left[:count],
            sub_left[:count], sub_right[:count], leaf_value, sub_root, tree_target, plain)


@compiled
def _value_masks(matrix: np.ndarray, tested: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each ``tested`` column: its distinct values in ascending order (``values[column, :count[column]]``)
    and, for each, the rows whose value is at most it, as bits (row r is bit r % 64 of word r // 64):
    ``at_most[column, k, word]``."""
    rows, columns = matrix.shape
    words = (rows + 63) // 64
    values = np.empty((columns, rows))
    count = np.zeros(columns, np.int64)
    at_most = np.zeros((columns, rows, words), np.uint64)
    for column in range(columns):
        if not tested[column]:
            continue
        # Rows by distinct value (a candidate batch has a few dozen rows and a few distinct values per column).
        distinct = 0
        for row in range(rows):
            value = matrix[row, column]
            position = 0
            while position < distinct and values[column, position] != value:
                position += 1
            if position == distinct:
                values[column, position] = value
                distinct += 1
            at_most[column, position, row >> 6] |= np.uint64(1) << np.uint64(row & 63)
        # Insertion sort by value, carrying each value's rows; then each value's rows include all below it.
        for position in range(1, distinct):
            value, bits = values[column, position], at_most[column, position].copy()
            before = position - 1
            while before >= 0 and values[column, before] > value:
                values[column, before + 1] = values[column, before]
                at_most[column, before + 1] = at_most[column, before]
                before -= 1
            values[column, before + 1] = value
            at_most[column, before + 1] = bits
        for position in range(1, distinct):
            at_most[column, position] |= at_most[column, position - 1]
        count[column] = distinct
    return values, count, at_most


@compiled
def walk_together(matrix: np.ndarray, trees: tuple[Any, ...], out: np.ndarray) -> None:
    """:func:`walk` for a batch of rows that share most of their values (the optimizer's candidates): each tree
    is walked once for the whole batch, carrying the set of rows that reach each split as bits.

    At a split on column c with threshold t the rows that go left are those among its rows whose value of c
    is at most t: one binary search among c's distinct values in the batch (:func:`_value_masks`) and a bitwise
    AND. A tree whose splits test columns that take a few values in the batch (a few setpoints) thus costs a
    few splits, however many rows share each leaf. Each row still gets its own leaf's value added, tree by tree
    in order, so the sums are :func:`walk`'s to the last bit. Ensembles with missing-value rules, and batches of
    more than ``_TOGETHER_MAX_ROWS`` rows (whose bits and distinct values would outgrow the walk they save), are
    walked row by row (:func:`walk`).
    """
    feature, threshold, _, _, left, right, leaf_value, root, tree_target, plain = trees
    if not plain or matrix.shape[0] > _TOGETHER_MAX_ROWS:
        walk(matrix, trees, out)
        return
    matrix = _zeros_read_as_lightgbm_reads_them(matrix)
    rows = matrix.shape[0]
    words = (rows + 63) // 64
    tested = np.zeros(matrix.shape[1], np.bool_)
    for split in range(len(feature)):
        tested[feature[split]] = True
    values, count, at_most = _value_masks(matrix, tested)
    every_row = np.zeros(words, np.uint64)
    for row in range(rows):
        every_row[row >> 6] |= np.uint64(1) << np.uint64(row & 63)
    # Depth-first over each tree, a stack of (split, rows reaching it); a tree has fewer splits than the stack.
    stack_node = np.empty(len(feature) + 1, np.int64)
    stack_rows = np.empty((len(feature) + 1, words), np.uint64)
    leaf_of_row = np.empty(rows)
    reaching = np.empty(words, np.uint64)
    for tree in range(len(root)):
        target = tree_target[tree]
        if root[tree] < 0:
            value = leaf_value[~root[tree]]
            for row in range(rows):
                out[target, row] += value
            continue
        stack_node[0], top = root[tree], 1
        for word in range(words):
            stack_rows[0, word] = every_row[word]
        while top > 0:
            top -= 1
            node = stack_node[top]
            for word in range(words):
                reaching[word] = stack_rows[top, word]
            if node < 0:
                value = leaf_value[~node]
                for word in range(words):
                    bits = reaching[word]
                    # Run by run of consecutive rows: a leaf's rows come in runs in a candidate grid.
                    while bits:
                        start = trailing_zeros(bits)
                        length = trailing_zeros(~(bits >> start))  # 64 when the run fills the word
                        first = word * 64 + int(start)
                        for row in range(first, first + int(length)):
                            leaf_of_row[row] = value
                        bits &= bits + (np.uint64(1) << start)  # the carry clears the run
                continue
            column, limit = feature[node], threshold[node]
            # How many of the column's distinct values are at most the threshold.
            low, high = 0, count[column]
            while low < high:
                middle = (low + high) // 2
                if values[column, middle] <= limit:
                    low = middle + 1
                else:
                    high = middle
            for side in range(2):
                child = left[node] if side == 0 else right[node]
                any_row = False
                for word in range(words):
                    goes_left = at_most[column, low - 1, word] if low > 0 else np.uint64(0)
                    bits = reaching[word] & (goes_left if side == 0 else ~goes_left)
                    stack_rows[top, word] = bits
                    any_row = any_row or bits != 0
                if any_row:
                    stack_node[top] = child
                    top += 1
        for row in range(rows):
            out[target, row] += leaf_of_row[row]


@compiled
def walk(matrix: np.ndarray, trees: tuple[Any, ...], out: np.ndarray) -> None:
    """Add each row's leaf values, tree by tree, to ``out`` (targets, rows): :func:`predict_raw` without
    resolving shared columns first, each row walking each tree on its own."""
    feature, threshold, missing, default_left, left, right, leaf_value, root, tree_target, plain = trees
    if plain:
        # Doing once what LightGBM does at each split that has no missing-value rule makes every split one
        # comparison.
        matrix = _zeros_read_as_lightgbm_reads_them(matrix)
    for tree in range(len(root)):
        target = tree_target[tree]
        for row in range(matrix.shape[0]):
            node = root[tree]
            if plain:
                while node >= 0:
                    node = left[node] if matrix[row, feature[node]] <= threshold[node] else right[node]
            else:
                while node >= 0:
                    goes_left = _goes_left(matrix[row, feature[node]], threshold[node], missing[node],
                                           default_left[node])
                    node = left[node] if goes_left else right[node]
            out[target, row] += leaf_value[~node]
