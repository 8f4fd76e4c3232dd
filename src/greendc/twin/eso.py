"""Read EnergyPlus's own timestep output (the ``.eso`` file) fast.

The runner records its telemetry through the API (``greendc.twin.recorder``). EnergyPlus's text record of
the same variables, written when a model asks for it (``greendc.twin.runner.with_timestep_output``), is the
reference the recorder is checked against, and this reads it: for HVAC variables the average over the
timestep's system substeps, for volumes (water) the sum over them, for zone variables the value at the end
of the timestep.

Format (EnergyPlus Output Details and Examples, "eplusout.eso"): a data dictionary of lines
``id,count,key,name [unit] !frequency`` ending with ``End of Data Dictionary``; then, per environment, a
line ``1,<title>,...`` and, per timestep, a time line ``2,<day of simulation>,<month>,<day>,<dst>,<hour
1-24>,<start minute>,<end minute>,<day type>`` followed by one ``id,value`` line per variable.
"""

from __future__ import annotations

import io
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

_DICTIONARY_END = b"End of Data Dictionary\n"
_DATA_END = b"End of Data"
_ENTRY = re.compile(rb"^(\d+),1,([^,\n]*),([^\[\n]*?) \[[^\]\n]*\] !TimeStep$", re.MULTILINE)


class EsoError(ValueError):
    """The ESO file lacks a variable or is not laid out as expected."""


@dataclass(frozen=True)
class TimestepOutput:
    """The run period's timestep values, with the stamps of its first and last timestep.

    ``values`` has one column per requested variable and one row per timestep; ``first_step`` and
    ``last_step`` are (month, day, hour 1-24, end minute) as EnergyPlus wrote them, or None without steps.
    """

    values: pd.DataFrame
    first_step: tuple[int, int, int, int] | None
    last_step: tuple[int, int, int, int] | None


def _stamp(line: bytes) -> tuple[int, int, int, int]:
    fields = line.split(b",")
    return int(fields[2]), int(fields[3]), int(fields[5]), round(float(fields[7]))


def read_timestep_variables(path: Path, variables: dict[str, tuple[str, str]]) -> TimestepOutput:
    """Timestep values of the last environment (the weather-file run period).

    ``variables`` maps each output column to ``(key, variable name)`` as in ``Output:Variable`` (keys
    compare case-insensitively, as EnergyPlus upper-cases them). Every variable must be reported at
    ``Timestep`` frequency, so that the data is a time line followed by the same value lines, repeated.
    """
    raw = Path(path).read_bytes()
    # Offsets into the file rather than slices of it: the file is about 30 MB a year and every copy shows.
    dictionary_end = raw.find(_DICTIONARY_END)
    if dictionary_end < 0:
        raise EsoError(f"{path}: no data dictionary (EnergyPlus did not finish writing it)")
    ids: dict[tuple[str, str], int] = {}
    for match in _ENTRY.finditer(raw, 0, dictionary_end):
        ids[(match.group(2).decode().upper(), match.group(3).decode())] = int(match.group(1))
    wanted = []
    for column, (key, name) in variables.items():
        identifier = ids.get((key.upper(), name))
        if identifier is None:
            raise EsoError(f"{path}: no timestep output for {name} [{key}] ({column})")
        wanted.append(identifier)
    # The weather-file run period is the last environment; design days, if simulated, come before it.
    data = dictionary_end + len(_DICTIONARY_END)
    environment = raw.rfind(b"\n1,", data - 1) + 1 or data
    start = raw.find(b"\n", environment) + 1 if raw.startswith(b"1,", environment) else environment
    end = raw.rfind(_DATA_END, start)
    end = end if end >= 0 else len(raw)
    n_steps = raw.count(b"\n2,", start - 1, end)
    if n_steps == 0:
        return TimestepOutput(pd.DataFrame(columns=list(variables), dtype=float), None, None)
    last = raw.rfind(b"\n2,", start - 1, end) + 1
    first_step, last_step = _stamp(raw[start:raw.find(b"\n", start)]), _stamp(raw[last:raw.find(b"\n", last)])
    values = _value_lines(raw, raw.find(b"\n", start) + 1, end)
    if len(values) % n_steps:
        raise EsoError(f"{path}: {len(values)} values for {n_steps} timesteps; not all variables report every "
                       "timestep")
    order = values["id"].to_numpy().reshape(n_steps, -1)
    if (order != order[0]).any():
        raise EsoError(f"{path}: variables are not reported in the same order at every timestep")
    position = {identifier: index for index, identifier in enumerate(order[0])}
    missing = [identifier for identifier in wanted if identifier not in position]
    if missing:
        raise EsoError(f"{path}: variables {missing} have no values")
    table = values["value"].to_numpy().reshape(n_steps, -1)
    frame = pd.DataFrame(table[:, [position[identifier] for identifier in wanted]], columns=list(variables))
    return TimestepOutput(frame, first_step, last_step)


def _value_lines(raw: bytes, start: int, end: int) -> pd.DataFrame:
    """The ``id,value`` lines of ``raw[start:end]`` (which starts with one), time lines left out.

    One C-parser pass per half, the halves in two threads: the parser lets go of the GIL for most of its
    work, so a second core cuts the time by about a third.
    """
    middle = raw.find(b"\n2,", (start + end) // 2, end)
    middle = raw.find(b"\n", middle + 1) + 1 if middle >= 0 and end - start > 1_000_000 else end
    pieces = [(start, middle)] + ([(middle, end)] if middle < end else [])
    # The warning filters are one list for the whole process: set them here, around both threads, not in each.
    with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=len(pieces)) as pool:
        warnings.simplefilter("ignore")
        parts = list(pool.map(lambda piece: _parse(raw[piece[0]:piece[1]]), pieces))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _parse(lines: bytes) -> pd.DataFrame:
    # Time lines have more fields and are skipped as malformed (the first line, a value line, fixes the
    # column count); the caller's checks catch any other skipped line.
    return pd.read_csv(io.BytesIO(lines), header=None, names=["id", "value"], index_col=False, on_bad_lines="skip",
                       dtype={"id": np.int64, "value": np.float64}, engine="c")
