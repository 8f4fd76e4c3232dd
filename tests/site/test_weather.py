import numpy as np
import pytest

from greendc.site.weather import _saturation_vapour_pressure_pa, dry_bulb_at_relative_humidity_c


@pytest.mark.parametrize("dew_point_c", [-5.0, 5.0, 14.0, 15.0, 20.0])
@pytest.mark.parametrize("relative_humidity_pct", [40.0, 60.0, 70.0])
def test_dry_bulb_at_relative_humidity_inverts_the_saturation_pressure(dew_point_c: float,
                                                                       relative_humidity_pct: float) -> None:
    dry_bulb_c = dry_bulb_at_relative_humidity_c(dew_point_c, relative_humidity_pct)
    assert dry_bulb_c > dew_point_c
    ratio = _saturation_vapour_pressure_pa(np.array(dew_point_c)) / _saturation_vapour_pressure_pa(np.array(dry_bulb_c))
    assert 100.0 * float(ratio) == pytest.approx(relative_humidity_pct, abs=1e-9)


def test_the_ashrae_recommended_envelope_corner() -> None:
    # ASHRAE TC 9.9: the 15 C dew point and 60 % relative humidity limits meet at about 23.2 C dry bulb.
    assert dry_bulb_at_relative_humidity_c(15.0, 60.0) == pytest.approx(23.2, abs=0.1)


@pytest.mark.parametrize("relative_humidity_pct", [0.0, -5.0, 100.5])
def test_relative_humidity_outside_0_to_100_is_refused(relative_humidity_pct: float) -> None:
    with pytest.raises(ValueError, match="relative humidity must be above 0 and at most 100 %"):
        dry_bulb_at_relative_humidity_c(10.0, relative_humidity_pct)
