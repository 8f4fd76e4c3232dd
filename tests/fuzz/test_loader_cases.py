"""The telemetry and inventory cases of issue 15, one plain test each (the property tests sample the rest).

Telemetry: an ``IndexError`` on a missing (NaT) time, files read whole before their size was known,
unreadable files. Inventory: values of the wrong type where text is expected, and error lines that
echoed 100-200 kB of input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from greendc.carbon.errors import InventoryError
from greendc.carbon.inventory import load_inventory
from greendc.cli.main import app
from greendc.telemetry import schema as telemetry_schema
from greendc.telemetry.schema import TelemetryError, load_telemetry, validate_telemetry
from tests.fuzz.mutations import INVENTORY_EXAMPLES, message_problem, telemetry_frame


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


# --- telemetry ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("missing_rows", [[1], [1, 2], [0, 1, 2, 3, 4, 5, 6, 7]], ids=["one", "two", "all"])
def test_a_missing_time_is_refused_naming_its_row(missing_rows: list[int]) -> None:
    frame = telemetry_frame(rows=8)
    frame["time"] = frame["time"].astype(object)
    for row in missing_rows:
        frame.at[row, "time"] = None
    with pytest.raises(TelemetryError, match=f"column 'time' row {missing_rows[0] + 1} is empty or not a time"):
        validate_telemetry(frame, "bms.csv")


def test_two_rows_one_without_a_time_no_longer_raise_an_index_error() -> None:
    """The case the fuzzing found: after dropping the NaT there was no step to take the interval from."""
    frame = telemetry_frame(rows=2)
    frame["time"] = [pd.Timestamp("2001-07-01 00:15"), pd.NaT]
    with pytest.raises(TelemetryError, match="row 2 is empty"):
        validate_telemetry(frame)


@pytest.mark.parametrize(("change", "words"), [
    (lambda f: f.assign(time=range(len(f))), "column 'time' holds numbers"),
    (lambda f: f.assign(time=["2001-07-01 00:15", "2001-07-01 00:30", "later"] + [""] * (len(f) - 3)),
     "column 'time' is not a timestamp"),
    (lambda f: f.rename(columns={"it_power_w": 5}), "column names must be text"),
    (lambda f: pd.concat([f, f[["it_power_w"]]], axis=1), "column 'it_power_w' appears more than once"),
    (lambda f: f.assign(**{"Hall/inlet_temp_c": [[1.0]] * len(f)}), "'Hall/inlet_temp_c' holds no numbers"),
    (lambda f: f.rename(columns={"Hall/inlet_temp_c": "x" * 100_000 + "/inlet_temp_c"}), "missing column(s)"),
])
def test_bad_telemetry_frames_are_one_short_line(change: Any, words: str) -> None:
    with pytest.raises(TelemetryError) as raised:
        validate_telemetry(change(telemetry_frame(rows=8)), "bms.csv")
    message = str(raised.value)
    assert words in message and message_problem(message) is None, message


def test_nullable_and_boolean_columns_validate() -> None:
    frame = telemetry_frame(rows=8)
    frame["it_power_w"] = frame["it_power_w"].round().astype("Int64")
    frame.loc[3, "it_power_w"] = pd.NA
    telemetry = validate_telemetry(frame)
    assert telemetry.frame["it_power_w"].isna().sum() == 1 and telemetry.frame["it_power_w"].dtype == float


@pytest.mark.parametrize(("name", "words"), [
    ("a\0b.csv", "NUL character"),
    ("x" * 5000, "File name too long"),
    ("~nosuchuser/telemetry.csv", "no such user"),
    ("/dev/zero", "not a regular file"),
])
def test_a_telemetry_path_that_cannot_be_opened_is_one_line(name: str, words: str) -> None:
    with pytest.raises(TelemetryError) as raised:
        load_telemetry(name)
    assert words in str(raised.value) and message_problem(str(raised.value)) is None


def test_an_oversized_telemetry_csv_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "telemetry.csv"
    with path.open("wb") as stream:
        stream.truncate(telemetry_schema.MAX_TELEMETRY_FILE_BYTES + 1)  # sparse: nothing written or read

    def no_read(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the file was read")

    monkeypatch.setattr(pd, "read_csv", no_read)
    with pytest.raises(TelemetryError, match=r"telemetry file is 1024\.0 MiB, more than the 1024 MiB"):
        load_telemetry(path)


def test_a_parquet_file_is_refused_by_its_cell_count_before_reading(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    telemetry_frame(rows=40).to_parquet(tmp_path / "telemetry.parquet")
    monkeypatch.setattr(telemetry_schema, "MAX_TELEMETRY_CELLS", 100)

    def no_read(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the file was read")

    monkeypatch.setattr(pd, "read_parquet", no_read)
    with pytest.raises(TelemetryError, match="40 rows of 14 columns, more than the 100 values"):
        load_telemetry(tmp_path)


def test_a_csv_header_of_too_many_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "telemetry.csv").write_text(",".join(f"c{i}" for i in range(20_000)) + "\n")
    with pytest.raises(TelemetryError, match="20,000 columns, more than the 10,000"):
        load_telemetry(tmp_path / "telemetry.csv")


@pytest.mark.parametrize(("name", "content", "words"), [
    ("telemetry.parquet", b"PAR1 not really PAR1", "cannot read telemetry"),
    ("telemetry.csv", b"\xff\xfe\x00\x01binary", "cannot read telemetry"),
    ("telemetry.csv", b"", "cannot read telemetry: 'No columns to parse from file'"),
])
def test_unreadable_telemetry_files_are_one_line(tmp_path: Path, name: str, content: bytes, words: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(TelemetryError) as raised:
        load_telemetry(tmp_path / name)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / name}: ") and words in message and message_problem(message) is None


def test_cli_train_on_telemetry_with_a_missing_time_exits_2_with_one_line(tmp_path: Path) -> None:
    frame = telemetry_frame(rows=8)
    frame["time"] = frame["time"].astype(object)
    frame.at[4, "time"] = None
    frame.to_csv(tmp_path / "telemetry.csv", index=False)
    result = CliRunner().invoke(app, ["train", str(tmp_path), "--out", str(tmp_path / "model.gdm")])
    assert result.exit_code == 2, result.output
    assert _one_line(result.output) == (f"error: {tmp_path / 'telemetry.csv'}: column 'time' row 5 is empty or "
                                        "not a time (nan)")
    assert not (tmp_path / "model.gdm").exists()


# --- inventory ---------------------------------------------------------------------------------------------

def _example_inventory() -> dict[str, Any]:
    return yaml.safe_load(INVENTORY_EXAMPLES[0].read_text())


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=10**9), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d["organization"].update(name=5), "organization.name"),
    (lambda d: d["organization"].update(name={"a": 1}), "organization.name"),
    (lambda d: d["sites"][0].update(name=[1, 2]), "sites[0].name"),
    (lambda d: d["sites"][0].update(grid_region=1.5), "sites[0].grid_region"),
    (lambda d: d.update(notes=[5]), "notes[0]"),
    (lambda d: d.update(notes="one note"), "notes"),
    (lambda d: d["sites"][0].update(electricity={"annual": {"value": "1000", "unit": ["MWh"]}}),
     "sites[0].electricity.annual.unit"),
], ids=["number-name", "mapping-name", "list-name", "number-region", "number-note", "text-notes", "list-unit"])
def test_values_of_the_wrong_type_where_text_is_expected_are_one_line(tmp_path: Path, change: Any,
                                                                     field: str) -> None:
    document = _example_inventory()
    change(document)
    with pytest.raises(InventoryError) as raised:
        load_inventory(_write(tmp_path, document))
    assert raised.value.field == field, str(raised.value)
    assert message_problem(str(raised.value)) is None


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d["organization"].update(name="n" * 200_000), "organization.name"),
    (lambda d: d["sites"][0].update({"k" * 150_000: 1}), "'sites[0].kkk"),
    (lambda d: d["sites"][0]["electricity"]["annual"].update(unit="u" * 100_000), "sites[0].electricity.annual.unit"),
    (lambda d: d["sites"][0].update(water={"value": 1, "unit": "\x1b[31m" * 1000}), "sites[0].water.unit"),
], ids=["long-value", "long-key", "long-literal", "escape-codes"])
def test_inventory_errors_quote_at_most_about_200_characters(tmp_path: Path, change: Any, field: str) -> None:
    document = _example_inventory()
    if "annual" not in document["sites"][0]["electricity"]:
        document["sites"][0]["electricity"] = {"annual": {"value": 1000, "unit": "MWh"}}
    change(document)
    path = _write(tmp_path, document)
    assert path.stat().st_size > 5000
    result = CliRunner().invoke(app, ["carbon", str(path)])
    assert result.exit_code == 2, result.output
    line = _one_line(result.output)
    assert f": {field}" in line and len(line) < 800, line
    assert "\x1b" not in line
