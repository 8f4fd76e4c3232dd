"""Figures of simulated runs (PNG, matplotlib Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from greendc.results.records import RunSummary
from greendc.results.summary import RECOMMENDED_MAX_C, RECOMMENDED_MIN_C


def plot_comparison(runs: dict[str, tuple[pd.DataFrame, RunSummary]], zone_names: list[str], path: Path) -> Path:
    """Daily hottest ITE inlet, daily cooling energy and annual energy by end use for several controllers.

    ``runs`` maps a controller name to its telemetry and summary.
    """
    figure, axes = plt.subplots(3, 1, figsize=(11, 11), constrained_layout=True)
    inlet_axis, cooling_axis, bar_axis = axes
    for name, (telemetry, summary) in runs.items():
        # Stamps mark the end of each step; index by the step's start so days and months split cleanly.
        frame = telemetry.set_index(telemetry["time"] - pd.Timedelta(hours=summary.timestep_h))
        inlet = frame[[f"{zone}/inlet_temp_c" for zone in zone_names]].max(axis=1)
        inlet.resample("D").max().plot(ax=inlet_axis, label=f"{name} (max {summary.inlet_max_c:.1f} C)")
        daily_kwh = frame["cooling_power_w"].resample("D").sum() * summary.timestep_h / 1000.0
        daily_kwh.plot(ax=cooling_axis, label=f"{name} ({summary.cooling_kwh / 1000:.1f} MWh)")
    inlet_axis.axhspan(RECOMMENDED_MIN_C, RECOMMENDED_MAX_C, color="green", alpha=0.08,
                       label="ASHRAE recommended 18-27 C")
    inlet_axis.set_ylabel("daily hottest ITE inlet (C)")
    inlet_axis.set_title("Server inlet air temperature")
    inlet_axis.legend(loc="best", fontsize=8)
    cooling_axis.set_ylabel("cooling electricity (kWh/day)")
    cooling_axis.set_title("Cooling electricity (HVAC + plant)")
    cooling_axis.legend(loc="best", fontsize=8)
    names = list(runs)
    # IT energy dwarfs the rest; show what a controller changes: cooling by end use, UPS losses and the
    # change in IT energy (server fans) against the first controller.
    parts = [("fans_kwh", "air-handler fans"), ("dx_coils_kwh", "DX coils"), ("chiller_kwh", "chiller"),
             ("tower_kwh", "tower"), ("pumps_kwh", "pumps"), ("evaporative_kwh", "evaporative"),
             ("ups_losses_kwh", "UPS losses")]
    bottoms = [0.0] * len(names)
    for key, label in parts:
        values = [getattr(runs[name][1], key) / 1000.0 for name in names]
        bar_axis.bar(names, values, bottom=bottoms, label=label)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    first_it_kwh = runs[names[0]][1].it_kwh
    for index, name in enumerate(names):
        summary = runs[name][1]
        bar_axis.text(index, bottoms[index], f"facility {summary.facility_kwh / 1000:.1f} MWh, PUE "
                      f"{summary.pue or float('nan'):.3f}\nIT {(summary.it_kwh - first_it_kwh) / 1000:+.1f} MWh vs "
                      f"{names[0]}",
                      ha="center", va="bottom", fontsize=9)
    bar_axis.set_ylim(0, max(bottoms) * 1.25)
    bar_axis.set_ylabel("electricity (MWh)")
    bar_axis.set_title("Non-IT electricity by end use")
    bar_axis.legend(loc="upper right", fontsize=8, ncol=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
