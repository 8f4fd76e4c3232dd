"""How steady is the facility model's measured coverage? One fit, many ways of halving its held-out days.

``FacilityModel.fit`` holds out the last 20 % of each episode from the trees, halves its days at random
(``random_state``), calibrates a band on each half and measures it on the other. This bench fits once and
then redraws the halves ``--draws`` times, and for each draw reports, per zone and for cooling power, the
coverage of the calibrated ``mean +- 2 std`` bands three ways:

- ``one-way plain``: calibrated on the first half by plain split-conformal prediction (confidence 0.5: the
  ``ceil((n + 1) 0.975)``-th score), measured on the second half only;
- ``one-way``: the same with the model's margin for errors that come in runs (``calibration_confidence``);
- ``two-way``: what ``fit`` records: each half's band measured on the other half, pooled.

Usage (telemetry from ``greendc explore``, which also writes the site)::

    greendc explore examples/sites/two-hall-chicago.yaml --out x-chicago --climates chicago
    python bench/calibration_splits.py x-chicago --draws 30
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import numpy as np

from greendc.learning.facility_model import (
    CALIBRATION_CONFIDENCE,
    FacilityModel,
    conformal_threshold,
    holdout_mask,
    random_half_of_days,
)
from greendc.learning.features import training_table
from greendc.telemetry.schema import load_telemetry
from greendc.workflows.train import training_site

TARGET = 0.97


def _scores(model: FacilityModel, held_out: object) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Per target, ``|error|`` on every held-out row and, for the inlets, the quantile spread, K."""
    every = np.ones(len(held_out.table.features), dtype=bool)  # type: ignore[attr-defined]
    scores: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for index, zone in enumerate(model.zone_names_):
        error = np.abs(held_out.error(f"{zone}/inlet_temp_c", every))  # type: ignore[attr-defined]
        scores[zone] = (error, held_out.raw_spread_c[index])  # type: ignore[attr-defined]
    scores["cooling power"] = (np.abs(held_out.error("cooling_power_w", every)), None)  # type: ignore[attr-defined]
    return scores


def _covered(error: np.ndarray, spread: np.ndarray | None, blocks: np.ndarray, calibrate: np.ndarray,
             test: np.ndarray, confidence: float) -> int:
    """Test rows inside the band calibrated on ``calibrate`` as ``fit`` does (floor: the RMSE there)."""
    if spread is None:
        std = np.ones_like(error)
    else:
        std = np.maximum(spread, math.sqrt(float(np.mean(error[calibrate] ** 2))))
    scale, _ = conformal_threshold(error[calibrate] / (2 * std[calibrate]), blocks[calibrate], 0.975, confidence)
    return int(np.sum(error[test] <= 2 * scale * std[test]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="telemetry folder written by greendc explore")
    parser.add_argument("--site", type=Path, default=None, help="site YAML (default: DATA/site.json)")
    parser.add_argument("--draws", type=int, default=30)
    args = parser.parse_args()
    telemetry = load_telemetry(args.data)
    site = training_site(args.data, args.site)
    model = FacilityModel().fit(telemetry, site)
    table = training_table(dataclasses.replace(telemetry, zone_names=model.zone_names_), model.has_chiller_plant_)
    rows = table.rows(holdout_mask(table.episode, model.holdout_fraction))
    held_out = model._held_out(rows)
    scores = _scores(model, held_out)
    ways = {"one-way plain": [], "one-way": [], "two-way": []}
    for draw in range(args.draws):
        first = random_half_of_days(rows.episode, held_out.blocks, draw)
        for way, results in ways.items():
            confidence = 0.5 if way == "one-way plain" else CALIBRATION_CONFIDENCE
            pairs = [(first, ~first)] if way.startswith("one-way") else [(first, ~first), (~first, first)]
            results.append({name: sum(_covered(error, spread, held_out.blocks, calibrate, test, confidence)
                                      for calibrate, test in pairs)
                            / sum(int(test.sum()) for _, test in pairs)
                            for name, (error, spread) in scores.items()})
    print(f"{args.data}: {len(rows.features)} held-out rows, {args.draws} draws of the halves "
          f"(coverage of mean +- 2 std; min / median, draws below {100 * TARGET:.0f} %)")
    for way, results in ways.items():
        cells = []
        for name in scores:
            values = np.array([result[name] for result in results])
            cells.append(f"{name} {100 * values.min():.1f} / {100 * np.median(values):.1f}, "
                         f"{int((values < TARGET).sum())} below")
        print(f"  {way:14s} " + "; ".join(cells))


if __name__ == "__main__":
    main()
