"""Server power as a function of utilisation and inlet air temperature.

Servers are part of the cooling physics: warmer inlet air raises CPU leakage power a little and, above
a knee in the mid-20s C, server fan power a lot (fan power grows with the cube of speed). The default
server classes follow published data rather than the EnergyPlus example's curves, which double CPU
power between 15 and 30 C and so make overcooling look optimal.

Sources for the defaults:

- ASHRAE TC 9.9, "2011 Thermal Guidelines for Data Processing Environments - Expanded Data Center
  Classes and Usage Guidance" (white paper), figure "Server power increase vs. ambient temperature":
  for class A2 volume servers, power rises by a few percent up to about 27-30 C and by roughly 7-20 %
  at 35 C relative to 15-20 C, driven mainly by fan speed.
- Moss & Bean (Dell), "Energy Impact of Increased Server Inlet Temperature" (2009): system power is
  nearly flat up to the mid-20s C, then rises as fans ramp; leakage adds about 0.1-0.2 % per C.

The model (per unit of design power, utilisation ``load`` in 0-1, inlet ``inlet_temp_c`` in C)::

    cpu  = (1 - fan_power_fraction) * (idle + (1 - idle) * load) * (1 + leakage_per_c * (T - 20))
    flow = clip(a + e * T**2, min_airflow_fraction, 1)        # a, e put the knee at fan_ramp_start_c
    fan  = fan_power_fraction * flow**3                         # fan affinity law

which maps exactly onto EnergyPlus ``ElectricEquipment:ITE:AirCooled`` inputs: a biquadratic CPU
curve, a biquadratic airflow curve with output limits, and a cubic fan-power curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Inlet temperature (C) at which CPU power equals its design value.
REFERENCE_INLET_C = 20.0


@dataclass(frozen=True)
class Biquadratic:
    """f(x, y) = c1 + c2 x + c3 x^2 + c4 y + c5 y^2 + c6 x y, clipped to [min_output, max_output]."""

    c1: float
    c2: float
    c3: float
    c4: float
    c5: float
    c6: float
    min_output: float = 0.0
    max_output: float = 99.0

    def __call__(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        value = self.c1 + self.c2 * x + self.c3 * x**2 + self.c4 * y + self.c5 * y**2 + self.c6 * x * y
        return np.clip(value, self.min_output, self.max_output)


@dataclass(frozen=True)
class ServerModel:
    """Resolved curves for the EnergyPlus ITE object (all fractions of design power or flow)."""

    cpu_power: Biquadratic
    airflow: Biquadratic
    fan_power_fraction: float
    fan_power_exponent: float
    airflow_m3s_per_w: float
    source: str


_PRESETS: dict[str, dict[str, float]] = {
    # Class A2 volume server (ASHRAE 2011 white paper, Dell 2009): +3.3 % at 27 C, +6.2 % at 30 C and
    # +14 % at 35 C over 20 C at full load.
    "volume-a2": {
        "idle_power_fraction": 0.40,
        "cpu_leakage_per_c": 0.0015,
        "fan_power_fraction": 0.12,
        "min_airflow_fraction": 0.50,
        "fan_ramp_start_c": 22.0,
        "fan_full_speed_c": 35.0,
    },
    # Class A3 dense (blade) server: lower idle share, fans ramp later but take a larger share at top speed.
    "dense-a3": {
        "idle_power_fraction": 0.30,
        "cpu_leakage_per_c": 0.0020,
        "fan_power_fraction": 0.15,
        "min_airflow_fraction": 0.45,
        "fan_ramp_start_c": 24.0,
        "fan_full_speed_c": 40.0,
    },
}

_ENERGYPLUS_EXAMPLE = ServerModel(
    cpu_power=Biquadratic(-1.0, 1.0, 0.0, 0.06667, 0.0, 0.0),
    airflow=Biquadratic(-1.4, 0.9, 0.0, 0.1, 0.0, 0.0),
    fan_power_fraction=0.4,
    fan_power_exponent=1.0,
    airflow_m3s_per_w=0.0001,
    source="EnergyPlus example 2ZoneDataCenterHVAC_wEconomizer (for validation only; far steeper than "
    "published server data)",
)


class ServerCurves(BaseModel):
    """Server class of the site, or its own physical parameters (``server_class: custom``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server_class: Literal["volume-a2", "dense-a3", "custom", "energyplus-example"] = "volume-a2"
    idle_power_fraction: Annotated[float | None, Field(ge=0, le=1)] = None
    cpu_leakage_per_c: Annotated[float | None, Field(ge=0, le=0.02)] = None
    fan_power_fraction: Annotated[float | None, Field(ge=0, le=0.5)] = None
    min_airflow_fraction: Annotated[float | None, Field(gt=0, le=1)] = None
    fan_ramp_start_c: Annotated[float | None, Field(ge=10, le=40)] = None
    fan_full_speed_c: Annotated[float | None, Field(ge=15, le=50)] = None

    @model_validator(mode="after")
    def _parameters_match_class(self) -> ServerCurves:
        given = {name for name in _PRESETS["volume-a2"] if getattr(self, name) is not None}
        if self.server_class == "custom":
            missing = sorted(set(_PRESETS["volume-a2"]) - given)
            if missing:
                raise ValueError(f"server_class custom needs {', '.join(missing)}")
            assert self.fan_ramp_start_c is not None and self.fan_full_speed_c is not None
            if self.fan_full_speed_c <= self.fan_ramp_start_c:
                raise ValueError("fan_full_speed_c must be above fan_ramp_start_c")
        elif given:
            raise ValueError(f"{', '.join(sorted(given))} may only be given with server_class: custom")
        return self

    def parameters(self) -> dict[str, float]:
        if self.server_class in _PRESETS:
            return dict(_PRESETS[self.server_class])
        if self.server_class == "custom":
            return {name: float(getattr(self, name)) for name in _PRESETS["volume-a2"]}
        raise ValueError(f"server_class {self.server_class} has no physical parameters")

    def model(self) -> ServerModel:
        """Resolve to the curves EnergyPlus evaluates."""
        if self.server_class == "energyplus-example":
            return _ENERGYPLUS_EXAMPLE
        p = self.parameters()
        idle, leak, t_ref = p["idle_power_fraction"], p["cpu_leakage_per_c"], REFERENCE_INLET_C
        # Expand (idle + (1-idle) x)(1 + leak (y - t_ref)) into biquadratic coefficients.
        cpu = Biquadratic(
            c1=idle * (1 - leak * t_ref),
            c2=(1 - idle) * (1 - leak * t_ref),
            c3=0.0,
            c4=idle * leak,
            c5=0.0,
            c6=(1 - idle) * leak,
        )
        low, t_knee, t_full = p["min_airflow_fraction"], p["fan_ramp_start_c"], p["fan_full_speed_c"]
        e = (1.0 - low) / (t_full**2 - t_knee**2)
        airflow = Biquadratic(c1=low - e * t_knee**2, c2=0.0, c3=0.0, c4=0.0, c5=e, c6=0.0,
                              min_output=low, max_output=1.0)
        return ServerModel(
            cpu_power=cpu,
            airflow=airflow,
            fan_power_fraction=p["fan_power_fraction"],
            fan_power_exponent=3.0,
            # About 120 CFM per kW at full fan speed, typical of 1U/2U servers.
            airflow_m3s_per_w=5.7e-5,
            source=f"greendc server class {self.server_class} (ASHRAE TC 9.9 2011 white paper; Dell 2009)",
        )


def it_power_fraction(curves: ServerModel, load: np.ndarray | float, inlet_temp_c: np.ndarray | float) -> np.ndarray:
    """IT electric power (CPU + server fans) as a fraction of design power, before UPS losses.

    Parameters
    ----------
    curves : resolved server curves
    load : CPU utilisation, 0-1
    inlet_temp_c : server inlet air temperature in C
    """
    cpu = (1 - curves.fan_power_fraction) * curves.cpu_power(load, inlet_temp_c)
    flow = curves.airflow(load, inlet_temp_c)
    fan = curves.fan_power_fraction * flow**curves.fan_power_exponent
    return cpu + fan
