"""The command line never loses a user's files, and Ctrl-C stops a run within about a second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from greendc.cli.main import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_simulate_into_a_folder_with_a_users_files_leaves_them_untouched(short_site_file: Path,
                                                                         tmp_path: Path) -> None:
    work = short_site_file.parent
    (work / "README.md").write_text("my readme")
    (work / "notes").mkdir()
    (work / "notes" / "plan.txt").write_text("my notes")
    before = sorted(p.name for p in work.iterdir())
    result = runner.invoke(app, ["simulate", str(short_site_file), "--out", str(work)])
    assert result.exit_code == 2
    [line] = _error_lines(result.output)
    assert "files greendc did not write" in line and "Traceback" not in result.output
    assert sorted(p.name for p in work.iterdir()) == before
    assert (work / "README.md").read_text() == "my readme" and (work / "notes" / "plan.txt").read_text() == "my notes"


def test_a_second_simulate_to_one_out_needs_overwrite(short_site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert runner.invoke(app, ["simulate", str(short_site_file), "--out", str(out)]).exit_code == 0
    first = (out / "summary.json").read_bytes()
    result = runner.invoke(app, ["simulate", str(short_site_file), "--controller", "trim-respond", "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in _error_lines(result.output)[0]
    assert (out / "summary.json").read_bytes() == first
    result = runner.invoke(app, ["simulate", str(short_site_file), "--controller", "trim-respond", "--out", str(out),
                                 "--overwrite"])
    assert result.exit_code == 0, result.output
    assert (out / "summary.json").read_bytes() != first


def test_report_out_onto_a_file_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    inventory = REPO / "examples" / "inventories" / "tencent-2023.yaml"
    result = runner.invoke(app, ["report", str(inventory), "--out", str(target)])
    assert result.exit_code == 2 and len(_error_lines(result.output)) == 1
    assert target.read_text() == "mine"


def _wait_for_energyplus(scratch: Path, process: subprocess.Popen, limit_s: float = 90.0) -> None:
    """Until EnergyPlus has begun writing its run (sizing and warm-up, where it does not return to Python)."""
    deadline = time.monotonic() + limit_s
    while not list(scratch.glob("greendc-run-*/eplusout.err")):
        assert process.poll() is None, "the run ended before EnergyPlus started"
        assert time.monotonic() < deadline, "EnergyPlus did not start"
        time.sleep(0.05)


def test_ctrl_c_stops_a_run_within_about_a_second(tmp_path: Path) -> None:
    # A year takes only seconds now, so a fixed sleep can outlast the run: signal once EnergyPlus is running.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "greendc", "simulate", str(REPO / "examples" / "sites" /
                                                                   "two-hall-chicago.yaml"), "--out", "run"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    _wait_for_energyplus(scratch, process)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    stopped_s = time.monotonic() - sent
    assert process.returncode == 130
    assert [line for line in stderr.splitlines() if line.strip()] == [
        "stopped (Ctrl-C): nothing was written for the unfinished run"]
    assert stopped_s < 5.0, f"took {stopped_s:.1f} s to stop"
    assert not (tmp_path / "run").exists()
    assert not list(scratch.glob("greendc-run-*")), "the stopped run left its EnergyPlus folder behind"
