"""Record the telemetry through the EnergyPlus API, exactly as EnergyPlus reports it at Timestep frequency.

EnergyPlus reports an output variable at ``Timestep`` frequency according to its kind (the "Var Type" and
"Var Report Type" columns of ``eplusout.rdd``; EnergyPlus Input Output Reference, ``Output:Variable``):

- a *zone* variable (outdoor air, ITE, schedules) once per zone timestep, with its value at the end of it;
- an *HVAC average* (powers, node temperatures and flows, zone air temperature) as the mean over the
  zone timestep's system timesteps, each weighted by its length;
- an *HVAC sum* (water volumes) as the sum over the system timesteps.

The recorder reads the API at the same moments and adds up the same way: at the end of every system timestep
for HVAC variables, at the end of every zone timestep for zone variables. At the end of every zone timestep
it also keeps every variable's current value (``Recorder.latest``): what a controller observes then.
Reading the 45 values of the example site from Python (cffi) would cost about 36 us a timestep; instead
EnergyPlus calls two small functions compiled by LLVM, which read ``libenergyplusapi`` directly, without
Python. Before, EnergyPlus wrote every value to its ESO file as text and the runner parsed it back at the
end; ``tests/twin/test_recorder.py`` checks that both give the same numbers.
"""

from __future__ import annotations

import ctypes
import threading
from contextlib import suppress
from functools import lru_cache
from typing import Any

import cffi
import numpy as np

# How EnergyPlus 25.2 reports each output variable the runner records (eplusout.rdd) is declared with each
# sensor in the registry; tests/twin/test_recorder.py checks it against the .rdd.
from greendc.telemetry.sensors import REPORTING, Reporting

__all__ = ["REPORTING", "Recorder", "Reporting"]


# What the recorder runs at every timestep, in LLVM's assembly language: two callbacks that EnergyPlus calls
# itself, with no Python in between, and the globals through which Python sets them up, the addresses of
# the three EnergyPlus API functions they call among them. (numba would write the same code from Python, but
# setting up its compiler costs more than half a second per process; LLVM compiles this in about 10 ms.)
# Typed pointers (``i32*``) rather than ``ptr`` so that every LLVM from 15 on reads them.
_RECORDER_IR = r"""
@get_variable_value = global double (i8*, i32)* null   ; getVariableValue(state, handle)
@system_timestep_h = global double (i8*)* null          ; systemTimeStep(state)
@zone_timestep_h = global double (i8*)* null            ; zoneTimeStep(state)
@handles = global i32* null          ; zone variables first, then HVAC averages, then HVAC sums
@zone_count = global i64 0
@average_count = global i64 0
@hvac_count = global i64 0           ; averages and sums
@row = global double* null           ; the current zone timestep's row: its zone variables, then HVAC
@end = global double* null           ; one past the last row: nothing is written there or beyond
@width = global i64 0
@latest = global double* null        ; every variable's value at the end of the last zone timestep (width)
@recording = global i64 0            ; 1 from the start of the run period
@system_timesteps = global i64 0

; The current zone timestep's row, or null before the run period and past the last row.
define double* @row_to_record() {
  %recording = load i64, i64* @recording
  %row = load double*, double** @row
  %end = load double*, double** @end
  %on = icmp ne i64 %recording, 0
  %inside = icmp ult double* %row, %end
  %record = and i1 %on, %inside
  %result = select i1 %record, double* %row, double* null
  ret double* %result
}

define void @end_system_timestep(i8* %state) {
entry:
  %row = call double* @row_to_record()
  %record = icmp ne double* %row, null
  br i1 %record, label %start, label %done
start:
  %count = load i64, i64* @system_timesteps
  %counted = add i64 %count, 1
  store i64 %counted, i64* @system_timesteps
  %system_timestep_h = load double (i8*)*, double (i8*)** @system_timestep_h
  %zone_timestep_h = load double (i8*)*, double (i8*)** @zone_timestep_h
  %get_variable_value = load double (i8*, i32)*, double (i8*, i32)** @get_variable_value
  %system = call double %system_timestep_h(i8* %state)
  %zone = call double %zone_timestep_h(i8* %state)
  %share = fdiv double %system, %zone
  %all_handles = load i32*, i32** @handles
  %first = load i64, i64* @zone_count
  %averages = load i64, i64* @average_count
  %n = load i64, i64* @hvac_count
  %handles = getelementptr i32, i32* %all_handles, i64 %first
  %cells = getelementptr double, double* %row, i64 %first
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:                                ; cells[i] += value x (i < averages ? share : 1)
  %i = phi i64 [0, %start], [%next, %loop]
  %handle_at = getelementptr i32, i32* %handles, i64 %i
  %handle = load i32, i32* %handle_at
  %value = call double %get_variable_value(i8* %state, i32 %handle)
  %is_average = icmp slt i64 %i, %averages
  %weight = select i1 %is_average, double %share, double 1.0
  %weighted = fmul double %value, %weight
  %cell = getelementptr double, double* %cells, i64 %i
  %before = load double, double* %cell
  %after = fadd double %before, %weighted
  store double %after, double* %cell
  %next = add i64 %i, 1
  %more = icmp slt i64 %next, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}

define void @end_zone_timestep(i8* %state) {
entry:
  %row = call double* @row_to_record()
  %record = icmp ne double* %row, null
  br i1 %record, label %start, label %done
start:
  %get_variable_value = load double (i8*, i32)*, double (i8*, i32)** @get_variable_value
  %handles = load i32*, i32** @handles
  %zone_variables = load i64, i64* @zone_count
  %latest = load double*, double** @latest
  %width = load i64, i64* @width
  %empty = icmp sle i64 %width, 0
  br i1 %empty, label %advance, label %loop
loop:                                ; latest[i] = value, and row[i] = value for a zone variable
  %i = phi i64 [0, %start], [%next, %keep]
  %handle_at = getelementptr i32, i32* %handles, i64 %i
  %handle = load i32, i32* %handle_at
  %value = call double %get_variable_value(i8* %state, i32 %handle)
  %latest_cell = getelementptr double, double* %latest, i64 %i
  store double %value, double* %latest_cell
  %is_zone = icmp slt i64 %i, %zone_variables
  br i1 %is_zone, label %record_zone, label %keep
record_zone:
  %cell = getelementptr double, double* %row, i64 %i
  store double %value, double* %cell
  br label %keep
keep:
  %next = add i64 %i, 1
  %more = icmp slt i64 %next, %width
  br i1 %more, label %loop, label %advance
advance:
  %next_row = getelementptr double, double* %row, i64 %width
  store double* %next_row, double** @row
  br label %done
done:
  ret void
}
"""


_SETTING_UP = threading.Lock()


@lru_cache(maxsize=1)
def _llvm() -> Any:
    """LLVM, set up to compile for this machine."""
    import llvmlite.binding as llvm

    with suppress(RuntimeError):  # needed up to llvmlite 0.44; later versions do it themselves and refuse it
        llvm.initialize()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


@lru_cache(maxsize=1)
def _api_function_addresses() -> dict[str, int]:
    """Addresses of the EnergyPlus API functions the callbacks call, in the library pyenergyplus loads.

    Taken from a private handle (ctypes opens it ``RTLD_LOCAL``, as pyenergyplus does) rather than by loading
    the library for LLVM to link against: that would make the library's 1,400 exported symbols, among them
    its own SQLite, zlib and expat, global to the process and to every library loaded after it.
    """
    from pyenergyplus.api import api_path

    library = ctypes.CDLL(str(api_path()))
    return {name: ctypes.cast(getattr(library, symbol), ctypes.c_void_p).value or 0 for name, symbol in (
        ("get_variable_value", "getVariableValue"), ("system_timestep_h", "systemTimeStep"),
        ("zone_timestep_h", "zoneTimeStep"))}


class Recorder:
    """One value per variable and zone timestep, recorded by code EnergyPlus calls while it runs.

    Every recorder compiles its own copy of the callbacks (about 10 ms), so that simulations running side
    by side in one process each write to their own table. The callbacks live as long as the recorder: keep
    it until the EnergyPlus state they were registered with is deleted (the runner's session does).

    Parameters
    ----------
    variables : output variable name of each column (its :data:`REPORTING` decides how it is recorded)
    steps : zone timesteps of the run period (rows)
    """

    def __init__(self, variables: list[str], steps: int):
        unknown = sorted(set(variables) - set(REPORTING))
        if unknown:
            raise ValueError(f"no known Timestep reporting for {unknown}: give the sensor that reads it its reporting "
                             "in greendc.telemetry.sensors, as eplusout.rdd lists it")
        kinds = [REPORTING[name] for name in variables]
        zone = [i for i, kind in enumerate(kinds) if kind is Reporting.ZONE]
        averages = [i for i, kind in enumerate(kinds) if kind is Reporting.HVAC_AVERAGE]
        sums = [i for i, kind in enumerate(kinds) if kind is Reporting.HVAC_SUM]
        # The recorder's own column order puts each kind together, so that one loop covers it.
        self._order = np.array(zone + averages + sums, dtype=np.int64)
        self._handles = np.full(len(variables), -1, dtype=np.int32)
        self._values = np.zeros((steps, len(variables)))
        self._latest = np.full(len(variables), np.nan)
        # Where each variable (in the order given) sits in the recorder's own order, which _latest follows.
        self._position = np.argsort(self._order)
        self.steps = steps

        with _SETTING_UP:  # lru_cache does not lock: two simulations starting together set LLVM up once
            llvm = _llvm()
            addresses = _api_function_addresses()
        module = llvm.parse_assembly(_RECORDER_IR)
        module.verify()
        self._engine = llvm.create_mcjit_compiler(module, llvm.Target.from_default_triple().create_target_machine())
        self._engine.finalize_object()
        ffi = self._ffi = cffi.FFI()

        def pointer_to(name: str, c_type: str) -> Any:
            """A pointer to the callbacks' global ``name``, which holds a ``c_type``."""
            return ffi.cast(c_type + " *", self._engine.get_global_value_address(name))

        for name, address in addresses.items():
            pointer_to(name, "uintptr_t")[0] = address
        self._recording = pointer_to("recording", "int64_t")
        self._system_timesteps = pointer_to("system_timesteps", "int64_t")
        self._row = pointer_to("row", "double *")
        pointer_to("handles", "int32_t *")[0] = ffi.cast("int32_t *", self._handles.ctypes.data)
        pointer_to("zone_count", "int64_t")[0] = len(zone)
        pointer_to("average_count", "int64_t")[0] = len(averages)
        pointer_to("hvac_count", "int64_t")[0] = len(averages) + len(sums)
        pointer_to("width", "int64_t")[0] = len(variables)
        pointer_to("latest", "double *")[0] = ffi.cast("double *", self._latest.ctypes.data)
        self._first_row = ffi.cast("double *", self._values.ctypes.data)
        self._row[0] = self._first_row
        pointer_to("end", "double *")[0] = self._first_row + steps * len(variables)

    @property
    def end_system_timestep_address(self) -> int:
        """Address of the C callback ``void (void *state)`` for EnergyPlus's end of every system timestep."""
        return self._engine.get_function_address("end_system_timestep")

    @property
    def end_zone_timestep_address(self) -> int:
        """Address of the C callback ``void (void *state)`` for EnergyPlus's end of every zone timestep."""
        return self._engine.get_function_address("end_zone_timestep")

    def start(self, handles: list[int]) -> None:
        """Record from now on, reading variable ``handles[i]`` into column ``i``."""
        self._handles[:] = [handles[i] for i in self._order]
        self._recording[0] = 1

    @property
    def latest(self) -> np.ndarray:
        """Every variable's value at the end of the last zone timestep, as the API gives it there (for HVAC
        variables: the last system timestep's), in the recorder's order: variable ``i`` is at
        ``latest_position(i)``. A view that the next zone timestep overwrites."""
        return self._latest

    def latest_position(self, variable: int) -> int:
        """Where variable ``variable`` (its index in the list given) sits in :attr:`latest`."""
        return int(self._position[variable])

    @property
    def recorded_steps(self) -> int:
        """Zone timesteps recorded so far."""
        return (self._row[0] - self._first_row) // len(self._handles)

    @property
    def system_timesteps(self) -> int:
        """System timesteps recorded so far (as many as zone timesteps where EnergyPlus did not subdivide)."""
        return int(self._system_timesteps[0])

    def values(self) -> np.ndarray:
        """The recorded rows, columns in the order the variables were given."""
        steps = self.recorded_steps
        out = np.empty((steps, len(self._handles)))
        out[:, self._order] = self._values[:steps]
        return out
