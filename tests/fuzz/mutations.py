"""Structured damage to greendc's real input files, shared by the property tests and ``bench/fuzz.py``.

Every case starts from a real file (the example sites and inventories, a shipped EPW, an hourly load CSV,
a small telemetry frame) and changes it the way a typo, a wrong export, a truncated copy or a hostile user
would: values of the wrong type or out of range, missing and unknown keys, deep nesting, YAML syntax in
the wrong place, rows and fields added or lost, bits flipped. Each function takes a ``random.Random``: the
property tests pass Hypothesis's (so that a failure shrinks to a small case), the benchmark a seeded one.

A case is a :class:`Case`: the files to write and the call that loads them. :func:`outcome` runs a case
and says what happened: ``loaded``, ``refused`` (a :class:`~greendc.errors.GreendcError` with a good
message), ``bad message`` or a crash (any other exception), the last two being bugs.
"""

from __future__ import annotations

import copy
import datetime
import io
import math
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from greendc.errors import GreendcError

REPO = Path(__file__).resolve().parents[2]
SITE_EXAMPLES = sorted((REPO / "examples" / "sites").glob("*.yaml"))
INVENTORY_EXAMPLES = sorted((REPO / "examples" / "inventories").glob("*.yaml"))

#: An error message must be one line and short: a file name, a field and a value, each cut to about
#: 200 characters (greendc.errors.quoted), and the words around them.
MAX_MESSAGE_CHARS = 1000

_LONG = "x" * 5000
#: Values a field may be given by mistake or on purpose: every YAML type, limits, NaN, long and odd text.
INTERESTING_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 7, 2**31, 2**63, -(2**63), 10**40, 0.5, -0.5, 1e-300, 1e308, -1e308,
    math.nan, math.inf, -math.inf, -0.0, "", " ", "0", "1.5", "nan", ".inf", "1e999", "yes", "null", "\0",
    "a\0b", "\x1b[31m", "\u2028", "é漢字", _LONG, "~nosuchuser/x.epw", "/dev/zero", "/tmp", "..", "chicago",
    "tampa", "csv", "constant", "schedule", "MWh", "kWh", "GEC", "ppa", "eac", "CN", "2023-02-30",
    datetime.date(2023, 1, 1), datetime.date(1, 1, 1), [], {}, [1, 2, 3], ["a"], {"a": 1}, {"value": 5},
    {"value": 1, "unit": "MWh"}, {"kind": "csv", "path": "load.csv"}, {"min": 20, "max": 14},
)
#: Snippets of YAML syntax inserted into the text: anchors, aliases, tags, flow collections, merge keys,
#: document markers, tabs, control and invisible characters, values PyYAML resolves oddly.
YAML_TOKENS = (
    "&a ", "*a", "*b", "!!int ", "!!float ", "!!timestamp ", "!!python/object:os.system ", "!custom ", "<<: *a",
    "? ", "- ", ": ", "{", "}", "[", "]", "'", '"', "#", "\t", "\n", "\n  ", "---\n", "...\n", "|", ">",
    "%YAML 1.1\n", "\0", "\x1b", "\ufeff", "\u2028", "0x_", "0o8", "2023-02-30", "1e999", ".nan", "~", "=",
    "!!binary AAAA", "&x [*x]", ",", "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -",
)
EPW_TOKENS = (
    "", "x", "nan", "inf", "-inf", "1e999", "99.9", "999", "9999", "999999", "-999", "0", "-0", "1.5", "1_0",
    " 5 ", "2e5", "-71", "71", "111", "-1", "120001", "30999", "13", "25", "32", "29", "2004", "1799", "2201",
    "60", "61", "0x10", "\0", "é", "1,2", _LONG[:300],
)
CSV_TOKENS = (
    "", "nan", "NaN", "-0.1", "1.0000001", "1", "0", "inf", "-inf", "1e-300", "1e999", '"0.5', '"', "0,5", "x",
    " 0.5 ", "0.5;0.5", "\0", "é", "True", _LONG[:300], "0x1", "1_0",
)


@dataclass
class Case:
    """Files to write (name -> bytes) into a fresh folder, and the call that loads them from there."""

    files: dict[str, bytes]
    load: Callable[[Path], object]
    what: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def message_problem(message: str) -> str | None:
    """What is wrong with an error message as the command line would print it (``None``: nothing)."""
    if not message.strip():
        return "empty message"
    if "\n" in message or "\r" in message:
        return "more than one line"
    if len(message) > MAX_MESSAGE_CHARS:
        return f"{len(message)} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in message):
        return "a control character"
    return None


def outcome(case: Case, folder: Path) -> tuple[str, str]:
    """Write the case into ``folder`` and load it: ``(kind, detail)`` with kind ``loaded``, ``refused``,
    ``bad message`` or ``crash``."""
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    try:
        case.load(folder)
    except GreendcError as error:
        problem = message_problem(str(error))
        return ("bad message", f"{type(error).__name__}: {problem}: {str(error)[:300]!r}") if problem else \
            ("refused", type(error).__name__)
    except Exception as error:  # anything else is the bug the fuzzing looks for
        return "crash", f"{type(error).__name__}: {str(error)[:200]!r}"
    return "loaded", ""


# --- documents (site and inventory files) ------------------------------------------------------------------

def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document: the root, each mapping value and each list item."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def _set(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(document, path[:-1])[path[-1]] = value
    return document


def _nudged(value: Any, rng: random.Random) -> Any:
    """A value of the same type, changed the way a typo or a unit mistake changes it."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return rng.choice([value * 1000, value / 1000, -value, value + 0.5, value - 1, value * 1e300, math.nan])
    if isinstance(value, str):
        return rng.choice([value.upper(), value + "x", value[:1], value * 50, " " + value, value + "\0", ""])
    return rng.choice(INTERESTING_VALUES)


def _mutate_once(document: Any, rng: random.Random) -> Any:
    paths = _paths(document)
    path = rng.choice(paths)
    node = _get(document, path)
    operation = rng.randrange(10)
    if operation == 0:
        return _set(document, path, copy.deepcopy(rng.choice(INTERESTING_VALUES)))
    if operation == 1:
        return _set(document, path, _nudged(node, rng))
    if operation == 2 and path:  # delete
        del _get(document, path[:-1])[path[-1]]
        return document
    if operation == 3 and isinstance(node, dict):  # an unknown, odd or long key
        node[rng.choice(["colour", "", "x" * 300, "min ", "Name", "zones", "\u2028"])] = rng.choice(INTERESTING_VALUES)
        return document
    if operation == 4 and isinstance(node, list) and node:  # repeat items (duplicate zones, sites, ids)
        node.extend(copy.deepcopy(rng.choice(node)) for _ in range(rng.choice([1, 2, 30])))
        return document
    if operation == 5:  # a value from elsewhere in the document: a zone where a number belongs
        return _set(document, path, copy.deepcopy(_get(document, rng.choice(paths))))
    if operation == 6:  # wrapped in lists or mappings, deeply
        for _ in range(rng.choice([1, 3, 40])):
            node = [node] if rng.random() < 0.5 else {"k": node}
        return _set(document, path, node)
    if operation == 7 and isinstance(node, int | float) and not isinstance(node, bool):
        return _set(document, path, str(node))  # a number written as text
    if operation == 8 and isinstance(node, dict | list):
        return _set(document, path, type(node)())  # emptied
    return _set(document, path, _nudged(node, rng))


def mutated_document(document: Any, rng: random.Random) -> Any:
    document = copy.deepcopy(document)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 6])):
        document = _mutate_once(document, rng)
    return document


def mutated_text(text: str, rng: random.Random) -> str:
    """Edits to the text itself: YAML syntax inserted, spans deleted, lines repeated or swapped, cut off."""
    for _ in range(rng.choice([1, 1, 2, 4])):
        operation = rng.randrange(6)
        position = rng.randrange(len(text) + 1)
        if operation == 0:
            text = text[:position] + rng.choice(YAML_TOKENS) + text[position:]
        elif operation == 1:
            text = text[:position] + text[position + rng.choice([1, 5, 50]):]
        elif operation in (2, 3):
            lines = text.split("\n")
            index = rng.randrange(len(lines))
            if operation == 2:
                lines.insert(index, lines[rng.randrange(len(lines))])
            else:
                lines[index] = " " * rng.choice([1, 2, 3]) + lines[index]
            text = "\n".join(lines)
        elif operation == 4:
            text = text[:position]
        else:
            text = text[:position] + rng.choice(YAML_TOKENS) * rng.choice([2, 50, 2000]) + text[position:]
    return text


def mutated_bytes(data: bytes, rng: random.Random) -> bytes:
    """Bits flipped and bytes that are not UTF-8, as a damaged disk or a wrong export leaves them."""
    damaged = bytearray(data)
    for _ in range(rng.choice([1, 2, 8])):
        if not damaged:
            break
        position = rng.randrange(len(damaged))
        if rng.random() < 0.7:
            damaged[position] ^= 1 << rng.randrange(8)
        else:
            damaged[position:position] = rng.choice([b"\xff", b"\xc3", b"\x00", b"\xef\xbb\xbf", b"\r"])
    return bytes(damaged)


def document_file(document: Any, rng: random.Random) -> bytes:
    """A damaged document written as YAML, its text and bytes sometimes damaged too."""
    try:
        text = yaml.safe_dump(mutated_document(document, rng), sort_keys=False, allow_unicode=rng.random() < 0.5)
    except (yaml.YAMLError, RecursionError):  # nothing the loader sees: the case generator's own limit
        text = yaml.safe_dump(document, sort_keys=False)
    if rng.random() < 0.3:
        text = mutated_text(text, rng)
    data = text.encode("utf-8", errors="surrogatepass")
    return mutated_bytes(data, rng) if rng.random() < 0.1 else data


_EXAMPLES: dict[Path, Any] = {}


def _example(path: Path) -> Any:
    """An example file's document, parsed once (PyYAML in pure Python takes some 20 ms for a site)."""
    if path not in _EXAMPLES:
        _EXAMPLES[path] = yaml.safe_load(path.read_text())
    return _EXAMPLES[path]


def site_case(rng: random.Random) -> Case:
    """A damaged example site, loaded as ``greendc simulate`` starts: the file, its weather, its load CSV."""
    from greendc.site.loader import load_site
    from greendc.site.schema import CsvLoad
    from greendc.site.weather import resolve_weather
    from greendc.twin.builder import read_load_profile

    document = copy.deepcopy(_example(rng.choice(SITE_EXAMPLES)))
    if rng.random() < 0.2:  # a CSV load profile, so that its path and column are fuzzed too
        document["it_load"] = {"kind": "csv", "path": "load.csv", "column": "fraction"}

    def load(folder: Path) -> None:
        site, site_dir = load_site(folder / "site.yaml")
        resolve_weather(site.weather, relative_to=site_dir)
        if isinstance(site.it_load, CsvLoad):
            read_load_profile(site.it_load, site_dir)

    files = {"site.yaml": document_file(document, rng), "load.csv": b"fraction\n" + b"0.5\n" * 8760}
    return Case(files, load, "site")


def inventory_case(rng: random.Random) -> Case:
    """A damaged example inventory, loaded and checked as ``greendc carbon`` reads it."""
    from greendc.carbon.inventory import load_inventory

    document = _example(rng.choice(INVENTORY_EXAMPLES))
    return Case({"inventory.yaml": document_file(document, rng)},
                lambda folder: load_inventory(folder / "inventory.yaml"), "inventory")


# --- EPW weather files -------------------------------------------------------------------------------------

_EPW_LINES: list[str] = []


def shipped_epw_lines() -> list[str]:
    if not _EPW_LINES:
        from greendc.site.weather import resolve_weather

        _EPW_LINES.extend(resolve_weather("chicago").read_text(encoding="latin-1").split("\n"))
    return _EPW_LINES


def _mutate_epw_lines(lines: list[str], rng: random.Random) -> list[str]:
    operation = rng.randrange(9)
    index = rng.randrange(min(8, len(lines))) if rng.random() < 0.3 else rng.randrange(len(lines))  # 8: the header
    if operation <= 2:  # one field replaced
        fields = lines[index].split(",")
        fields[rng.randrange(len(fields))] = rng.choice(EPW_TOKENS)
        lines[index] = ",".join(fields)
    elif operation == 3:  # rows lost, from one to all but the header
        count = rng.choice([1, 24, 1000, len(lines)])
        del lines[index:index + count]
    elif operation == 4:  # a row repeated
        lines.insert(index, lines[rng.randrange(len(lines))])
    elif operation == 5:  # rows swapped
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    elif operation == 6:  # a field added or dropped
        fields = lines[index].split(",")
        if rng.random() < 0.5 and len(fields) > 1:
            del fields[rng.randrange(len(fields))]
        else:
            fields.insert(rng.randrange(len(fields) + 1), rng.choice(EPW_TOKENS))
        lines[index] = ",".join(fields)
    elif operation == 7:  # the file cut off
        del lines[index:]
    else:  # garbage, a blank line or another separator
        lines.insert(index, rng.choice(["", "garbage", "\0\0", lines[index].replace(",", ";"), ",,,,"]))
    return lines


def epw_file(rng: random.Random) -> bytes:
    lines = list(shipped_epw_lines())
    for _ in range(rng.choice([1, 1, 1, 2, 3, 10])):
        if lines:
            lines = _mutate_epw_lines(lines, rng)
    text = ("\r\n" if rng.random() < 0.1 else "\n").join(lines)
    data = text.encode("latin-1", errors="replace")
    return mutated_bytes(data, rng) if rng.random() < 0.1 else data


def epw_case(rng: random.Random) -> Case:
    """A damaged EPW, read as the twin reads it (and its design conditions), and as the heat wave copies it."""
    from greendc.site.weather import design_conditions, read_weather, resolve_weather, shifted_weather

    shift_k = (rng.uniform(-10, 10), rng.uniform(-10, 10)) if rng.random() < 0.2 else None

    def load(folder: Path) -> None:
        path = resolve_weather("weather.epw", relative_to=folder)
        data, _ = read_weather(path)
        design_conditions(data)
        if shift_k is not None:
            shifted_weather(path, folder / "hot.epw", dry_bulb_k=shift_k[0], dew_point_k=shift_k[1])

    return Case({"weather.epw": epw_file(rng)}, load, "epw")


# --- IT load CSV files -------------------------------------------------------------------------------------

def load_csv_file(rng: random.Random) -> bytes:
    with_time = rng.random() < 0.3
    rows = [f"{hour},{0.3 + 0.5 * ((hour % 24) / 24):.4f}" if with_time else "0.5" for hour in range(8760)]
    lines = ["time,fraction" if with_time else "fraction", *rows]
    for _ in range(rng.choice([1, 1, 2, 5])):
        operation = rng.randrange(7)
        index = rng.randrange(len(lines)) if lines else 0
        if not lines:
            break
        if operation <= 2:
            cells = lines[index].split(",")
            cells[rng.randrange(len(cells))] = rng.choice(CSV_TOKENS)
            lines[index] = ",".join(cells)
        elif operation == 3:
            del lines[index:index + rng.choice([1, 24, 5000])]
        elif operation == 4:
            lines.insert(index, lines[rng.randrange(len(lines))])
        elif operation == 5:
            lines[0] = rng.choice(["Fraction", "", "fraction,fraction", "fraction" + ",x" * 2000, "\ufefffraction"])
        else:
            del lines[index:]
    data = "\n".join(lines).encode("utf-8")
    return mutated_bytes(data, rng) if rng.random() < 0.1 else data


def load_csv_case(rng: random.Random) -> Case:
    from greendc.site.schema import CsvLoad
    from greendc.twin.builder import read_load_profile

    column = rng.choice(["fraction"] * 8 + ["time", "Fraction", ""])
    profile = CsvLoad(kind="csv", path=Path("load.csv"), column=column)
    return Case({"load.csv": load_csv_file(rng)}, lambda folder: read_load_profile(profile, folder), "load csv")


# --- telemetry ---------------------------------------------------------------------------------------------

def telemetry_frame(rows: int = 8, zones: tuple[str, ...] = ("Hall",)) -> pd.DataFrame:
    """A small valid telemetry frame (the twin's required columns, 15-minute steps)."""
    data: dict[str, Any] = {
        "time": pd.date_range("2001-07-01 00:15", periods=rows, freq="15min"),
        "outdoor_dry_bulb_c": 25.0, "outdoor_wet_bulb_c": 19.0, "outdoor_relative_humidity_pct": 60.0,
        "it_power_w": 90_000.0, "cooling_power_w": 12_000.0, "facility_power_w": 107_000.0,
        "chilled_water_setpoint_c": 7.0,
    }
    for zone in zones:
        for name, value in (("it_power_w", 45_000.0), ("inlet_temp_c", 22.0), ("zone_air_temp_c", 30.0),
                            ("supply_air_temp_c", 21.0), ("supply_air_setpoint_c", 21.0),
                            ("zone_cooling_setpoint_c", 30.0)):
            data[f"{zone}/{name}"] = value
    return pd.DataFrame(data)


_TIME_VALUES: tuple[Any, ...] = (
    None, pd.NaT, math.nan, "", "nonsense", "2001-02-30 00:00", "2001-07-01", "2001-07-01 00:15+02:00", 0, 1e30,
    -1, True, "1e999", pd.Timestamp("2001-07-01 00:15", tz="UTC"), datetime.date(2001, 7, 1), "00:15",
    "2262-04-12", "1677-09-21", "9999-12-31 23:59",
)


def _mutate_frame(frame: pd.DataFrame, rng: random.Random) -> pd.DataFrame:
    operation = rng.randrange(10)
    columns = list(frame.columns)
    column = rng.choice(columns) if columns else "time"
    if operation <= 1 and len(frame):  # one cell
        frame = frame.astype(object) if rng.random() < 0.5 else frame
        frame.iat[rng.randrange(len(frame)), rng.randrange(len(columns))] = rng.choice(
            INTERESTING_VALUES + _TIME_VALUES)
    elif operation == 2 and len(frame) and "time" in frame:  # one time
        frame["time"] = frame["time"].astype(object)
        frame.iat[rng.randrange(len(frame)), columns.index("time")] = rng.choice(_TIME_VALUES)
    elif operation == 3 and "time" in frame:  # the whole time axis of another kind
        frame["time"] = rng.choice([list(range(len(frame))), [str(t) for t in frame["time"]], [None] * len(frame),
                                    list(pd.to_datetime(frame["time"], errors="coerce").dt.tz_localize("UTC")),
                                    [float(i) for i in range(len(frame))]])
    elif operation == 4:  # a column dropped, renamed or repeated
        choice = rng.randrange(3)
        if choice == 0:
            frame = frame.drop(columns=[column])
        elif choice == 1:
            frame = frame.rename(columns={column: rng.choice(["", "x" * 1000, "a/inlet_temp_c", 5, "time", "/",
                                                              "Hall/inlet_temp_c", "é/inlet_temp_c"])})
        else:
            frame = pd.concat([frame, frame[[column]]], axis=1)
    elif operation == 5:  # rows repeated, reversed or dropped
        change = rng.choice([lambda f: pd.concat([f, f.iloc[:2]]), lambda f: f.iloc[::-1],
                             lambda f: f.iloc[:rng.randrange(3)], lambda f: f.sample(frac=1.0, random_state=7)])
        frame = change(frame)
    elif operation == 6 and column != "time":  # a unit mistake or absurd values
        change = rng.choice([lambda c: c * 1000, lambda c: c + 273.15, lambda c: c * 1e300, lambda c: -c,
                             lambda c: c * math.nan])
        frame[column] = change(frame[column])
    elif operation == 7 and column != "time":  # another dtype
        change = rng.choice([lambda c: c.astype(str), lambda c: c.astype("category"),
                             lambda c: c.round().astype("Int64"), lambda c: c > 0, lambda c: c.astype(object)])
        frame[column] = change(frame[column])
    elif operation == 8:  # another zone, perhaps incomplete
        zone = rng.choice(["West Hall", "", "a/b", "x" * 500])
        frame[f"{zone}/inlet_temp_c"] = 22.0
    else:
        frame = frame.iloc[:, : rng.randrange(len(columns) + 1)]
    return frame.reset_index(drop=True) if rng.random() < 0.8 else frame


def telemetry_case(rng: random.Random) -> Case:
    """A damaged telemetry frame, validated as a frame, or written as CSV or Parquet (and maybe damaged as
    bytes) and loaded from its file or its folder."""
    from greendc.telemetry.schema import load_telemetry, validate_telemetry

    frame = telemetry_frame(rows=rng.choice([2, 3, 8, 40]), zones=rng.choice([("Hall",), ("West", "East")]))
    for _ in range(rng.choice([0, 1, 1, 2, 4])):
        try:
            with warnings.catch_warnings():  # pandas' advice on the damage done here is not the loader's
                warnings.simplefilter("ignore")
                frame = _mutate_frame(frame, rng)
        except (TypeError, ValueError, KeyError, IndexError, OverflowError):  # edits pandas refuses: skipped
            continue
    route = rng.randrange(4)
    if route == 0:
        return Case({}, lambda folder: validate_telemetry(frame, "frame"), "telemetry frame")
    data, name = None, "telemetry.csv"
    if route == 1:
        try:
            buffer = io.BytesIO()
            with warnings.catch_warnings():  # mixed column-name types: written as text, as intended here
                warnings.simplefilter("ignore", UserWarning)
                frame.to_parquet(buffer, index=rng.random() < 0.2)
            data, name = buffer.getvalue(), "telemetry.parquet"
        except Exception:  # pyarrow cannot write every damaged frame; then it goes as CSV
            data = None
    if data is None:
        text = frame.to_csv(index=False)
        data = (mutated_text(text, rng) if rng.random() < 0.3 else text).encode("utf-8", errors="surrogatepass")
    if rng.random() < 0.15:
        data = mutated_bytes(data, rng)
    target = name if route != 3 else "."  # route 3 loads the folder
    return Case({name: data}, lambda folder: load_telemetry(folder / target), "telemetry file")


CASE_MAKERS: dict[str, Callable[[random.Random], Case]] = {
    "site": site_case, "inventory": inventory_case, "telemetry": telemetry_case, "epw": epw_case,
    "load csv": load_csv_case,
}
