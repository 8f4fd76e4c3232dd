"""Every problem with a model file is one ModelFileError naming the file and what is wrong."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from greendc.errors import GreendcError
from greendc.learning import facility_model
from greendc.learning.facility_model import FacilityModel, ModelFileError
from tests.learning.model_files import member, patched_central_entry, rezipped, with_meta, with_text


def written(tmp_path: Path, data: bytes, name: str = "damaged.gdm") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(tmp_path: Path, data: bytes, message: str) -> ModelFileError:
    path = written(tmp_path, data)
    with pytest.raises(ModelFileError, match=message) as caught:
        FacilityModel.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value


def test_a_model_file_error_is_a_greendc_error() -> None:
    assert issubclass(ModelFileError, GreendcError)


def test_the_small_model_file_loads_and_predicts_as_saved(small_model: FacilityModel, small_model_bytes: bytes,
                                                          tmp_path: Path) -> None:
    loaded = FacilityModel.load(written(tmp_path, small_model_bytes))
    rows = np.random.default_rng(0).normal(size=(20, len(small_model.feature_names_)))
    np.testing.assert_array_equal(loaded.predict(rows).cooling_power_w, small_model.predict(rows).cooling_power_w)
    assert loaded.metrics_ == small_model.metrics_ and loaded.training_period_ == small_model.training_period_


def test_not_a_regular_file_or_too_large(tmp_path: Path, small_model_bytes: bytes,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelFileError, match="is a folder"):
        FacilityModel.load(tmp_path)
    with pytest.raises(ModelFileError, match="not a regular file"):
        FacilityModel.load("/dev/zero")  # would never end if read
    monkeypatch.setattr(facility_model, "MAX_MODEL_FILE_BYTES", 1000)
    with pytest.raises(ModelFileError, match=r"model file is 0\.\d MiB, more than"):
        FacilityModel.load(written(tmp_path, small_model_bytes))


@pytest.mark.parametrize("flip", [100, 400, 2000, -200, -30])
def test_a_bit_flip_in_the_archive(small_model_bytes: bytes, tmp_path: Path, flip: int) -> None:
    # Headers, compressed data and the central directory: zlib.error, bad CRCs, bad offsets.
    damaged = bytearray(small_model_bytes)
    damaged[flip] ^= 0x10
    path = written(tmp_path, bytes(damaged))
    try:
        FacilityModel.load(path)
    except ModelFileError as error:
        assert str(error).startswith(f"{path}: ")


def test_truncated_and_foreign_files(small_model_bytes: bytes, tmp_path: Path) -> None:
    refused(tmp_path, small_model_bytes[:len(small_model_bytes) // 2], r"corrupt or unreadable model file")
    refused(tmp_path, b"PK\x03\x04" + b"\0" * 40, r"corrupt or unreadable model file")
    refused(tmp_path, rezipped(small_model_bytes, {"meta.json": None}), r"meta.json is missing")


def test_a_declared_size_beyond_the_limit_is_refused_unread(small_model_bytes: bytes, tmp_path: Path) -> None:
    name = "boosters/cooling_power_w.txt"
    huge = patched_central_entry(small_model_bytes, name, "file_size", 0xFFFF_FFF0)
    refused(tmp_path, huge, rf"{name} declares 4,294,967,280 bytes, more than the 16,777,216")


def test_a_zip_bomb_is_refused_within_bounded_memory(small_model_bytes: bytes, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # 64 MiB of zeros deflate to 64 kB. Declared truthfully it is refused by its size; declared as 1 kB (a
    # lie) it is read no further than that, and its CRC then gives it away.
    bomb = rezipped(small_model_bytes, {"boosters/it_power_w.txt": bytes(64 * 2**20)})
    assert len(bomb) < 2 * len(small_model_bytes) + 200_000
    refused(tmp_path, bomb, r"boosters/it_power_w.txt declares 67,108,864 bytes")
    lying = patched_central_entry(bomb, "boosters/it_power_w.txt", "file_size", 1000)
    tracemalloc.start()
    try:
        refused(tmp_path, lying, r"corrupt or unreadable model file \(BadZipFile: Bad CRC-32")
        assert tracemalloc.get_traced_memory()[1] < 2 * 2**20
    finally:
        tracemalloc.stop()


def test_all_texts_together_are_bounded(small_model_bytes: bytes, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    total = sum(len(member(small_model_bytes, f"boosters/{name}.txt")) for name in ("cooling_power_w", "it_power_w"))
    monkeypatch.setattr(facility_model, "MAX_MODEL_TEXT_BYTES", total)
    refused(tmp_path, small_model_bytes, r"declares [\d,]+ bytes, more than the [\d,]+ a model file's part may have")


def test_encryption_other_compression_and_many_members(small_model_bytes: bytes, tmp_path: Path) -> None:
    refused(tmp_path, patched_central_entry(small_model_bytes, "meta.json", "flag_bits", 1), r"meta.json is encrypted")
    refused(tmp_path, patched_central_entry(small_model_bytes, "meta.json", "compress_type", 14),
            r"meta.json uses compression method 14")
    crowded = rezipped(small_model_bytes, extra={f"junk/{index}": b"" for index in range(300)})
    refused(tmp_path, crowded, r"309 files in the archive, more than a model file has \(256 at most\)")


def test_a_booster_text_that_is_not_utf8(small_model_bytes: bytes, tmp_path: Path) -> None:
    damaged = rezipped(small_model_bytes, {"boosters/it_power_w.txt": b"tree\n\xff\xfe"})
    refused(tmp_path, damaged, r"boosters/it_power_w.txt: not UTF-8 text \(byte 5\)")


def _set(path: str, value: Any) -> Any:
    def change(meta: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = meta
        for part in parents:
            target = target[part]
        target[last] = value
    return change


@pytest.mark.parametrize(("change", "message"), [
    (_set("zone_names", ["West Hall", 5]), r"meta.json: zone_names.1: Input should be a valid string \(got 5\)"),
    (_set("zone_names", []), r"meta.json: zone_names: List should have at least 1 item"),
    (_set("interval_h", -0.25), r"meta.json: interval_h: Input should be greater than 0 \(got -0.25\)"),
    (_set("interval_h", math.nan), r"meta.json: interval_h: Input should be a finite number"),
    (_set("has_chiller_plant", "yes"), r"meta.json: has_chiller_plant: Input should be a valid boolean"),
    (_set("training_rows", 1.5), r"meta.json: training_rows: Input should be a valid integer"),
    (_set("training_period", ["2001-01-01"]), r"meta.json: training_period.1: Field required"),
    (_set("params.n_jobs", "2"), r"meta.json: params.n_jobs: Input should be a valid integer \(got '2'\)"),
    (_set("params.colour", "green"), r"meta.json: params.colour: Extra inputs are not permitted"),
    (_set("metrics.it_power_w.rmse", math.inf), r"meta.json: metrics.it_power_w._Accuracy.rmse"),
    (lambda meta: meta.pop("holdout_rows"), r"meta.json: holdout_rows: Field required$"),
    (lambda meta: meta["metrics"].pop("it_power_w"), r"meta.json: metrics.it_power_w: the held-out accuracy"),
    (lambda meta: meta["metrics"].pop("inlet_within_2_std_fraction"), r"inlet_within_2_std_fraction: the coverage"),
    (lambda meta: meta["boosters"].pop(), r"meta.json: boosters: .* are not the ones greendc makes for zones"),
    (lambda meta: meta["feature_names"].reverse(), r"meta.json: feature_names: .* are not the ones greendc makes"),
    (lambda meta: meta["target_names"].append("x"), r"meta.json: target_names: .* are not the ones"),
    (_set("zone_names", ["West Hall", "West Hall"]), r"zone_names: a zone appears twice"),
    (_set("kind", "cat pictures"), r"not a greendc facility model \(meta.json: kind 'cat pictures'\)"),
    (_set("format_version", [1]), r"model format version \[1\], this greendc reads version 2"),
    (_set("format_version", 1), r"model format version 1, this greendc reads version 2; retrain with greendc train$"),
    (_set("calibration.inlet_std_scale.West Hall", math.nan), r"calibration.inlet_std_scale.West Hall: Input should "
                                                              r"be a finite number"),
    (_set("calibration.inlet_std_scale.West Hall", -1.0), r"calibration.inlet_std_scale.West Hall: Input should be "
                                                          r"greater than or equal to 0"),
    (_set("calibration.cooling_power_std_w", "1"), r"calibration.cooling_power_std_w: Input should be a valid number"),
    (lambda meta: meta["calibration"]["inlet_std_floor_c"].pop("East Hall"),
     r"calibration.inlet_std_floor_c: zones \['West Hall'\] are not the model's"),
    (lambda meta: meta.pop("envelope"), r"meta.json: envelope: Field required$"),
    (_set("envelope.feature_ranges.hour_sin.min", 5.0), r"envelope.feature_ranges.hour_sin: Value error, min \(5.0\) "
                                                        r"must not exceed max"),
    (lambda meta: meta["envelope"]["feature_ranges"].pop("hour_cos"), r"envelope.feature_ranges: .* are not the "
                                                                      r"model's features"),
    (_set("envelope.zone_names", ["East Hall", "West Hall"]), r"envelope: Value error, zone_it_design_power_w: zones"),
    (lambda meta: meta["metrics"].pop("cooling_power_within_2_std_fraction"),
     r"metrics.cooling_power_within_2_std_fraction: the coverage is missing"),
])
def test_meta_json_is_checked_field_by_field(small_model_bytes: bytes, tmp_path: Path, change: Any,
                                             message: str) -> None:
    refused(tmp_path, with_meta(small_model_bytes, change), message)


@pytest.mark.parametrize(("text", "message"), [
    (b'{"kind": "greendc facility model", "format_version": 1', r"meta.json: <file>: Invalid JSON: EOF"),
    (b"[" * 100_000, r"meta.json: <file>: Invalid JSON: recursion limit exceeded"),
    (b"[1, 2]", r"meta.json: <file>: Input should be an object \(got \[1, 2\]\)"),
    (b"\xff\xfe{}", r"meta.json: <file>: Invalid JSON"),
])
def test_meta_json_that_is_no_json_object(small_model_bytes: bytes, tmp_path: Path, text: bytes,
                                          message: str) -> None:
    refused(tmp_path, rezipped(small_model_bytes, {"meta.json": text}), message)


def test_error_lines_quote_at_most_about_200_characters_of_input(small_model_bytes: bytes, tmp_path: Path) -> None:
    error = refused(tmp_path, with_meta(small_model_bytes, _set("kind", "x" * 100_000)), "not a greendc")
    assert len(str(error)) < 400 + len(str(tmp_path))
    long_token = with_text(small_model_bytes, "it_power_w", lambda text: text.replace("threshold=", "threshold=" +
                                                                                       "9" * 50_000 + "x", 1))
    error = refused(tmp_path, long_token, r"model 'it_power_w', tree 0: threshold is [\d,]+ characters long")
    assert len(str(error)) < 400 + len(str(tmp_path))


def test_trees_that_read_another_number_of_features(small_model_bytes: bytes, tmp_path: Path) -> None:
    # Every text agrees with every other, but not with meta.json: a state row would be read past its end.
    with zipfile.ZipFile(io.BytesIO(small_model_bytes)) as archive:
        names = [name[len("boosters/"):-len(".txt")] for name in archive.namelist() if name.startswith("boosters/")]
    assert len(names) == 8
    data = small_model_bytes
    for name in names:
        data = with_text(data, name, lambda text: text.replace("max_feature_idx=12", "max_feature_idx=13"))
    refused(tmp_path, data, r"the trees of 'cooling_power_w' read 14 features, meta.json lists 13")


def test_a_bad_tree_names_its_model_tree_and_split(small_model_bytes: bytes, tmp_path: Path) -> None:
    def cycle(text: str) -> str:
        # Tree 1's split 1 gets split 0 (the root) as its left child.
        head, tree_one = text.split("Tree=1\n", 1)
        lines = tree_one.split("\n")
        index = next(i for i, line in enumerate(lines) if line.startswith("left_child="))
        children = lines[index].split("=")[1].split()
        children[1] = "0"
        lines[index] = "left_child=" + " ".join(children)
        return head + "Tree=1\n" + "\n".join(lines)

    refused(tmp_path, with_text(small_model_bytes, "it_power_w", cycle),
            r"model 'it_power_w', tree 1: split 1: its child split 0 is reached twice from the root")


def test_wrong_zones_for_the_site(small_model_bytes: bytes, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"trained for zones \['West Hall', 'East Hall'\], but the site has"):
        FacilityModel.load(written(tmp_path, small_model_bytes), zone_names=["Hall A"])


def test_lightgbm_reads_a_text_whose_tree_sizes_lie(small_model: FacilityModel, small_model_bytes: bytes,
                                                    tmp_path: Path) -> None:
    # LightGBM locates trees by the header's tree_sizes and kills the process (SIGSEGV, SIGABRT) when they do
    # not match the text. The loaded model hands LightGBM its text without them; this runs in a child process
    # because the failure it guards against is a crash.
    path = written(tmp_path, with_text(small_model_bytes, "cooling_power_w",
                                       lambda text: text.replace("tree_sizes=", "tree_sizes=99999 1 ", 1)))
    script = ("import sys\nfrom greendc.learning.facility_model import FacilityModel\n"
              "model = FacilityModel.load(sys.argv[1])\n"
              "print(model.feature_importance('cooling_power_w').sum())\n")
    run = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert float(run.stdout) == pytest.approx(small_model.feature_importance("cooling_power_w").sum())


def test_lightgbm_errors_on_a_loaded_text_are_model_file_errors(small_model_bytes: bytes, tmp_path: Path) -> None:
    # split_gain is not read by the compiled trees, only by LightGBM (feature importance, explain).
    damaged = with_text(small_model_bytes, "cooling_power_w",
                        lambda text: text.replace("split_gain=", "split_gain=x", 1))
    model = FacilityModel.load(written(tmp_path, damaged))
    with pytest.raises(ModelFileError, match=r"boosters/cooling_power_w.txt: LightGBM cannot read it"):
        model.feature_importance("cooling_power_w")
