"""A fingerprint of a site's plant: what a facility model learned from, so that reuse elsewhere is noticed.

The fingerprint covers what shapes the physics the model learns: the halls (size, design power, coils), the
servers, the UPS, recirculation and the cooling plant. It leaves out what a model is meant to carry across:
the site's name, its weather and grid region, its IT load profile and run period. The setpoint bounds are
compared on their own (a model reused after they were widened is warned about by name).
"""

from __future__ import annotations

import hashlib
import json

from greendc.site.schema import Site

#: The parts of a site description the fingerprint covers (fields of :class:`~greendc.site.schema.Site`).
PLANT_FIELDS = ("zones", "servers", "ups_efficiency", "recirculation_fraction", "cooling")


def site_fingerprint(site: Site) -> str:
    """SHA-256 (hex, first 16 characters) of the site's plant description in canonical JSON."""
    plant = site.model_dump(mode="json", include=set(PLANT_FIELDS))
    canonical = json.dumps(plant, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def zone_it_design_power_w(site: Site) -> dict[str, float]:
    """Each IT zone's design power, W, by zone name."""
    return {zone.name: zone.it_design_power_w for zone in site.zones}
