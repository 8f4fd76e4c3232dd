"""Site variants with a growing IT load, for benchmarking ``greendc verify`` (IPMVP Option C, ASHRAE Guideline 14).

Measurement and verification compares a reporting year against a model of the baseline year. A data center's IT
load rarely stands still between the two: this writes, from an example site file, a variant of the site for one
climate and one of the two years, with an hourly IT load CSV (``it_load: {kind: csv, ...}``) that

* follows the site's weekday/weekend diurnal shape (its ``schedule`` fractions; a site with a ``constant`` load
  has no shape to follow, and gets the two-hall example's, so that its load varies within a day as a data
  center's does and the baseline covers the loads the reporting year sees);
* grows linearly through both years, continuous at the boundary, so that the reporting year's mean is
  ``1 + growth`` times the baseline year's: the load level is ``L0 (1 + r t)`` over the two years (t in years from
  the baseline's start), whose yearly means are ``L0 (1 + r / 2)`` and ``L0 (1 + 3 r / 2)``, hence
  ``r = growth / (1 - growth / 2)``;
* varies from day to day by a seeded random factor within +-``daily_variation`` (5 %), drawn in pairs of
  opposite sign so that each year's factors average exactly 1 and the growth stays what was asked;
* is clipped to 0.3-1.0 (a guard: the scaling below keeps it inside for the example sites).

The baseline year's mean is the same for every growth rate (only the slope changes): the largest that keeps the
reporting year's peak at or below 1.0 at the largest growth, :data:`MAX_GROWTH` (0.59 for the two-hall shape with
+-5 % days). The reporting year's loads then mostly lie inside the baseline year's range, which M&V needs: a
baseline model is not extrapolated (``greendc.verification.savings`` refuses a reporting period with more than 5 %
of its hours beyond the baseline's range and a tenth of its width). :func:`range_coverage` says how far that holds
(the CLI prints it). With the two-hall shape and +-5 % days (seeds 0 and 1): at 5 % growth 86-89 % of the reporting
hours lie inside the baseline's range and none beyond the widened one; at 10 %, 76-79 % inside and 3-5 % beyond,
at verification's limit; at 20 %, 68 % inside but 15-19 % beyond, which verification refuses (+-15 % days: 6-9 %).
A year's growth of a fifth is more than one baseline year can vouch for.

The CSV has 8760 hourly rows, the first the hour ending 01:00 on 1 January, read by the twin as a ``Schedule:File``
(``greendc.twin.builder``); weekdays follow the twin's calendar of a full-year run, which starts on a Sunday
(``RunPeriod`` ``day_of_week_for_start_day``). Both years are simulated on the same calendar and weather year:
the climate is the only weather there is, so what differs between them is the load (and the control measure).

Usage::

    python bench/verify_sites.py --site examples/sites/two-hall-chicago.yaml --climate dulles --growth 0.1 \\
        --role reporting --out runs/verify-sites        # writes the site YAML and its load CSV, prints their paths
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
SITES = REPO / "examples" / "sites"
#: The shape a site with a constant load borrows (its schedule's weekday and weekend fractions).
SHAPE_SITE = SITES / "two-hall-chicago.yaml"

ROLES = ("baseline", "reporting")
HOURS_PER_YEAR = 8760
DAYS_PER_YEAR = 365
MAX_GROWTH = 0.20
DAILY_VARIATION = 0.05
MIN_FRACTION, MAX_FRACTION = 0.3, 1.0
#: The reporting year's peak the scaling aims at (the servers' full utilisation).
PEAK_FRACTION = 1.0
#: Day of the week of 1 January in the twin's full-year run (Monday = 0): its RunPeriod starts on a Sunday.
FIRST_WEEKDAY = 6


@dataclass(frozen=True)
class Variant:
    """The files written for one site, climate, growth and year."""

    site_file: Path
    load_csv: Path
    mean_fraction: float
    peak_fraction: float


def diurnal_shape(it_load: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A site's weekday and weekend hourly fractions (24 each), from its ``it_load`` mapping.

    A constant load has no shape; it borrows :data:`SHAPE_SITE`'s. A CSV load is refused: its own year is the
    profile, and reshaping it would be a different site.
    """
    kind = it_load.get("kind")
    if kind == "schedule":
        return np.asarray(it_load["weekday_fractions"], float), np.asarray(it_load["weekend_fractions"], float)
    if kind == "constant":
        return diurnal_shape(yaml.safe_load(SHAPE_SITE.read_text())["it_load"])
    raise ValueError(f"it_load kind {kind!r}: give a site with a 'schedule' or 'constant' IT load")


def _year_shape(weekday: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    """The hourly shape over the year's calendar, scaled to a mean of 1."""
    days = (FIRST_WEEKDAY + np.arange(DAYS_PER_YEAR)) % 7
    hourly = np.concatenate([weekend if day >= 5 else weekday for day in days])
    return hourly / hourly.mean()


def _growth_rate(growth: float) -> float:
    """The linear growth per year r whose second year's mean is (1 + growth) times the first's."""
    return growth / (1.0 - growth / 2.0)


def _daily_factors(rng: np.random.Generator, variation: float) -> np.ndarray:
    """One year's day-to-day factors within 1 +- variation, averaging exactly 1 (pairs of opposite sign)."""
    half = rng.uniform(-variation, variation, DAYS_PER_YEAR // 2)
    offsets = np.concatenate([half, -half, np.zeros(DAYS_PER_YEAR % 2)])
    return 1.0 + rng.permutation(offsets)


def baseline_mean_fraction(shape: np.ndarray, daily_variation: float = DAILY_VARIATION) -> float:
    """The baseline year's mean load that puts the reporting year's highest possible hour at
    :data:`PEAK_FRACTION` at :data:`MAX_GROWTH` (shape: the year's hourly shape, mean 1)."""
    r = _growth_rate(MAX_GROWTH)
    # Peak = L0 (1 + 2 r) max(shape) (1 + variation), and the baseline year's mean is L0 (1 + r / 2).
    return PEAK_FRACTION * (1 + r / 2) / ((1 + 2 * r) * float(shape.max()) * (1 + daily_variation))


def it_load_profile(it_load: dict[str, Any], growth: float, role: str, seed: int = 0,
                    daily_variation: float = DAILY_VARIATION) -> np.ndarray:
    """The 8760 hourly utilisation fractions of one year (see the module docstring); pure: the same arguments
    give the same profile, and both roles of one seed come from one draw of two years."""
    if not 0 <= growth <= MAX_GROWTH:
        raise ValueError(f"growth {growth}: give a yearly IT growth of 0-{MAX_GROWTH} (0.1 for 10 %)")
    if role not in ROLES:
        raise ValueError(f"role {role!r}: give one of {', '.join(ROLES)}")
    if not 0 <= daily_variation < 0.5:
        raise ValueError(f"daily_variation {daily_variation}: give 0-0.5 (0.05 for +-5 %)")
    shape = _year_shape(*diurnal_shape(it_load))
    r = _growth_rate(growth)
    level = baseline_mean_fraction(shape, daily_variation) / (1 + r / 2)
    rng = np.random.default_rng(seed)
    factors = [_daily_factors(rng, daily_variation) for _ in ROLES]
    year = ROLES.index(role)
    t = year + (np.arange(HOURS_PER_YEAR) + 0.5) / HOURS_PER_YEAR
    load = level * (1 + r * t) * shape * np.repeat(factors[year], 24)
    return np.clip(load, MIN_FRACTION, MAX_FRACTION)


def range_coverage(baseline: np.ndarray, reporting: np.ndarray, margin: float = 0.10) -> tuple[float, float]:
    """The share of reporting hours inside the baseline's range, and the share beyond it widened by ``margin``
    of its width on each side (what ``greendc verify`` counts against its 5 % limit)."""
    low, high = float(baseline.min()), float(baseline.max())
    widened = margin * (high - low)
    inside = float(((reporting >= low) & (reporting <= high)).mean())
    beyond = float(((reporting < low - widened) | (reporting > high + widened)).mean())
    return inside, beyond


def _climate_label(climate: str) -> str:
    return Path(climate).stem if climate.lower().endswith(".epw") else climate.lower()


def write_variant(site_file: Path, climate: str, growth: float, role: str, out_dir: Path, seed: int = 0,
                  daily_variation: float = DAILY_VARIATION,
                  run_period: tuple[tuple[int, int], tuple[int, int]] | None = None) -> Variant:
    """Write the site variant (YAML) and its IT load CSV into ``out_dir``; the YAML names the CSV relative to
    itself, as the site loader resolves it. ``run_period`` ((month, day), (month, day)) shortens the
    simulation; the CSV always holds the whole year."""
    site_file = Path(site_file)
    data = yaml.safe_load(site_file.read_text())
    profile = it_load_profile(data["it_load"], growth, role, seed, daily_variation)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{site_file.stem}-{_climate_label(climate)}-growth{round(growth * 100):02d}-{role}"
    csv = out_dir / f"{stem}.csv"
    csv.write_text("fraction\n" + "".join(f"{value:.5f}\n" for value in profile))
    # A weather path is made absolute: the variant lives elsewhere than the site file it came from.
    is_path = climate.lower().endswith(".epw")
    data["weather"] = str((site_file.parent / climate).resolve()) if is_path else climate.lower()
    data["name"] = f"{data['name']} ({role} year, {growth:.0%} IT growth)"[:120]
    data["it_load"] = {"kind": "csv", "path": csv.name, "column": "fraction"}
    if run_period is not None:
        (begin_month, begin_day), (end_month, end_day) = run_period
        data["simulation"] = {**data.get("simulation", {}), "begin_month": begin_month, "begin_day": begin_day,
                              "end_month": end_month, "end_day": end_day}
    variant = out_dir / f"{stem}.yaml"
    header = (f"# {site_file.name} for greendc verify benchmarks: {role} year in {climate}, IT growing "
              f"{growth:.0%} a year (bench/verify_sites.py, seed {seed}, days +-{daily_variation:.0%}).\n")
    variant.write_text(header + yaml.safe_dump(data, sort_keys=False, width=120))
    return Variant(variant, csv, float(profile.mean()), float(profile.max()))


def _period(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``MM-DD:MM-DD`` as ((month, day), (month, day))."""
    try:
        begin, end = (tuple(int(part) for part in side.split("-")) for side in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give the run period as MM-DD:MM-DD, e.g. 07-01:07-03") from None
    if len(begin) != 2 or len(end) != 2:
        raise argparse.ArgumentTypeError(f"{text!r}: give the run period as MM-DD:MM-DD, e.g. 07-01:07-03")
    return (begin[0], begin[1]), (end[0], end[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, required=True, help="an example site file (schedule or constant load)")
    parser.add_argument("--climate", required=True, help="chicago | dulles | tampa | golden | san-francisco, or an EPW")
    parser.add_argument("--growth", type=float, required=True, help=f"yearly IT growth, 0-{MAX_GROWTH} (0.1 = 10 %%)")
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for the site YAML and its load CSV")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--daily-variation", type=float, default=DAILY_VARIATION,
                        help="day-to-day random variation, +- this fraction (default 0.05)")
    parser.add_argument("--run-period", type=_period, help="MM-DD:MM-DD, a shorter simulation (the CSV stays a year)")
    args = parser.parse_args(argv)
    try:
        variant = write_variant(args.site, args.climate, args.growth, args.role, args.out, args.seed,
                                args.daily_variation, args.run_period)
        site_load = yaml.safe_load(args.site.read_text())["it_load"]
        years = [it_load_profile(site_load, args.growth, role, args.seed, args.daily_variation) for role in ROLES]
    except (OSError, ValueError, KeyError, yaml.YAMLError) as error:
        print(f"verify_sites: {error}", file=sys.stderr)
        return 2
    inside, beyond = range_coverage(*years)
    print(f"{variant.site_file}\n{variant.load_csv}")
    print(f"mean {variant.mean_fraction:.3f}, peak {variant.peak_fraction:.3f}; reporting hours inside the baseline's "
          f"range {inside:.0%}, beyond it and a tenth of its width {beyond:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
