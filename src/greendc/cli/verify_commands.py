"""``greendc verify``: savings verified on metered telemetry (IPMVP, ASHRAE Guideline 14), with uncertainty.

Exit codes: 0 a saving (or an increase) distinguishable from zero; 1 not distinguishable from zero (the
record is still written, for the auditor); 2 refused or bad input (one line naming the reason; nothing
written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from greendc.errors import UsageError

_out = Console()


def _table(record) -> Table:
    table = Table(title=f"Verified {record.energy} energy: {record.conclusion}", title_justify="left")
    for column in ("month", "adjusted baseline MWh", "measured MWh", "avoided MWh", "interval MWh"):
        table.add_column(column, justify="right")
    for month in record.monthly:
        table.add_row(month.month, f"{month.adjusted_baseline_kwh / 1000:,.2f}", f"{month.measured_kwh / 1000:,.2f}",
                      f"{month.avoided_kwh / 1000:,.2f}",
                      f"{month.avoided_kwh_lower / 1000:,.2f} to {month.avoided_kwh_upper / 1000:,.2f}")
    table.add_row("total", f"{record.adjusted_baseline_kwh / 1000:,.1f}", f"{record.measured_kwh / 1000:,.1f}",
                  f"{record.avoided_kwh / 1000:,.1f}",
                  f"{record.avoided_kwh_lower / 1000:,.1f} to {record.avoided_kwh_upper / 1000:,.1f}", style="bold")
    return table


def _statistics_lines(record) -> list[str]:
    s = record.statistics
    return [
        f"method: {record.method}",
        f"baseline model ({s.interval}, {s.observations:,} hours, {s.parameters} parameters): CV(RMSE) "
        f"{s.cv_rmse:.1%} (limit {s.cv_rmse_limit:.0%}), NMBE {s.nmbe:+.3%} (limit +-{s.nmbe_limit:.1%}), "
        f"R2 {s.r2:.3f}, lag-1 autocorrelation {s.lag1_autocorrelation:.2f} ({s.effective_observations:,.0f} "
        "independent hours)",
        f"IT load: {record.it_load_signal}",
        "independent variables: " + "; ".join(
            f"{v.name} {v.baseline_min:.1f}-{v.baseline_max:.1f} {v.unit}" for v in record.independent_variables),
        f"savings {record.savings_fraction:.2%} of the adjusted baseline; fractional savings uncertainty "
        + (f"{record.fractional_savings_uncertainty:.0%}" if record.fractional_savings_uncertainty is not None
           else "undefined (nothing avoided)")
        + " (" + ", ".join(f"{k.replace('_', ' ')} +-{v / 1000:,.2f} MWh"
                           for k, v in record.uncertainty_components_kwh.items()) + ")",
        *[f"{a.kind}: {a.start} to {a.end}, {a.hours:.0f} h, {a.energy_kwh / 1000:,.2f} MWh: {a.reason}"
          for a in record.adjustments],
        *record.notes,
    ]


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        baseline: Annotated[Path | None, typer.Option(help="Baseline period's telemetry (file or folder).")] = None,
        reporting: Annotated[Path | None, typer.Option(help="Reporting period's telemetry (file or folder).")] = None,
        ab: Annotated[Path | None, typer.Option("--ab", help="Telemetry recorded under an A/B schedule "
                                                "(--schedule ab): estimates the candidate's saving within it.")] = None,
        energy: Annotated[str, typer.Option(help="facility | cooling")] = "facility",
        confidence: Annotated[float, typer.Option(min=50, max=99.9, help="Confidence of the interval, %.")] = 90.0,
        it_load: Annotated[str | None, typer.Option(
            "--it-load", help="IT-load signal: 'utilization' (default: each hall's servers' utilisation column), "
            "'normalized' (IT power at a 20 C inlet by the site's server curve; needs --site) or a column name "
            "(measured IT power is moved by cooling control; the record says so).")] = None,
        adjustments: Annotated[Path | None, typer.Option(help="Non-routine adjustments and exclusions (YAML).")] = None,
        site_file: Annotated[Path | None, typer.Option("--site", help="The site file, for --it-load normalized (the "
                                                       "halls' design power and server curves).")] = None,
        settling_hours: Annotated[int, typer.Option(min=0, max=168, help="With --ab: hours left out after each "
                                                    "switch while the building settles.")] = 12,
        json_path: Annotated[Path | None, typer.Option("--json", help="Write the verification record here.")] = None,
    ) -> None:
        """Verify a saving on metered data: adjusted baseline minus measured, with Guideline 14 uncertainty."""
        from greendc.site.loader import load_site
        from greendc.verification.adjustments import Adjustments, load_adjustments
        from greendc.verification.record import write_verification

        if energy not in ("facility", "cooling"):
            raise UsageError(f"--energy: {energy!r} is not one of facility, cooling")
        if ab is not None and (baseline is not None or reporting is not None):
            raise UsageError("--ab: give either --ab TELEMETRY or --baseline and --reporting, not both")
        if ab is None and (baseline is None or reporting is None):
            raise UsageError("--baseline and --reporting are both needed (or --ab TELEMETRY)")
        if site_file is not None and it_load != "normalized":
            raise UsageError("--site: the site file serves --it-load normalized only; it needs --it-load normalized")
        rules = load_adjustments(adjustments) if adjustments is not None else Adjustments()
        site = load_site(site_file)[0] if site_file is not None else None
        with _out.status("fitting the baseline model and predicting the reporting period..."):
            if ab is not None:
                from greendc.verification.ab_test import verify_ab

                record = verify_ab(str(ab), energy, confidence, it_load, rules, settling_hours)
            else:
                from greendc.verification.savings import VerifyOptions, verify_savings

                record = verify_savings(str(baseline), str(reporting),
                                        VerifyOptions(energy, confidence, it_load, rules, site))
        _out.print(_table(record))
        for line in _statistics_lines(record):
            _out.print(line, markup=False, highlight=False, soft_wrap=True)
        if json_path is not None:
            write_verification(record, json_path)
            _out.print(f"Record written to {json_path}", markup=False)
        if not record.distinguishable_from_zero:
            _out.print(f"refused: the saving is {record.conclusion}", markup=False, style="bold red")
            raise typer.Exit(code=1)
