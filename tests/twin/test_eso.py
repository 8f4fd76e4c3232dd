from pathlib import Path

import pytest

from greendc.twin.eso import EsoError, read_timestep_variables

HEADER = """Program Version,EnergyPlus, Version 25.2.0
1,5,Environment Title[],Latitude[deg],Longitude[deg],Time Zone[],Elevation[m]
2,8,Day of Simulation[],Month[],Day of Month[],DST Indicator[1=yes 0=no],Hour[],StartMinute[],EndMinute[],DayType
7,1,Environment,Site Outdoor Air Drybulb Temperature [C] !TimeStep
8,1,WEST HALL SUPPLY FAN,Fan Electricity Rate [W] !TimeStep
End of Data Dictionary
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "eplusout.eso"
    path.write_text(HEADER + body + "End of Data\n Number of Records Written=        4\n")
    return path


VARIABLES = {"outdoor_dry_bulb_c": ("Environment", "Site Outdoor Air Drybulb Temperature"),
             "West Hall/supply_fan_power_w": ("West Hall Supply Fan", "Fan Electricity Rate")}


def test_reads_the_last_environment_by_key_and_name(tmp_path: Path) -> None:
    design_day = "1,SUMMER DESIGN DAY,  41.98, -87.92,  -6.00, 201.00\n2,1, 7,21, 0, 1, 0.00,15.00,SummerDesignDay\n" \
                 "7,30.0\n8,999.0\n"
    run = ("1,RUN PERIOD,  41.98, -87.92,  -6.00, 201.00\n"
           "2,1, 7, 1, 0, 1, 0.00,15.00,Sunday\n7,17.15\n8,1234.5\n"
           "2,1, 7, 1, 0, 1,15.00,30.00,Sunday\n7,17.1\n8,1200.25\n")
    output = read_timestep_variables(_write(tmp_path, design_day + run), VARIABLES)
    frame = output.values
    assert list(frame.columns) == list(VARIABLES)
    assert frame["outdoor_dry_bulb_c"].tolist() == [17.15, 17.1]
    assert frame["West Hall/supply_fan_power_w"].tolist() == [1234.5, 1200.25]
    assert (output.first_step, output.last_step) == ((7, 1, 1, 15), (7, 1, 1, 30))


def test_missing_variable_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "1,RUN PERIOD, 0, 0, 0, 0\n2,1, 7, 1, 0, 1, 0.00,15.00,Sunday\n7,17.15\n8,1.0\n")
    with pytest.raises(EsoError, match=r"Zone Air Temperature \[West Hall\] \(West Hall/zone_air_temp_c\)"):
        read_timestep_variables(path, {"West Hall/zone_air_temp_c": ("West Hall", "Zone Air Temperature")})


def test_ragged_output_is_an_error(tmp_path: Path) -> None:
    body = ("1,RUN PERIOD, 0, 0, 0, 0\n2,1, 7, 1, 0, 1, 0.00,15.00,Sunday\n7,17.15\n8,1.0\n"
            "2,1, 7, 1, 0, 1,15.00,30.00,Sunday\n7,17.1\n")
    with pytest.raises(EsoError, match="not all variables report every timestep"):
        read_timestep_variables(_write(tmp_path, body), VARIABLES)


def test_unfinished_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "eplusout.eso"
    path.write_text(HEADER.split("End of Data Dictionary")[0])
    with pytest.raises(EsoError, match="no data dictionary"):
        read_timestep_variables(path, VARIABLES)
