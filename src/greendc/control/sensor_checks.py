"""Is a reading believable? Physical plausibility of rack-inlet and outdoor sensors, checked every step.

A controller that trusts a wrong reading does the wrong thing with full confidence: an inlet that reads
10 K low switches off the over-limit guard, a one-step +15 K spike sends the supply air to its floor. Before
greendc's ai trusts an inlet it checks it against physics and against its neighbours:

- it cannot be colder than the supply air feeding it (servers draw cold-aisle air, which is supply air
  mixed with some recirculated exhaust, so never colder; the supply air of the previous step counts too,
  since air takes a step to reach the racks), less a sensor tolerance;
- it cannot be hotter than the zone air around it (the room holds the servers' exhaust, which is warmer
  than what they draw), plus a tolerance;
- it cannot move faster than the plant can move it, unless the zone air moves with it (a second sensor
  agrees); the allowance grows with every step since the last trusted reading, so that a real change is
  believed again once the plant could have made it;
- it must agree with the facility model's prediction within a wide band (a drifted plant moves a few
  kelvin, a broken sensor more).

Outdoor air: the wet bulb cannot exceed the dry bulb, and dry bulb, relative humidity and wet bulb must
agree psychrometrically (Stull 2011) within a tolerance that allows for site pressure, so that one stale or
stuck reading among the three is noticed. Stuck readings (no change for many steps) are the ai's own check.

Tolerances are chosen from the twin's own telemetry: over a July week under the ai and trim-respond, an
inlet read 0.43-1.03 K above the previous step's supply air, 4.0-9.8 K below its zone air, and moved by at
most 2.5 K in a step (bench/README.md, "Issue 16").
"""

from __future__ import annotations

from dataclasses import dataclass

from greendc.site.weather import stull_wet_bulb_c
from greendc.telemetry.contract import is_missing

#: How far an inlet may read below the coldest supply air of this and the previous step, K.
BELOW_SUPPLY_TOLERANCE_K = 1.0
#: How far an inlet may read above its zone's air temperature, K.
ABOVE_ZONE_AIR_TOLERANCE_K = 1.0
#: The largest change of an inlet the plant can make in one step without the zone air following, K.
MAX_INLET_CHANGE_PER_STEP_K = 3.0
#: How far an inlet may read from the model's prediction (after the drift monitor's bias), K; at least.
MAX_PREDICTION_GAP_K = 4.0
#: ... and in the prediction's standard deviations, whichever is wider.
MAX_PREDICTION_GAP_SIGMA = 8.0
#: How far the reported outdoor wet bulb may differ from the one dry bulb and relative humidity give, K.
#: Stull's fit is within 0.3 K at sea level; at 1,800 m (Golden) the true wet bulb is up to about 1.5 K lower.
OUTDOOR_WET_BULB_TOLERANCE_K = 2.5


def inlet_problem(inlet_c: float, supply_air_c: float, previous_supply_air_c: float | None,
                  zone_air_c: float, predicted_c: float | None = None, predicted_std_c: float = 0.0) -> str:
    """Why an inlet reading is physically implausible ("" when it is plausible); all temperatures in C.

    Missing neighbours (supply air, zone air, prediction) leave their check out rather than condemning the
    inlet: a reading is judged only by the evidence there is.
    """
    coldest_supply_c = supply_air_c
    if previous_supply_air_c is not None and not is_missing(previous_supply_air_c):
        coldest_supply_c = previous_supply_air_c if is_missing(supply_air_c) else min(supply_air_c,
                                                                                      previous_supply_air_c)
    if not is_missing(coldest_supply_c) and inlet_c < coldest_supply_c - BELOW_SUPPLY_TOLERANCE_K:
        return f"reads {inlet_c:.1f} C, colder than the {coldest_supply_c:.1f} C supply air it receives"
    if not is_missing(zone_air_c) and inlet_c > zone_air_c + ABOVE_ZONE_AIR_TOLERANCE_K:
        return f"reads {inlet_c:.1f} C, hotter than its zone's air ({zone_air_c:.1f} C)"
    if predicted_c is not None and not is_missing(predicted_c):
        allowed_k = max(MAX_PREDICTION_GAP_K, MAX_PREDICTION_GAP_SIGMA * predicted_std_c)
        if abs(inlet_c - predicted_c) > allowed_k:
            return f"reads {inlet_c:.1f} C, {inlet_c - predicted_c:+.1f} K from the model's {predicted_c:.1f} C"
    return ""


def outdoor_problem(dry_bulb_c: float, wet_bulb_c: float, relative_humidity_pct: float) -> str:
    """Why three outdoor readings cannot all be true at once ("" when they can)."""
    if wet_bulb_c > dry_bulb_c + 0.5:
        return f"outdoor wet bulb {wet_bulb_c:.1f} C above the dry bulb {dry_bulb_c:.1f} C"
    expected_c = stull_wet_bulb_c(dry_bulb_c, relative_humidity_pct)
    if abs(expected_c - wet_bulb_c) > OUTDOOR_WET_BULB_TOLERANCE_K:
        return (f"outdoor dry bulb {dry_bulb_c:.1f} C and relative humidity {relative_humidity_pct:.0f} % give a "
                f"wet bulb of {expected_c:.1f} C, the sensor reads {wet_bulb_c:.1f} C (stale or faulty)")
    return ""


@dataclass
class InletTrust:
    """One zone's inlet sensor as the ai trusts it: the last reading it believed, and when.

    :meth:`check` judges a reading against physics (:func:`inlet_problem`) and against the last trusted one:
    a jump larger than :data:`MAX_INLET_CHANGE_PER_STEP_K` per step since then is believed only when the
    zone air or the supply air moved at least half as far the same way (a second sensor agrees).
    """

    last_inlet_c: float | None = None
    last_zone_air_c: float | None = None
    last_supply_air_c: float | None = None
    steps_since_trusted: int = 0
    previous_supply_air_c: float | None = None

    def check(self, inlet_c: float | None, supply_air_c: float, zone_air_c: float,
              predicted_c: float | None = None, predicted_std_c: float = 0.0) -> str:
        """"" when the reading is trusted (and remembered), else why not; None/NaN is "missing"."""
        previous_supply_c, self.previous_supply_air_c = self.previous_supply_air_c, supply_air_c
        self.steps_since_trusted += 1
        if is_missing(inlet_c):
            return "missing"
        problem = inlet_problem(inlet_c, supply_air_c, previous_supply_c, zone_air_c, predicted_c, predicted_std_c)
        if not problem and self.last_inlet_c is not None:
            change_k = inlet_c - self.last_inlet_c
            allowed_k = MAX_INLET_CHANGE_PER_STEP_K * self.steps_since_trusted
            if abs(change_k) > allowed_k:
                # Either neighbour may vouch for it: the zone air around it, or the supply air feeding it (of
                # this step or the previous one, which the racks see now).
                vouching_k = [_change(zone_air_c, self.last_zone_air_c), _change(supply_air_c, self.last_supply_air_c),
                              _change(previous_supply_c, self.last_supply_air_c)]
                if not any(k * change_k > 0 and abs(k) >= abs(change_k) / 2 for k in vouching_k):
                    problem = (f"jumped {change_k:+.1f} K in {self.steps_since_trusted} step(s) while its zone's "
                               f"air moved {vouching_k[0]:+.1f} K and its supply air {vouching_k[1]:+.1f} K")
        if problem:
            return problem
        self.last_inlet_c, self.last_zone_air_c, self.steps_since_trusted = inlet_c, zone_air_c, 0
        self.last_supply_air_c = supply_air_c
        return ""


def _change(now: float | None, before: float | None) -> float:
    """How much a reading moved, K (0 when either reading is missing)."""
    if now is None or before is None or is_missing(now) or is_missing(before):
        return 0.0
    return now - before
