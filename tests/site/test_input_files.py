"""Bad weather files, load CSVs and site values: one line naming the file and the field, never a crash.

Each case found by the fuzzing and review of issue 15 has a test here; the CLI cases go through the real
command line (exit code 2, one line, no traceback).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.conftest import example_site_data
from typer.testing import CliRunner

from greendc.cli.main import app
from greendc.errors import GreendcError
from greendc.files import InputFileError
from greendc.site.loader import SiteFileError, load_site
from greendc.site.schema import CsvLoad, Site
from greendc.site.weather import (
    MAX_EPW_BYTES,
    WeatherError,
    design_conditions,
    read_weather,
    resolve_weather,
    shifted_weather,
)
from greendc.twin.builder import MAX_LOAD_CSV_BYTES, SiteInputError, read_load_profile

CHICAGO = resolve_weather("chicago")


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def _epw_lines() -> list[str]:
    return CHICAGO.read_text(encoding="latin-1").splitlines()


def _write_epw(tmp_path: Path, lines: list[str], name: str = "bad.epw") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


def _with_field(lines: list[str], line_number: int, field_index: int, value: str) -> list[str]:
    """``lines`` with field ``field_index`` (0-based) of line ``line_number`` (1-based) replaced."""
    changed = list(lines)
    fields = changed[line_number - 1].split(",")
    fields[field_index] = value
    changed[line_number - 1] = ",".join(fields)
    return changed


# --- weather: the path -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("weather", "words"), [
    ("~nosuchuser/x.epw", "cannot expand '~nosuchuser'"),
    ("a\0b.epw", "NUL character"),
    ("x" * 5000 + ".epw", "File name too long"),
    ("/dev/zero", "not a regular file"),
])
def test_a_bad_weather_path_is_one_weather_error(weather: str, words: str) -> None:
    with pytest.raises(WeatherError) as raised:
        resolve_weather(weather)
    message = str(raised.value)
    assert words in message and ": weather: " in message
    assert "\n" not in message and len(message) < 400


def test_a_weather_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "w.epw").mkdir()
    with pytest.raises(WeatherError, match="is a folder"):
        resolve_weather("w.epw", relative_to=tmp_path)


def test_an_oversized_weather_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.epw"
    with path.open("wb") as stream:
        stream.truncate(MAX_EPW_BYTES + 1)  # sparse: no disk used, and nothing read
    with pytest.raises(WeatherError, match="MiB"):
        resolve_weather(str(path))
    with pytest.raises(WeatherError, match="MiB"):
        read_weather(path)


def _simulate(tmp_path: Path, site_data: dict) -> tuple[Any, Path]:
    """``greendc simulate`` on the site written from ``site_data``: the CLI's result and the site file."""
    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump(site_data))
    return CliRunner().invoke(app, ["simulate", str(site_file), "--out", str(tmp_path / "out")]), site_file


def test_cli_simulate_with_weather_of_an_unknown_user_is_one_line(tmp_path: Path) -> None:
    data = example_site_data()
    data["weather"] = "~nosuchuser/x.epw"
    result, _ = _simulate(tmp_path, data)
    assert result.exit_code == 2, result.output
    line = _one_line(result.output)
    assert "~nosuchuser/x.epw: weather: cannot expand '~nosuchuser'" in line


# --- weather: the content ----------------------------------------------------------------------------------

def test_the_shipped_weather_files_read_as_before() -> None:
    data, location = read_weather(CHICAGO)
    assert len(data) == 8760 and data.index.tz is not None
    assert location.latitude_deg == pytest.approx(41.98) and location.time_zone_h == -6.0
    # The 0.4 % cooling dry bulb ASHRAE lists for O'Hare (TMY3 data): 32-33 C.
    assert 31.5 < design_conditions(data).cooling_dry_bulb_c < 33.5


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda lines: lines[:8], "<data>", "0 data row(s) after the 8 header lines"),
    (lambda lines: lines[:5], "<header>", "5 line(s)"),
    (lambda lines: [], "<header>", "0 line(s)"),
    (lambda lines: lines[1:], "line 1", "expected the LOCATION header record"),
    (lambda lines: lines[:100], "<data>", "92 data row(s)"),
    (lambda lines: _with_field(lines, 20, 6, "warm"), "line 20, field 7 (temp_air)", "'warm' is not a number"),
    (lambda lines: _with_field(lines, 20, 6, "nan"), "line 20, field 7 (temp_air)", "not a finite number"),
    (lambda lines: _with_field(lines, 20, 8, "-5"), "line 20, field 9 (relative_humidity)", "within 0-110 %"),
    (lambda lines: _with_field(lines, 21, 9, "999999"), "line 21, field 10 (atmospheric_pressure)", "31000"),
    (lambda lines: _with_field(lines, 30, 6, "99.9"), "field 7 (temp_air)", "within -70-70 C"),
    (lambda lines: _with_field(lines, 30, 21, "-3"), "field 22 (wind_speed)", "or 999 (missing)"),
    (lambda lines: _with_field(lines, 30, 3, "1.5"), "field 4 (hour)", "whole number"),
    (lambda lines: _with_field(lines, 30, 3, "7"), "line 30, field 2 (month)", "hour 7 where 1/1 hour 22"),
    (lambda lines: [*lines[:20], lines[20] + ",1", *lines[21:]], "line 21", "36 fields"),
    (lambda lines: _with_field(lines, 1, 6, "91"), "line 1 (LOCATION), latitude", "'91' is not a number within"),
    (lambda lines: _with_field(lines, 1, 8, "x"), "line 1 (LOCATION), time zone", "'x'"),
    (lambda lines: _with_field(lines, 8, 2, "7"), "line 8 (DATA PERIODS)", "records per hour"),
], ids=["header-only", "short-header", "empty", "no-location", "short-year", "non-numeric", "nan-text",
        "humidity", "missing-pressure", "missing-temperature", "wind-speed", "fractional-hour", "out-of-order",
        "extra-field", "latitude", "time-zone", "records-per-hour"])
def test_a_malformed_epw_names_the_line_and_field(tmp_path: Path, change, field: str, words: str) -> None:
    path = _write_epw(tmp_path, change(_epw_lines()))
    with pytest.raises(WeatherError) as raised:
        read_weather(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and field in message and words in message, message
    assert "\n" not in message and len(message) < 400
    with pytest.raises(WeatherError):  # the heat-wave year checks the file as the twin does
        shifted_weather(path, tmp_path / "hot.epw")
    assert not (tmp_path / "hot.epw").exists()


def test_february_29_in_a_common_year_is_refused(tmp_path: Path) -> None:
    lines = _epw_lines()
    feb_28 = [index for index, line in enumerate(lines) if line.split(",")[1:3] == ["2", "28"]]
    leap_day = [",".join([line.split(",")[0], "2", "29", *line.split(",")[3:]]) for line in
                (lines[index] for index in feb_28)]
    # Chicago's February comes from 1987 or so: not a leap year.
    path = _write_epw(tmp_path, lines[:feb_28[-1] + 1] + leap_day + lines[feb_28[-1] + 1:])
    with pytest.raises(WeatherError, match=r"February 29 in \d+, not a leap year"):
        read_weather(path)


def test_a_leap_year_epw_is_read(tmp_path: Path) -> None:
    lines = _epw_lines()
    feb_28 = [index for index, line in enumerate(lines) if line.split(",")[1:3] == ["2", "28"]]
    leap_day = [",".join(["2004", "2", "29", *line.split(",")[3:]]) for line in (lines[i] for i in feb_28)]
    lines = [",".join(["2004", *line.split(",")[1:]]) if index >= 8 else line for index, line in enumerate(lines)]
    path = _write_epw(tmp_path, lines[:feb_28[-1] + 1] + leap_day + lines[feb_28[-1] + 1:])
    data, _ = read_weather(path)
    assert len(data) == 8784 and (data.index.month == 2).sum() == 29 * 24


def test_a_latin_1_city_name_is_read_and_kept_by_the_heat_wave_copy(tmp_path: Path) -> None:
    lines = _with_field(_epw_lines(), 1, 1, "Z\xfcrich")
    path = _write_epw(tmp_path, lines)
    _, location = read_weather(path)
    assert location.city == "Z\xfcrich"
    hot = shifted_weather(path, tmp_path / "hot.epw")
    assert hot.read_bytes().splitlines()[0] == path.read_bytes().splitlines()[0]


def test_design_conditions_refuse_data_they_cannot_use() -> None:
    with pytest.raises(WeatherError, match="temp_air: missing"):
        design_conditions(pd.DataFrame())
    data, _ = read_weather(CHICAGO)
    with pytest.raises(WeatherError, match="at least a day"):
        design_conditions(data.iloc[:5])
    broken = data.copy()
    broken.iloc[3, broken.columns.get_loc("temp_air")] = np.inf
    with pytest.raises(WeatherError, match="temp_air: holds a value that is not a finite number"):
        design_conditions(broken)


def test_a_heat_wave_that_leaves_the_epw_range_is_refused(tmp_path: Path) -> None:
    path = _write_epw(tmp_path, _with_field(_epw_lines(), 5000, 6, "65.0"))
    with pytest.raises(WeatherError, match=r"line 5000, field 7 .* shifted dry-bulb temperature 75\.0 C"):
        shifted_weather(path, tmp_path / "hot.epw", dry_bulb_k=10.0)


def test_heat_wave_onto_a_folder_is_one_weather_error(tmp_path: Path) -> None:
    (tmp_path / "hot.epw").mkdir()
    with pytest.raises(WeatherError, match="--out: cannot write the shifted weather file"):
        shifted_weather(CHICAGO, tmp_path / "hot.epw")


@pytest.mark.parametrize("keep", [8, 100], ids=["header-only", "non-numeric"])
def test_cli_heat_wave_on_a_bad_epw_exits_2_with_one_line(tmp_path: Path, keep: int) -> None:
    lines = _epw_lines()[:keep] if keep == 8 else _with_field(_epw_lines(), 100, 7, "dewy")
    path = _write_epw(tmp_path, lines)
    out = tmp_path / "hot.epw"
    result = CliRunner().invoke(app, ["heat-wave", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    line = _one_line(result.output)
    assert line.startswith(f"error: {path}: ")
    assert ("0 data row(s)" if keep == 8 else "line 100, field 8 (temp_dew): 'dewy' is not a number") in line
    assert not out.exists()


def test_cli_simulate_on_a_header_only_epw_exits_2_with_one_line(tmp_path: Path) -> None:
    """The EPW is read in the run's worker process: its error must reach the command line as itself."""
    epw = _write_epw(tmp_path, _epw_lines()[:8])
    data = example_site_data(end_day=1)
    data["weather"] = str(epw)
    result, _ = _simulate(tmp_path, data)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {epw}: <data>: 0 data row(s) after the 8 header lines; a year has 8760 (8784 in a "
                      "leap year)"], result.output


def test_input_file_errors_survive_pickling() -> None:
    """What crosses from a worker process to the caller: the same type, fields and message."""
    for error in (WeatherError("x" * 500 + ".epw", "line 9, field 7 (temp_air)", "not a number"),
                  InputFileError("a.yaml", "<yaml>", "malformed")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.file, copy.field, copy.message, str(copy)) == (error.file, error.field, error.message, str(error))


# --- the IT load CSV ---------------------------------------------------------------------------------------

def _csv_load(path: str) -> CsvLoad:
    return CsvLoad(kind="csv", path=Path(path))


@pytest.mark.parametrize(("name", "words"), [
    ("a\0b.csv", "NUL character"),
    ("/dev/zero", "not a regular file"),
    ("~nosuchuser/load.csv", "cannot expand '~nosuchuser'"),
    ("absent.csv", "load CSV not found"),
])
def test_a_load_csv_that_cannot_be_opened_is_one_line(tmp_path: Path, name: str, words: str) -> None:
    with pytest.raises(SiteInputError) as raised:
        read_load_profile(_csv_load(name), tmp_path)
    message = str(raised.value)
    assert "it_load.path: cannot read CSV" in message and words in message
    assert "\n" not in message


def test_an_oversized_load_csv_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "load.csv"
    with path.open("wb") as stream:
        stream.write(b"fraction\n")
        stream.truncate(MAX_LOAD_CSV_BYTES + 1)  # sparse: the 2e7-row file of the review, without the 620 MB
    with pytest.raises(SiteInputError, match=r"load CSV is 64\.0 MiB, more than the 64 MiB"):
        read_load_profile(_csv_load("load.csv"), tmp_path)


@pytest.mark.parametrize(("content", "words"), [
    ("fraction\n" + "0.5\n" * 10 + "nan\n" + "0.5\n" * 8749, "line 12: an empty or NaN cell"),
    ("fraction\n" + "0.5\n" * 10 + "\n" + "0.5\n" * 8749, "has 8759 rows"),
    ("fraction,x\n" + "0.5,1\n" * 10 + ",1\n" + "0.5,1\n" * 8749, "line 12: an empty or NaN cell"),
    ("fraction\n" + "0.5\n" * 3 + "-0.2\n" + "0.5\n" * 8756, "line 5: -0.2 in column 'fraction' must lie in 0-1"),
    ("fraction\n" + "inf\n" + "0.5\n" * 8759, "line 2: inf in column 'fraction' must lie in 0-1"),
    ("fraction\n" + "high\n" + "0.5\n" * 8759, "line 2: 'high' in column 'fraction' is not a number"),
    ("," * 5000 + "\n", "5001 columns"),
    ('fraction\n"0.5\n' + "0.5\n" * 10, "cannot read CSV (Error tokenizing data"),
    ("", "cannot read CSV (No columns to parse from file)"),
])
def test_bad_load_values_are_one_line(tmp_path: Path, content: str, words: str) -> None:
    (tmp_path / "load.csv").write_text(content)
    with pytest.raises(SiteInputError) as raised:
        read_load_profile(_csv_load("load.csv"), tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'load.csv'}: it_load.") and words in message, message
    assert "\n" not in message and len(message) < 400


def test_cli_simulate_with_dev_zero_as_the_load_csv_exits_2_at_once(tmp_path: Path) -> None:
    """It used to hang: pandas read /dev/zero for ever. The twin is built in a worker process."""
    data = example_site_data(end_day=1)
    data["it_load"] = {"kind": "csv", "path": "/dev/zero"}
    result, _ = _simulate(tmp_path, data)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == ["error: /dev/zero: it_load.path: cannot read CSV (is not a regular file (a device or a "
                      "pipe?); give a load CSV)"], result.output


def test_a_good_load_csv_reads_8760_fractions(tmp_path: Path) -> None:
    values = np.linspace(0.2, 0.9, 8784)
    pd.DataFrame({"time": range(8784), "fraction": values}).to_csv(tmp_path / "load.csv", index=False)
    series = read_load_profile(_csv_load("load.csv"), tmp_path)
    assert len(series) == 8760
    assert series.iloc[0] == pytest.approx(0.2) and series.iloc[-1] == pytest.approx(values[8759])


# --- NaN and infinity in the site file ---------------------------------------------------------------------

def _float_fields(model: type, prefix: tuple = ()) -> list[tuple]:
    """Locations of the float fields of the site schema reachable with the example site's values."""
    from pydantic import BaseModel

    found = []
    for name, info in model.model_fields.items():
        text = str(info.annotation)
        if "float" in text and "list" not in text:
            found.append((*prefix, name))
        for candidate in getattr(info.annotation, "__args__", (info.annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found.extend(_float_fields(candidate, (*prefix, name)))
    return found


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
def test_every_float_of_the_site_schema_refuses_nan_and_infinity(tmp_path: Path, value: float) -> None:
    setpoints = [("setpoints", name, end) for name in ("supply_air_c", "zone_cooling_c", "chilled_water_c")
                 for end in ("min", "max")]
    locations = _float_fields(Site) + setpoints
    assert len(locations) > 40  # the walk found the schema's floats, not a handful
    for location in locations:
        data = example_site_data()
        target = data
        for part in location[:-1]:
            target = target.setdefault(part, {}) if part != "zones" else target[part][0]
        target[location[-1]] = value
        if location[0] == "zones" and location[-1] == "it_design_power_kw":
            target.pop("it_design_power_density_w_per_m2")
        if location[0] == "it_load":  # a tagged union: the field is named with its tag
            data["it_load"] = {"kind": "constant", "fraction": value}
            location = ("it_load", "constant", "fraction")
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(SiteFileError) as raised:
            load_site(path)
        message = str(raised.value)
        field = ".".join(str(part) for part in location).replace("zones.", "zones.0.", 1)
        assert f": {field}: " in message, (location, message)
        assert "\n" not in message


def test_nan_setpoint_bounds_are_refused_naming_the_field(tmp_path: Path) -> None:
    data = example_site_data()
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data).replace("supply_air_c:\n    max: 26\n    min: 12",
                                                 "supply_air_c:\n    max: .nan\n    min: .nan"))
    assert ".nan" in path.read_text()
    with pytest.raises(SiteFileError) as raised:
        load_site(path)
    assert str(raised.value).startswith(f"{path}: setpoints.supply_air_c.min: must be a finite number, not NaN "
                                        "or infinity (got nan); 1 more problem(s)")


def test_cli_simulate_with_nan_setpoint_bounds_exits_2_with_one_line(tmp_path: Path) -> None:
    data = example_site_data()
    data["setpoints"]["supply_air_c"] = {"min": float("nan"), "max": float("nan")}
    result, site_file = _simulate(tmp_path, data)
    assert result.exit_code == 2, result.output
    assert _one_line(result.output) == (f"error: {site_file}: setpoints.supply_air_c.min: must be a finite number, "
                                        "not NaN or infinity (got nan); 1 more problem(s)")


def test_a_finite_out_of_range_float_names_the_allowed_range(tmp_path: Path) -> None:
    data = example_site_data()
    data["zones"][0]["floor_area_m2"] = float("inf")
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SiteFileError, match=r"zones\.0\.floor_area_m2: must be a finite number.*"
                                            r"\(allowed: > 1 and <= 100000\)"):
        load_site(path)


# --- how much of the input an error quotes -----------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d.update(name="n" * 200_000), "name"),
    (lambda d: d.update({"k" * 150_000: 1}), "'kkkk"),
    (lambda d: d["it_load"].update(kind="x" * 100_000), "it_load"),
    (lambda d: d.update(weather="w" * 100_000), "weather"),
], ids=["long-value", "long-key", "long-tag", "long-weather"])
def test_an_error_quotes_at_most_about_200_characters_of_input(tmp_path: Path, change, field: str) -> None:
    data = example_site_data()
    change(data)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, width=10**9))
    try:
        site, site_dir = load_site(path)
        resolve_weather(site.weather, relative_to=site_dir)
    except GreendcError as error:
        message = str(error)
    else:
        pytest.fail("the long input was accepted")
    assert field in message and "\n" not in message
    assert len(message) < 700, len(message)  # file name, field and value: each cut to about 200 characters
