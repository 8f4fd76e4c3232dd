from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import example_site_data

from greendc.site.schema import Site
from greendc.twin.environment import DataCenterEnv


@pytest.fixture
def env() -> DataCenterEnv:
    environment = DataCenterEnv(Site.model_validate(example_site_data(end_day=1)))
    yield environment
    environment.close()


def test_spaces_follow_the_site(env: DataCenterEnv) -> None:
    # Two zones with a chiller plant: 2 supply-air + 2 zone setpoints + chilled water.
    assert env.action_space.shape == (5,)
    assert env.action_space.low[0] == 12.0 and env.action_space.high[0] == 26.0
    assert env.observation_space.shape == (5 + 4 * 2 + 2,)


def test_episode_runs_to_the_end_with_reward(env: DataCenterEnv) -> None:
    observation, info = env.reset(seed=1)
    assert env.observation_space.contains(observation)
    steps, terminated, rewards = 0, False, []
    while not terminated:
        observation, reward, terminated, truncated, info = env.step(np.array([22, 22, 30, 30, 8], np.float32))
        rewards.append(reward)
        steps += 1
        assert not truncated
    assert steps == 24 * 4  # the first observation came from reset
    assert all(r < 0 for r in rewards[:-1])
    # Supply air held at 22 C: the servers' inlets sit a little above it.
    assert 22.0 <= info["observation"].zones["West Hall"].inlet_temp_c <= 24.0


def test_reward_penalises_hot_inlets(env: DataCenterEnv) -> None:
    env.reset()
    _, _, _, _, info = env.step(np.array([18, 18, 26, 26, 7], np.float32))
    observation = info["observation"]
    west = observation.zones["West Hall"]
    assert west.inlet_temp_c < 27.0
    hot = west._replace(inlet_temp_c=30.0)
    hotter = observation._replace(zones={**observation.zones, "West Hall": hot})
    # Three kelvin above the 27 C limit at violation weight 1.
    assert env.reward(hotter) == pytest.approx(env.reward(observation) - 3.0)


def test_reset_mid_episode_starts_over(env: DataCenterEnv) -> None:
    env.reset()
    for _ in range(5):
        env.step(env.action_space.sample())
    _, info = env.reset()
    assert (info["observation"].hour, info["observation"].minute) == (0, 15)


def test_an_episode_starts_from_the_sites_design_setpoints() -> None:
    data = example_site_data(end_day=1)
    data["cooling"]["chiller_plant"]["chilled_water_supply_c"] = 9
    data["setpoints"]["supply_air_c"] = {"min": 12, "max": 16}
    environment = DataCenterEnv(Site.model_validate(data))
    # The top of the legacy reset (18 C, here brought within 12-16 C), the legacy zone setpoint, the site's 9 C.
    np.testing.assert_array_equal(environment._initial(), [16.0, 16.0, 23.0, 23.0, 9.0])
