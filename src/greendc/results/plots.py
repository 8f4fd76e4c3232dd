"""Figures of simulated runs (PNG, matplotlib Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from greendc.results.summary import RECOMMENDED_MAX_C, RECOMMENDED_MIN_C


def plot_comparison(runs: dict[str, tuple[pd.DataFrame, dict]], zone_names: list[str], path: Path) -> Path:
    """Daily hottest ITE inlet, daily cooling energy and annual energy by end use for several controllers.

    ``runs`` maps a controller name to its telemetry and summary.
    """
    figure, axes = plt.subplots(3, 1, figsize=(11, 11), constrained_layout=True)
    inlet_axis, cooling_axis, bar_axis = axes
    for name, (telemetry, summary) in runs.items():
        frame = telemetry.set_index("time")
        inlet = frame[[f"{zone}/inlet_temp_c" for zone in zone_names]].max(axis=1)
        inlet.resample("D").max().plot(ax=inlet_axis, label=f"{name} (max {summary['inlet_max_c']:.1f} C)")
        daily_kwh = frame["cooling_power_w"].resample("D").sum() * summary["timestep_h"] / 1000.0
        daily_kwh.plot(ax=cooling_axis, label=f"{name} ({summary['cooling_kwh'] / 1000:.1f} MWh)")
    inlet_axis.axhspan(RECOMMENDED_MIN_C, RECOMMENDED_MAX_C, color="green", alpha=0.08,
                       label="ASHRAE recommended 18-27 C")
    inlet_axis.set_ylabel("daily hottest ITE inlet (C)")
    inlet_axis.set_title("Server inlet air temperature")
    inlet_axis.legend(loc="best", fontsize=8)
    cooling_axis.set_ylabel("cooling electricity (kWh/day)")
    cooling_axis.set_title("Cooling electricity (HVAC + plant)")
    cooling_axis.legend(loc="best", fontsize=8)
    names = list(runs)
    end_uses = [("it_kwh", "IT"), ("cooling_kwh", "cooling"), ("ups_losses_kwh", "UPS losses"), ("other_kwh", "other")]
    bottoms = [0.0] * len(names)
    for key, label in end_uses:
        values = [runs[name][1][key] / 1000.0 for name in names]
        bar_axis.bar(names, values, bottom=bottoms, label=label)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    for index, name in enumerate(names):
        bar_axis.text(index, bottoms[index], f"PUE {runs[name][1]['pue']:.3f}", ha="center", va="bottom")
    bar_axis.set_ylabel("electricity (MWh)")
    bar_axis.set_title("Facility electricity by end use")
    bar_axis.legend(loc="lower right", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
