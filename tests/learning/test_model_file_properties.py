"""Property: a damaged model file either loads and predicts, or raises ModelFileError; nothing else.

Hypothesis damages a small real model file the ways a disk, a download or a hostile user would (bit flips
in the archive, truncation, edits inside the texts and ``meta.json`` re-zipped so they pass the CRC) and
predicts a candidate batch with every model that loads, in this process: the loader's checks are what make
that safe (``bench/fuzz_models.py`` does the same for 2,000 cases, each predicted in a child process).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greendc.learning.facility_model import FacilityModel, ModelFileError
from greendc.learning.features import training_table
from greendc.learning.trees import resolve, walk_together
from greendc.telemetry.schema import Telemetry
from tests.learning.model_files import member, rezipped

#: Fields of the model texts that the compiled trees read, and two that LightGBM reads.
TREE_FIELDS = ("split_feature", "threshold", "decision_type", "left_child", "right_child", "leaf_value", "num_leaves",
               "max_feature_idx", "num_cat", "num_tree_per_iteration", "tree_sizes", "split_gain")
TOKENS = st.one_of(st.integers(-2**70, 2**70).map(str), st.floats().map(repr),
                   st.sampled_from(["", "x", "nan", "inf", "-inf", "1e999", "-0", "0.5", "1 2", "-1", "0"]))
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
                           lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=6)


@pytest.fixture(scope="module")
def candidates(small_model: FacilityModel, exploration: Telemetry) -> np.ndarray:
    """A batch like the optimizer's: one state row with a grid of setpoints (the last five columns)."""
    state = training_table(exploration, True).features.iloc[300].to_numpy(dtype=float)
    rows = np.tile(state, (45, 1))
    rows[:, -5:] = np.random.default_rng(2).choice([12.0, 15.0, 18.0, 21.0, 24.0, 27.0], size=(45, 5))
    assert rows.shape[1] == len(small_model.feature_names_)
    return rows


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "damaged.gdm"


def _flipped(data: bytes, draw: Any) -> bytes:
    damaged = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        damaged[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    return bytes(damaged)


def _text_edited(data: bytes, name: str, draw: Any) -> bytes:
    text = member(data, name).decode()
    start = draw(st.integers(0, len(text)))
    end = start + draw(st.integers(0, 20))
    inserted = draw(st.text(alphabet="0123456789-+.e naif=~\n", max_size=12))
    return rezipped(data, {name: (text[:start] + inserted + text[end:]).encode()})


def _token_edited(data: bytes, name: str, draw: Any) -> bytes:
    text = member(data, name).decode()
    key = draw(st.sampled_from(TREE_FIELDS))
    lines = [match.span() for match in re.finditer(rf"^{key}=(.*)$", text, flags=re.MULTILINE)]
    if not lines:
        return data
    start, end = lines[draw(st.integers(0, len(lines) - 1))]
    tokens = text[start + len(key) + 1:end].split(" ")
    tokens[draw(st.integers(0, len(tokens) - 1))] = draw(TOKENS)
    return rezipped(data, {name: (text[:start] + f"{key}=" + " ".join(tokens) + text[end:]).encode()})


def _meta_edited(data: bytes, draw: Any) -> bytes:
    meta = json.loads(member(data, "meta.json"))
    parents = [meta]
    target = meta
    while isinstance(target, dict | list) and target and draw(st.booleans()):
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        target = target[draw(st.sampled_from(keys))]
        parents.append(target)
    container = parents[-2] if len(parents) > 1 else meta
    keys = list(container) if isinstance(container, dict) else list(range(len(container)))
    if not keys:
        return data
    key = draw(st.sampled_from(keys))
    if draw(st.booleans()):
        del container[key]
    else:
        container[key] = draw(JSON_VALUES)
    text = json.dumps(meta)
    if draw(st.booleans()):
        text = text[:draw(st.integers(0, len(text)))]
    return rezipped(data, {"meta.json": text.encode()})


def damaged(data: bytes, draw: Any) -> bytes:
    """One damaged copy of the model file ``data``."""
    names = ["meta.json", *[name for name in _names(data) if name.startswith("boosters/")]]
    kind = draw(st.sampled_from(["flip", "truncate", "text", "token", "meta"]))
    if kind == "flip":
        return _flipped(data, draw)
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data) - 1))]
    if kind == "text":
        return _text_edited(data, draw(st.sampled_from(names)), draw)
    if kind == "token":
        return _token_edited(data, draw(st.sampled_from(names[1:])), draw)
    return _meta_edited(data, draw)


def _names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_model_files_load_and_predict_or_raise_model_file_error(
        small_model_bytes: bytes, candidates: np.ndarray, fuzz_file: Path, data: st.DataObject) -> None:
    fuzz_file.write_bytes(damaged(small_model_bytes, data.draw))
    try:
        model = FacilityModel.load(fuzz_file)
    except ModelFileError as error:
        message = str(error)
        assert message.startswith(f"{fuzz_file}: ") and "\n" not in message and len(message) < 800, message
        return
    # What the ai does with a model: predict its candidates, means and spread, and walk the resolved trees.
    prediction = model.predict(candidates)
    assert prediction.cooling_power_w.shape == (len(candidates),)
    assert all(spread.shape == (len(candidates),) for spread in prediction.inlet_temp_std_c.values())
    means, _ = model.ensembles()
    shared = np.ones(candidates.shape[1], dtype=bool)
    shared[-5:] = False
    out = np.zeros((len(means.targets), len(candidates)))
    walk_together(candidates, resolve(means.arrays, candidates[0], shared), out)
    np.testing.assert_array_equal(out[0], prediction.cooling_power_w)
