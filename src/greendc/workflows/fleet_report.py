"""The fleet's ESG report: one inventory of every site's simulated year, rendered as ``greendc report`` does."""

from __future__ import annotations

from pathlib import Path

from greendc.carbon.errors import InventoryError
from greendc.carbon.factors import shipped_table
from greendc.carbon.inventory import Electricity, Inventory, LoadedInventory, Organization, Site, check_inventory
from greendc.carbon.runs import read_run_summary
from greendc.report.render import build_report
from greendc.workflows.fleet import Fleet


def _reporting_year(fleet: Fleet, summaries: dict[str, Path]) -> int:
    """The fleet file's year, else the latest year with a grid-average factor for every site's region."""
    if fleet.spec.reporting_year is not None:
        return fleet.spec.reporting_year
    table = shipped_table()
    latest = []
    for path in summaries.values():
        run = read_run_summary(path)
        region = table.region(run.grid_region, file=run.path, field="grid_region")
        years = table.years(region.code, "grid_average")
        if not years:
            raise InventoryError(run.path, "grid_region", f"no grid_average factor shipped for {region.code!r}")
        latest.append(years[-1])
    return min(latest)


def fleet_inventory(fleet: Fleet, summaries: dict[str, Path], base_dir: Path) -> LoadedInventory:
    """One inventory of the fleet: per site its simulated year's electricity (``summaries``: site name ->
    ``summary.json``) with the fleet file's grid region and instruments; modelled, not metered."""
    year = _reporting_year(fleet, summaries)
    sites = []
    for member in fleet.members:
        details = member.inventory
        sites.append(Site(
            name=member.site.name, grid_region=details.grid_region, country=details.country,
            electricity=Electricity(from_run=str(summaries[member.site.name])), instruments=details.instruments,
            installed_it_power_kw=member.site.it_design_power_w / 1000.0,
            floor_area_m2=sum(zone.floor_area_m2 for zone in member.site.zones)))
    notes = [f"Electricity and IT energy of every site come from greendc simulations ({fleet.report_controller} "
             f"control, typical meteorological years) reported as {year} with that year's factors; they are "
             "modelled, not metered."]
    model = Inventory(organization=Organization(name=fleet.spec.organization or fleet.spec.name), reporting_year=year,
                      sites=sites, notes=notes)
    check_inventory(model, file=fleet.path)
    return LoadedInventory(model=model, path=fleet.path, base_dir=base_dir)


def build_fleet_report(fleet: Fleet, summaries: dict[str, Path], out_dir: Path) -> Path:
    """Write the fleet's report (``report.html``, ``report.pdf``, ``figures.json``, ``tables/``) to ``out_dir``."""
    return build_report(fleet_inventory(fleet, summaries, out_dir.parent), out_dir, overwrite=True)
