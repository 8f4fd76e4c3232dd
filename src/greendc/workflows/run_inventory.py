"""Run to inventory: a greendc run's ``summary.json`` as a one-site carbon inventory.

``greendc carbon`` and ``greendc report`` accept a run's summary (or its folder) wherever they accept an
inventory YAML; the demo reports its ai year this way.
"""

from __future__ import annotations

from pathlib import Path

from greendc.carbon.errors import InventoryError
from greendc.carbon.factors import shipped_table
from greendc.carbon.inventory import (
    BenchSaving,
    Electricity,
    Inventory,
    LoadedInventory,
    Organization,
    Saving,
    Site,
    check_inventory,
)
from greendc.carbon.runs import read_run_summary
from greendc.report.render import load_inventory_source


def inventory_from_run(
    summary: str | Path,
    *,
    organization: str | None = None,
    reporting_year: int | None = None,
    bench: BenchSaving | None = None,
) -> LoadedInventory:
    """A one-site inventory for a greendc run (``summary.json`` or its folder), e.g. for ``greendc demo``.

    Without ``reporting_year`` the latest year with a grid-average factor for the run's grid region is
    used, and the report says that a simulated typical year is reported as that year. The installed IT
    power and the IT halls' floor area are the site file's, as the run's ``model.epJSON`` holds them (a run
    folder without its model, such as a hand-made summary, leaves them out).
    """
    path = Path(summary).resolve()
    run = read_run_summary(path)
    table = shipped_table()
    region = table.region(run.grid_region, file=run.path, field="grid_region")
    if reporting_year is None:
        years = table.years(region.code, "grid_average")
        if not years:
            raise InventoryError(run.path, "grid_region", f"no grid_average factor shipped for {region.code!r}")
        reporting_year = years[-1]
    savings = []
    if bench is not None:
        savings.append(
            Saving(
                name=f"{bench.improved_controller} control vs {bench.baseline_controller} ({bench.climate})",
                site=run.site,
                from_bench=bench.model_copy(update={"path": str(Path(bench.path).resolve())}),
                verification="greendc benchmark of the EnergyPlus twin (simulated, not metered)",
            )
        )
    notes = [
        f"Electricity, IT energy and water of {run.site} come from a greendc simulation of a typical "
        f"meteorological year ({run.weather or 'weather not recorded'}), reported as {reporting_year} "
        f"with that year's factors; they are modelled, not metered."
    ]
    design = run.design
    if design is not None:
        notes.append(
            f"Installed IT power ({design.installed_it_power_kw:,.1f} kW) and floor area "
            f"({design.it_floor_area_m2:,.1f} m2, the IT halls) are the design values of the simulated site."
        )
    site = Site(
        name=run.site,
        electricity=Electricity(from_run=str(run.path)),
        installed_it_power_kw=design.installed_it_power_kw if design is not None else None,
        floor_area_m2=design.it_floor_area_m2 if design is not None else None,
    )
    model = Inventory(
        organization=Organization(name=organization or run.site),
        reporting_year=reporting_year,
        sites=[site],
        verified_savings=savings,
        notes=notes,
    )
    check_inventory(model, file=run.path)
    return LoadedInventory(model=model, path=run.path, base_dir=run.path.parent)


def load_source(source: str | Path | Inventory | LoadedInventory) -> LoadedInventory:
    """An inventory YAML, a run's summary.json (or run folder), or an inventory already in memory."""
    if isinstance(source, str | Path) and (Path(source).is_dir() or Path(source).suffix.lower() == ".json"):
        return inventory_from_run(source)
    return load_inventory_source(source)
