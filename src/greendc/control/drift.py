"""Model drift: does the facility model still describe the plant it controls?

After every decision the ai compares what the model predicted for the setpoints it applied (each zone's
inlet, the cooling power) with what was measured once those setpoints took effect. Two exponentially
weighted moving averages (EWMA; Roberts 1959, "Control chart tests based on geometric moving averages",
Technometrics 1(3); Montgomery, *Introduction to Statistical Quality Control*, 8th ed., section 9.2) follow
the residuals:

- the **bias** of each target (measured minus predicted, in its unit), which the ai adds to its safety
  margin: a plant that runs 2 K warmer than the model learned keeps being controlled, 2 K further from the
  limit;
- the **standardized surprise**: the residual *left after that bias*, divided by the prediction's standard
  deviation. A plant that changes faster than the bias follows makes it large; past ``alarm_above`` the ai
  hands control to its fallback (guard ``model-drift``) and takes it back only when it has fallen below
  ``clear_below`` (hysteresis, so that it does not flap).

A rack-inlet sensor is rarely better than a few tenths of a kelvin, while the model's held-out error on its
own plant can be a few hundredths: the surprise divides by at least ``min_inlet_std_c``, so that sensor noise
is not mistaken for drift. Cooling power is heavy-tailed (a chiller or an evaporative stage switching on
moves it by 10-16 kW for a step on the example site, against a held-out RMSE of about 1 kW): each standardized
residual is clipped to ``clip_sigma`` before it enters the surprise (a winsorized EWMA), so that one switching
event cannot trip the alarm while a sustained change still does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from greendc.telemetry.sensors import ZONE

INLET = ZONE.inlet_temp_c.column


@dataclass
class DriftMonitor:
    """EWMA drift statistics of the facility model's residuals (see the module docstring).

    Parameters
    ----------
    bias_smoothing : weight of the newest residual in each target's bias EWMA (0.1: about ten decisions)
    surprise_smoothing : weight of the newest standardized residual in the surprise EWMA
    alarm_above : the surprise (in standard deviations) past which the model counts as drifted
    clear_below : the surprise below which a drifted model is trusted again
    min_inlet_std_c : smallest inlet standard deviation the surprise divides by, K
    clip_sigma : largest standardized residual one comparison may add to the surprise
    """

    bias_smoothing: float = 0.1
    surprise_smoothing: float = 0.2
    alarm_above: float = 3.0
    clear_below: float = 1.0
    min_inlet_std_c: float = 0.3
    clip_sigma: float = 5.0
    bias_: dict[str, float] = field(default_factory=dict, init=False)
    surprise_: dict[str, float] = field(default_factory=dict, init=False)
    drifting_: bool = field(default=False, init=False)
    comparisons_: int = field(default=0, init=False)

    def reset(self) -> DriftMonitor:
        self.bias_, self.surprise_, self.drifting_, self.comparisons_ = {}, {}, False, 0
        return self

    def update(self, target: str, measured: float, predicted: float, std: float) -> float:
        """Take one comparison of a target; return its residual (measured - predicted).

        Inlet targets (the registry's inlet column of a zone) divide by at least ``min_inlet_std_c``.
        """
        residual = measured - predicted
        if not math.isfinite(residual) or not math.isfinite(std):
            return math.nan
        if target.endswith(INLET):
            std = max(std, self.min_inlet_std_c)
        bias = self.bias_.get(target, 0.0)
        surprise = (residual - bias) / std if std > 0 else 0.0
        surprise = min(max(surprise, -self.clip_sigma), self.clip_sigma)
        previous = self.surprise_.get(target, 0.0)
        self.surprise_[target] = previous + self.surprise_smoothing * (surprise - previous)
        self.bias_[target] = bias + self.bias_smoothing * (residual - bias)
        self.comparisons_ += 1
        return residual

    def decide(self) -> bool:
        """Whether the model counts as drifted now (with hysteresis); call once per decision."""
        statistic = self.statistic
        if self.drifting_ and statistic < self.clear_below:
            self.drifting_ = False
        elif not self.drifting_ and statistic > self.alarm_above:
            self.drifting_ = True
        return self.drifting_

    @property
    def statistic(self) -> float:
        """The largest absolute surprise EWMA over the targets, in standard deviations."""
        return max((abs(value) for value in self.surprise_.values()), default=0.0)

    def warm_bias_k(self, targets: list[str]) -> float:
        """How much warmer than predicted the warmest of these (inlet) targets runs, K (0 when none runs warm)."""
        return max([0.0, *[self.bias_.get(target, 0.0) for target in targets]])
