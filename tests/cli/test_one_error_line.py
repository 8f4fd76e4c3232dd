"""The command line catches greendc's errors in one place: one line, exit 2; a bug is one line too, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from greendc.cli.main import app
from greendc.errors import GreendcError

runner = CliRunner()


class _SomeUserError(GreendcError):
    pass


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_any_greendc_error_is_one_red_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fail(*args, **kwargs):
        raise _SomeUserError("site.yaml: zones[0].name: [bold]not[/bold] a name")

    monkeypatch.setattr("greendc.telemetry.schema.load_telemetry", fail)
    result = runner.invoke(app, ["train", str(tmp_path)])
    assert result.exit_code == 2
    # Rich markup in a user's input is printed as written, not interpreted.
    assert _lines(result.output) == ["error: site.yaml: zones[0].name: [bold]not[/bold] a name"]


def test_a_bug_is_one_line_naming_it_and_exit_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def crash(*args, **kwargs):
        raise KeyError("x" * 5000)

    monkeypatch.setattr("greendc.telemetry.schema.load_telemetry", crash)
    result = runner.invoke(app, ["train", str(tmp_path)])
    assert result.exit_code == 1
    [line] = _lines(result.output)
    assert line.startswith("internal error (a bug in greendc, please report it): KeyError:") and len(line) < 400
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fail(*args, **kwargs):
        raise _SomeUserError("bad")

    monkeypatch.setattr("greendc.telemetry.schema.load_telemetry", fail)
    result = runner.invoke(app, ["--debug", "train", str(tmp_path)])
    assert isinstance(result.exception, _SomeUserError)


@pytest.mark.parametrize("command", [["explore", "SITE", "--out"], ["demo", "--out"]])
def test_explore_and_demo_refuse_a_folder_of_user_files_before_any_run(command: list[str], short_site_file: Path,
                                                                       tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    args = [str(short_site_file) if part == "SITE" else part for part in command] + [str(mine)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "files greendc did not write" in result.output
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "keep me"
