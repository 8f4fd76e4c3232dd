"""The ai's setpoint search, compiled: candidate rows, their predicted outcomes, and the choice.

One call per decision (:func:`search_setpoints`) does what :class:`~greendc.control.ai.AIController`'s
search needs: the baseline rule's row and the model's spread there, phase 1 (one common supply-air step for
every zone with each zone-rise and chilled-water option), phase 2 (each zone's supply air alone around the
phase-1 choice), and the spread at the chosen row. The mean models' splits on the state are resolved once
(``trees.resolve``), and each phase walks every tree once for all its rows (``trees.walk_together``).
Written with numpy, the same search made about forty small array calls per decision, which inside an
EnergyPlus run (every decision starting with cold caches) cost more than the trees themselves; compiled
(numba, like the trees), it is one call (bench/README.md, section 5).

Every number is computed with the same operations in the same order as the numpy version had, so the
decisions are the same to the last bit (bench/README.md, section 5).

Arrays in, by name:

- ``columns``: (supply-air setpoint columns (zones,), zone cooling setpoint columns (zones,), chilled-water
  setpoint column or -1 without a plant);
- ``bounds_c``: the site's setpoint bounds, C, as ``numpy.array(site.setpoints)``: a row per setpoint
  (:data:`SUPPLY_AIR`, :data:`ZONE_COOLING`, :data:`CHILLED_WATER`), its :data:`MIN` and :data:`MAX`;
- ``means`` and ``quantiles``: ``TreeEnsemble.arrays`` of the facility model's mean models (cooling power,
  IT power, each zone's inlet) and quantile models (each zone's 10 % and 90 % inlet).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from greendc.learning.facility_model import inlet_std_from_quantiles_c
from greendc.learning.trees import compiled, resolve, walk, walk_together
from greendc.site.schema import Bounds, Setpoints

#: Rows and columns of ``bounds_c``. Literal numbers, as numba compiles them into the cached code; checked
#: against the bounds' own fields here, since the cache would not notice a change there.
SUPPLY_AIR, ZONE_COOLING, CHILLED_WATER = 0, 1, 2
MIN, MAX = 0, 1
if (Setpoints._fields, Bounds._fields) != (("supply_air_c", "zone_cooling_c", "chilled_water_c"), ("min", "max")):
    raise ImportError("greendc.control.search reads the setpoint bounds in an order they no longer have")

#: Rows whose humid-air shortfall is within this of the smallest any safe row reaches count as closest, K.
HUMID_FLOOR_TOLERANCE_K = 0.1
@compiled
def candidate_rows(state: np.ndarray, supply_c: np.ndarray, rise_k: np.ndarray, water_c: np.ndarray,
                   columns: tuple[Any, ...], bounds_c: np.ndarray) -> np.ndarray:
    """Model input rows: ``state`` with each row's setpoints, clipped to the bounds.

    ``supply_c`` and ``rise_k`` are (rows, zones): a zone's cooling setpoint is its clipped supply air plus its
    rise. ``water_c`` is (rows,), ignored without a plant.
    """
    supply_columns, cooling_columns, water_column = columns
    rows = supply_c.shape[0]
    matrix = np.empty((rows, len(state)))
    for row in range(rows):
        matrix[row] = state
        for zone in range(len(supply_columns)):
            supply = min(max(supply_c[row, zone], bounds_c[SUPPLY_AIR, MIN]), bounds_c[SUPPLY_AIR, MAX])
            matrix[row, supply_columns[zone]] = supply
            matrix[row, cooling_columns[zone]] = min(max(supply + rise_k[row, zone], bounds_c[ZONE_COOLING, MIN]),
                                                     bounds_c[ZONE_COOLING, MAX])
        if water_column >= 0:
            matrix[row, water_column] = min(max(water_c[row], bounds_c[CHILLED_WATER, MIN]),
                                            bounds_c[CHILLED_WATER, MAX])
    return matrix


@compiled
def cheapest_row(objective_w: np.ndarray, allowed: np.ndarray) -> int:
    """Index of the first row with the lowest objective among the allowed ones (-1 when none is)."""
    best = -1
    for row in range(len(objective_w)):
        if allowed[row] and (best < 0 or objective_w[row] < objective_w[best]):
            best = row
    return best


@compiled
def evaluate_rows(matrix: np.ndarray, means: tuple[Any, ...], spread_c: np.ndarray, humid_below_c: np.ndarray,
                  k_sigma: float, highest_c: float, lowest_c: float,
                  cooling_only: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Predicted means, objective (W) and feasibility of candidate rows, and whether humidity mattered.

    ``means`` may be the whole mean models or their part that the rows can reach (``trees.resolve``).
    Returns the raw mean predictions (targets, rows), the objective (cooling power, or cooling plus IT
    power), and for each row whether every zone's inlet plus ``k_sigma`` times its spread (``spread_c``,
    zones) is at most ``highest_c`` and every inlet at least ``lowest_c``. With a humid-air floor per zone
    (``humid_below_c``; empty for none) only the feasible rows within 0.1 K of the floor stay feasible, or,
    when no feasible row reaches it, those within 0.1 K of the closest one; the flag says that this ruled
    out the cheapest row that meets the temperature limits.
    """
    rows, zones = matrix.shape[0], len(spread_c)
    values = np.zeros((2 + zones, rows))
    walk_together(matrix, means, values)
    objective = values[0].copy() if cooling_only else values[0] + values[1]
    feasible = np.empty(rows, dtype=np.bool_)
    for row in range(rows):
        safe = True
        for zone in range(zones):
            inlet = values[2 + zone, row]
            if not (inlet + k_sigma * spread_c[zone] <= highest_c and inlet >= lowest_c):
                safe = False
        feasible[row] = safe
    if len(humid_below_c) == 0 or not feasible.any():
        return values, objective, feasible, False
    # How far the coolest zone's inlet stays below its floor (K; 0 or less: the air is dry enough).
    shortfall = np.empty(rows)
    for row in range(rows):
        shortfall[row] = humid_below_c[0] - values[2, row]
        for zone in range(1, zones):
            shortfall[row] = max(shortfall[row], humid_below_c[zone] - values[2 + zone, row])
    closest_any = shortfall[feasible].min()
    # Within a tenth of a kelvin of the floor or, when no safe row gets there in one rate-limited step, of
    # the closest any safe row comes: the next steps keep closing the gap.
    closest = shortfall <= max(closest_any, 0.0) + HUMID_FLOOR_TOLERANCE_K
    humidity_mattered = not closest[cheapest_row(objective, feasible)]
    return values, objective, feasible & closest, humidity_mattered


@compiled
def _outcome(values: np.ndarray, objective: np.ndarray, row: int, out: np.ndarray) -> None:
    """One row's predicted cooling power, IT power, objective (W) and each zone's inlet (C), in that order."""
    out[0], out[1], out[2] = values[0, row], values[1, row], objective[row]
    out[3:] = values[2:, row]


@compiled
def search_setpoints(state: np.ndarray, setpoints_c: np.ndarray, steps_k: np.ndarray, grid_k: np.ndarray,
                     columns: tuple[Any, ...], bounds_c: np.ndarray,
                     means: tuple[Any, ...], quantiles: tuple[Any, ...], spread_floor_c: np.ndarray,
                     humid_below_c: np.ndarray, k_sigma: float, highest_c: float, lowest_c: float,
                     cooling_only: bool) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool, int]:
    """The lowest-objective safe setpoints near the current ones.

    ``state`` is a row of model inputs with the state filled in. ``setpoints_c`` holds each zone's current
    supply-air setpoint, the baseline rule's supply-air and then zone cooling setpoint of each zone, its
    chilled-water setpoint (ignored without a plant) and the current chilled-water setpoint, C. ``grid_k``
    holds phase 1's offsets (supply-air step, zone rise, chilled-water step) per row, ``steps_k`` the
    supply-air steps of phase 2. The baseline rule's row
    is always a candidate, so the search never does worse than the rule by its own prediction.

    Returns whether a safe row was found; the chosen row; the predicted outcome (see :func:`_outcome`) of
    the chosen row and of the baseline's, shape (2, 3 + zones); each zone's inlet spread at the baseline's
    row (used for every candidate: it varies little over one rate-limited step) and at the chosen row, K;
    whether humidity ruled out a cheaper safe row; and how many rows were evaluated.
    """
    supply_columns, cooling_columns, water_column = columns
    zones = len(supply_columns)
    current_supply_c = setpoints_c[:zones]
    baseline_supply_c, baseline_cooling_c = setpoints_c[zones:2 * zones], setpoints_c[2 * zones:3 * zones]
    baseline_water_c, water_now_c = setpoints_c[3 * zones], setpoints_c[3 * zones + 1]
    baseline = candidate_rows(state, baseline_supply_c.reshape(1, zones),
                              (baseline_cooling_c - baseline_supply_c).reshape(1, zones), np.full(1, baseline_water_c),
                              columns, bounds_c)[0]
    # Every candidate shares the state (the columns that are no setpoint), so the mean models' splits on it
    # are resolved once for both phases (not worth it for the quantile models, which see two rows).
    shared = np.ones(len(state), dtype=np.bool_)
    shared[supply_columns] = False
    shared[cooling_columns] = False
    if water_column >= 0:
        shared[water_column] = False
    means = resolve(means, state, shared)
    spread = _spread(baseline, quantiles, spread_floor_c)
    phase_one = grid_k.shape[0]
    supply = np.empty((phase_one, zones))
    rise = np.empty((phase_one, zones))
    for row in range(phase_one):
        supply[row] = current_supply_c + grid_k[row, 0]
        rise[row] = grid_k[row, 1]
    matrix = np.empty((phase_one + 1, len(state)))
    matrix[:phase_one] = candidate_rows(state, supply, rise, water_now_c + grid_k[:, 2], columns, bounds_c)
    matrix[phase_one] = baseline
    values, objective, feasible, humidity_mattered = evaluate_rows(matrix, means, spread, humid_below_c, k_sigma,
                                                                   highest_c, lowest_c, cooling_only)
    outcomes = np.empty((2, 3 + zones))
    _outcome(values, objective, phase_one, outcomes[1])
    candidates = len(matrix)
    best = cheapest_row(objective, feasible)
    if best < 0:
        return False, baseline, outcomes, spread, spread, humidity_mattered, candidates
    chosen = matrix[best].copy()
    _outcome(values, objective, best, outcomes[0])
    if zones > 1:
        # Phase 2: the phase-1 choice, then each zone's supply air alone at every step (its rise kept).
        steps = len(steps_k)
        refined = np.empty((1 + zones * steps, len(state)))
        refined[:] = chosen
        for zone in range(zones):
            supply_column, cooling_column = supply_columns[zone], cooling_columns[zone]
            rise_now = chosen[cooling_column] - chosen[supply_column]
            for step in range(steps):
                row = 1 + zone * steps + step
                supply_c = current_supply_c[zone] + steps_k[step]
                refined[row, supply_column] = supply_c
                refined[row, cooling_column] = supply_c + rise_now
        for row in range(len(refined)):
            for zone in range(zones):
                refined[row, supply_columns[zone]] = min(max(refined[row, supply_columns[zone]],
                                                             bounds_c[SUPPLY_AIR, MIN]), bounds_c[SUPPLY_AIR, MAX])
                refined[row, cooling_columns[zone]] = min(max(refined[row, cooling_columns[zone]],
                                                              bounds_c[ZONE_COOLING, MIN]), bounds_c[ZONE_COOLING, MAX])
        values, objective, feasible, refined_humidity = evaluate_rows(
            refined, means, spread, humid_below_c, k_sigma, highest_c, lowest_c, cooling_only)
        candidates += len(refined)
        humidity_mattered = humidity_mattered or refined_humidity
        best = cheapest_row(objective, feasible)
        if best >= 0:
            chosen = refined[best].copy()
            _outcome(values, objective, best, outcomes[0])
    return True, chosen, outcomes, spread, _spread(chosen, quantiles, spread_floor_c), humidity_mattered, candidates


@compiled
def _spread(row: np.ndarray, quantiles: tuple[Any, ...], calibration_c: np.ndarray) -> np.ndarray:
    """Each zone's predicted inlet standard deviation at one row, K; ``calibration_c`` is the (2, zones) floors
    and scales of ``FacilityModel.inlet_std_calibration`` (what ``spread_floor_c`` carries)."""
    raw = np.zeros((2 * calibration_c.shape[1], 1))
    walk(row.reshape(1, len(row)), quantiles, raw)
    return inlet_std_from_quantiles_c(raw, calibration_c)[:, 0]
