"""The compiled search predicts its candidates exactly as the facility model does."""

from __future__ import annotations

import numpy as np
import pytest

from greendc.learning.facility_model import FacilityModel
from greendc.learning.trees import resolve, walk_together
from tests.control.test_ai import CONTEXT, _baseline_row, _controller, _observation

SITUATIONS = [{"supply_c": 21.0}, {"supply_c": 18.0, "inlet_c": 19.0, "outdoor_dry_bulb_c": 5.0},
              {"supply_c": 24.0, "inlet_c": 25.5, "outdoor_dry_bulb_c": 32.0}, {"supply_c": 16.2, "inlet_c": 18.5}]


def _resolved_means(facility_model: FacilityModel, controller: object, state: np.ndarray) -> tuple:
    """The mean models resolved for the state, as the search resolves them (every column but the setpoints)."""
    means, _ = facility_model.ensembles()
    return means, resolve(means.arrays, state, ~np.isnan(state))


@pytest.mark.parametrize("situation", SITUATIONS)
def test_phase_one_rows_walked_together_get_the_models_values(
        facility_model: FacilityModel, situation: dict[str, float]) -> None:
    controller = _controller(facility_model)
    observation = _observation(**situation)
    state = controller._state_vector(observation)
    _, grid = controller._grid
    current = np.array([zone.supply_air_setpoint_c for zone in observation.zones.values()])
    matrix = controller._matrix(state, current[None, :] + grid[:, :1], np.repeat(grid[:, 1:2], 2, axis=1),
                                7.0 + grid[:, 2])
    baseline = matrix[0].copy()
    baseline[np.isnan(state)] += 0.1  # and a baseline row of its own: other setpoints, the same state
    matrix = np.vstack([matrix, baseline])
    assert len(matrix) > 64  # more rows than one word of bits holds
    means, part = _resolved_means(facility_model, controller, state)
    assert (part[7] < 0).any()  # some trees come down to one leaf for every candidate
    values = np.zeros((len(means.targets), len(matrix)))
    walk_together(matrix, part, values)
    np.testing.assert_array_equal(values, means.predict(matrix))


def test_phase_two_rows_walked_together_get_the_models_values(facility_model: FacilityModel) -> None:
    controller = _controller(facility_model)
    state = controller._state_vector(_observation(supply_c=21.0))
    steps, _ = controller._grid
    # The phase-1 choice, then the West Hall's supply air moved alone, then the East Hall's (rise kept).
    supply = np.array([[21.0, 21.5]] + [[21.0 + step, 21.5] for step in steps]
                      + [[21.0, 21.5 + step] for step in steps])
    matrix = controller._matrix(state, supply, np.full_like(supply, 7.0), np.full(len(supply), 7.0))
    means, part = _resolved_means(facility_model, controller, state)
    values = np.zeros((len(means.targets), len(matrix)))
    walk_together(matrix, part, values)
    np.testing.assert_array_equal(values, means.predict(matrix))


@pytest.mark.parametrize("situation", SITUATIONS)
def test_the_searchs_chosen_and_baseline_outcomes_are_the_models_predictions(
        facility_model: FacilityModel, situation: dict[str, float]) -> None:
    controller = _controller(facility_model)
    observation = _observation(**situation)
    baseline = controller._baseline.act(observation)
    search = controller._search(observation, baseline, controller._humid_below_c(observation))
    assert search.found
    baseline_row = _baseline_row(controller, baseline, observation)
    for outcome, row in ((search.outcomes[0], search.chosen_row[None, :]), (search.outcomes[1], baseline_row)):
        prediction = facility_model.predict(row)
        expected = [prediction.cooling_power_w[0], prediction.it_power_w[0], prediction.facility_power_w[0],
                    *[prediction.inlet_temp_c[zone][0] for zone in CONTEXT.zone_names]]
        assert outcome.tolist() == expected
    chosen_std = facility_model.inlet_temp_std_c(search.chosen_row[None, :])
    assert search.chosen_std_c.tolist() == [chosen_std[zone][0] for zone in CONTEXT.zone_names]
