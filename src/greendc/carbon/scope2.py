"""Scope 2 emissions by both methods of the GHG Protocol Scope 2 Guidance (2015).

- Location-based (ch. 6.6): purchased grid electricity x the most specific grid-average factor.
- Market-based (ch. 6.7, Table 6.3): electricity covered by contractual instruments takes the
  instrument's emission rate, in the order of the hierarchy: energy attribute certificates (RECs, GOs,
  I-RECs, China GECs), then direct contracts and PPAs, then supplier-specific rates; what remains takes
  the residual mix, or, where none is published, the grid average as a disclosed last resort.

The Scope 2 Quality Criteria (ch. 7.1) that the inventory's data allow are checked and any failure
is an error: vintage within the reporting period, the same market as the consumption, no instrument
claimed twice, and instruments not exceeding the consumption they cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from greendc.carbon.errors import InventoryError
from greendc.carbon.factors import EmissionFactor
from greendc.carbon.inventory import Instrument

GHG_S2 = "GHG Protocol Scope 2 Guidance (2015)"
HIERARCHY: tuple[str, ...] = ("eac", "ppa", "supplier_specific")
HIERARCHY_LABEL: dict[str, str] = {
    "eac": "energy attribute certificate",
    "ppa": "direct contract / PPA",
    "supplier_specific": "supplier-specific emission rate",
}
RemainderBasis = Literal["residual_mix", "grid_average_last_resort", "user"]
REMAINDER_LABEL: dict[str, str] = {
    "residual_mix": "residual mix",
    "grid_average_last_resort": "grid average (last resort)",
    "user": "factor entered in the inventory",
}
"""What the electricity no instrument covers is counted at, in words for the report."""


def grid_electricity_mwh(electricity_mwh: float, onsite_consumed_mwh: float) -> float:
    """Electricity bought from the grid, MWh: consumption minus on-site generation consumed behind the meter
    (GHG Protocol Scope 2 Guidance, ch. 6: on-site generation consumed is not a Scope 2 purchase)."""
    return electricity_mwh - onsite_consumed_mwh


def location_based_tco2(grid_electricity_mwh: float, factor_tco2_per_mwh: float) -> float:
    """Location-based Scope 2 in tCO2: purchased grid electricity (MWh) x grid-average factor (t/MWh)."""
    return grid_electricity_mwh * factor_tco2_per_mwh


@dataclass(frozen=True)
class Claim:
    """One instrument applied to a site's consumption."""

    id: str
    kind: str
    scheme: str | None
    energy_mwh: float
    rate_tco2_per_mwh: float
    renewable: bool
    generation_start: date
    generation_end: date
    market: str
    certificates: str | None = None
    bundling: str | None = None
    conveys_attributes: bool = True

    @property
    def tco2(self) -> float:
        return self.energy_mwh * self.rate_tco2_per_mwh

    def as_dict(self) -> dict[str, object]:
        """The claim as ``figures.json`` shows it among a market-based figure's inputs."""
        keys = ("id", "kind", "scheme", "energy_mwh", "rate_tco2_per_mwh", "tco2", "renewable")
        return {
            **{key: getattr(self, key) for key in keys},
            "hierarchy": HIERARCHY_LABEL[self.kind],
            "certificates": self.certificates,
            "bundling": self.bundling,
        }


@dataclass(frozen=True)
class QualityCheck:
    criterion: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class MarketBasedResult:
    """Market-based Scope 2 of one site: the claims in hierarchy order and the uncovered remainder."""

    claims: tuple[Claim, ...]
    remaining_mwh: float
    remaining_factor: EmissionFactor
    remaining_basis: RemainderBasis
    checks: tuple[QualityCheck, ...]

    @property
    def covered_mwh(self) -> float:
        return sum(c.energy_mwh for c in self.claims)

    @property
    def tco2(self) -> float:
        return sum(c.tco2 for c in self.claims) + self.remaining_mwh * self.remaining_factor.value_tco2_per_mwh

    @property
    def renewable_mwh(self) -> float:
        return sum(c.energy_mwh for c in self.claims if c.renewable)


def check_instruments(
    instruments: list[Instrument],
    *,
    grid_electricity_mwh: float,
    period: tuple[date, date],
    market: str,
    file: object,
    field: str,
) -> tuple[QualityCheck, ...]:
    """Apply the Scope 2 Quality Criteria the data allow; raise on the first failure."""
    start, end = period
    for index, inst in enumerate(instruments):
        where = f"{field}[{index}]"
        if inst.generation_start < start or inst.generation_end > end:
            raise InventoryError(
                file,
                f"{where}.generation_start",
                f"instrument {inst.id!r} vintage {inst.generation_start}..{inst.generation_end} is outside "
                f"the reporting period {start}..{end}",
            )
        if inst.market.strip().upper() != market.upper():
            raise InventoryError(
                file,
                f"{where}.market",
                f"instrument {inst.id!r} is from market {inst.market!r} but the site consumes in {market!r}",
            )
    covered_mwh = sum(inst.energy.mwh for inst in instruments)
    # A tolerance of a millionth of a MWh absorbs float noise from unit conversion, never a real excess.
    if covered_mwh > grid_electricity_mwh + 1e-6:
        raise InventoryError(
            file,
            field,
            f"instruments cover {covered_mwh:,.3f} MWh but the site bought only "
            f"{grid_electricity_mwh:,.3f} MWh "
            "from the grid",
        )
    if not instruments:
        return ()
    return (
        QualityCheck("vintage within the reporting period", True, f"{len(instruments)} instrument(s), {start}..{end}"),
        QualityCheck("same market as the consumption", True, f"market {market}"),
        QualityCheck("no instrument claimed twice", True, "instrument ids unique across the inventory"),
        QualityCheck(
            "instruments do not exceed consumption",
            True,
            f"{covered_mwh:,.1f} MWh of {grid_electricity_mwh:,.1f} MWh purchased",
        ),
    )


def market_based(
    instruments: list[Instrument],
    *,
    grid_electricity_mwh: float,
    remaining_factor: EmissionFactor,
    remaining_basis: RemainderBasis,
    checks: tuple[QualityCheck, ...] = (),
) -> MarketBasedResult:
    """Market-based Scope 2: instruments in hierarchy order, the remainder at the residual (or last-resort)
    factor.

    A PPA whose certificates were sold or never issued conveys no attributes (Scope 2 Quality Criteria 1-2,
    ch. 7): it stays in the list, at the remainder's rate and not renewable, so the report shows it.
    Assumes ``check_instruments`` has passed, so the instruments do not exceed ``grid_electricity_mwh``.
    """
    ordered = sorted(instruments, key=lambda inst: HIERARCHY.index(inst.kind))
    claims = tuple(
        Claim(
            id=inst.id,
            kind=inst.kind,
            scheme=inst.scheme,
            energy_mwh=inst.energy.mwh,
            rate_tco2_per_mwh=(
                inst.emission_rate_tco2_per_mwh if inst.conveys_attributes else remaining_factor.value_tco2_per_mwh
            ),
            renewable=inst.is_renewable,
            generation_start=inst.generation_start,
            generation_end=inst.generation_end,
            market=inst.market,
            certificates=inst.certificates,
            bundling=inst.bundling,
            conveys_attributes=inst.conveys_attributes,
        )
        for inst in ordered
    )
    remaining = max(grid_electricity_mwh - sum(c.energy_mwh for c in claims), 0.0)
    return MarketBasedResult(
        claims=claims,
        remaining_mwh=remaining,
        remaining_factor=remaining_factor,
        remaining_basis=remaining_basis,
        checks=checks,
    )
