"""Tables and verdicts of the ai benchmark, from the JSON files `greendc bench` writes.

Reads the facility-objective and the cooling-objective runs (each with default, rbc, trim-respond, ai and
oracle in every climate) and prints, as Markdown:

1. per objective, every controller in every climate: IT, cooling and facility electricity, PUE, hottest
   inlet and violation counts, so that a lower PUE can be told from a real saving;
2. per climate, issue 3's figures: the ai against the best baseline and the oracle on each objective, its
   share of the oracle's saving over ``default``, and whether every figure holds.

Usage::

    python bench/ai_tables.py bench/results/ai-facility.json bench/results/ai-cooling.json

Exits with status 1 if any figure does not hold.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from greendc.results.records import read_bench_records

BASELINES = ("default", "rbc", "trim-respond")
MIN_ORACLE_SHARE = 0.8


def _by_climate(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for record in records:
        table.setdefault(record["climate"], {})[record["controller"]] = record
    return table


def controller_table(records: list[dict[str, Any]]) -> str:
    """Every controller in every climate (MWh per year, wall seconds per run)."""
    lines = ["| climate | controller | IT | cooling | facility | PUE | inlet max C | >27 C | >32 C | <18 C | humid "
             "| wall s |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for climate, runs in _by_climate(records).items():
        for name in (*BASELINES, "ai", "oracle"):
            run = runs.get(name)
            if run is None:
                continue
            if "error" in run:  # a climate without an oracle (no safe constant setpoint in some month)
                lines.append(f"| {climate} | {name} | {run['error']} |" + " |" * 9)
                continue
            lines.append(
                f"| {climate} | {name} | {run['it_kwh'] / 1000:.1f} | {run['cooling_kwh'] / 1000:.1f} | "
                f"{run['facility_kwh'] / 1000:.1f} | {run['pue']:.3f} | {run['inlet_max_c']:.1f} | "
                f"{run['steps_above_27c']} | {run['steps_above_32c']} | {run['steps_below_18c']} | "
                f"{run['steps_humid']} | {run['wall_s']:.0f} |")
    return "\n".join(lines)


def verdicts(facility: list[dict[str, Any]], cooling: list[dict[str, Any]]) -> tuple[str, bool]:
    """Issue 3's figures per climate and objective, and whether all of them hold."""
    lines = ["| climate | objective | best baseline MWh | oracle MWh | ai MWh | ai share of oracle saving | "
             "ai >27 C | fewest baseline >27 C | holds |", "|---|---|---|---|---|---|---|---|---|"]
    every = True
    for objective, records in (("facility", facility), ("cooling", cooling)):
        key = f"{objective}_kwh"
        for climate, runs in _by_climate(records).items():
            ai, oracle = runs["ai"], runs["oracle"]
            if "error" in oracle:  # no oracle, so no share of its saving: the figure cannot hold
                every = False
                lines.append(f"| {climate} | {objective} | | {oracle['error']} | **{ai[key] / 1000:.1f}** | "
                             f"| {ai['steps_above_27c']} | | NO |")
                continue
            baselines = [runs[name] for name in BASELINES]
            best = min(run[key] for run in baselines)
            fewest = min(run["steps_above_27c"] for run in baselines)
            saving = runs["default"][key] - oracle[key]
            share = (runs["default"][key] - ai[key]) / saving if saving > 0 else float("nan")
            holds = (all(ai[key] < run[key] for run in baselines) and ai["steps_above_27c"] <= fewest
                     and share >= MIN_ORACLE_SHARE)
            every &= holds
            lines.append(f"| {climate} | {objective} | {best / 1000:.1f} | {oracle[key] / 1000:.1f} | "
                         f"**{ai[key] / 1000:.1f}** | {share:.0%} | {ai['steps_above_27c']} | {fewest} | "
                         f"{'yes' if holds else 'NO'} |")
    return "\n".join(lines), every


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("facility", type=Path, help="greendc bench JSON, --objective facility")
    parser.add_argument("cooling", type=Path, help="greendc bench JSON, --objective cooling")
    args = parser.parse_args(argv)
    facility = [record.row() for record in read_bench_records(args.facility)]
    cooling = [record.row() for record in read_bench_records(args.cooling)]
    print("### Facility objective\n\n" + controller_table(facility) + "\n")
    print("### Cooling objective\n\n" + controller_table(cooling) + "\n")
    table, every = verdicts(facility, cooling)
    print("### Issue 3's figures\n\n" + table)
    return 0 if every else 1


if __name__ == "__main__":
    sys.exit(main())
