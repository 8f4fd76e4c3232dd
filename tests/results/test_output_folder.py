"""No output folder greendc writes can lose a user's file, and two commands cannot write one folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greendc.errors import GreendcError
from greendc.results.store import (
    RESULT_MARKER,
    OutputFolderError,
    check_output_folder,
    claim_output_folder,
    write_result_folder,
)


def _fill(text: str):
    return lambda folder: (folder / "summary.json").write_text(text)


def test_a_new_or_empty_folder_is_written_with_its_marker(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for name in ("new", "empty"):
        written = write_result_folder(tmp_path / name, _fill("{}"), "simulation")
        marker = json.loads((written / RESULT_MARKER).read_text())
        assert marker["kind"] == "simulation" and marker["entries"] == ["summary.json"]


def test_a_folder_with_a_users_files_is_refused_and_left_untouched(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text("name: mine")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(OutputFolderError, match="files greendc did not write"):
            write_result_folder(tmp_path, _fill("{}"), "simulation", overwrite=overwrite)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "site.yaml"]
    assert (tmp_path / "notes" / "a.txt").read_text() == "keep me"


def test_an_earlier_result_is_replaced_only_with_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_result_folder(out, _fill("old"), "simulation")
    with pytest.raises(OutputFolderError, match="--overwrite"):
        write_result_folder(out, _fill("new"), "simulation")
    assert (out / "summary.json").read_text() == "old"
    write_result_folder(out, _fill("new"), "simulation", overwrite=True)
    assert (out / "summary.json").read_text() == "new"


def test_a_file_added_to_an_earlier_result_blocks_overwrite(tmp_path: Path) -> None:
    out = write_result_folder(tmp_path / "run", _fill("old"), "simulation")
    (out / "my-notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match=r"my-notes\.txt"):
        write_result_folder(out, _fill("new"), "simulation", overwrite=True)
    assert (out / "my-notes.txt").read_text() == "mine" and (out / "summary.json").read_text() == "old"


def test_a_result_of_another_kind_is_refused(tmp_path: Path) -> None:
    out = write_result_folder(tmp_path / "run", _fill("{}"), "simulation")
    with pytest.raises(OutputFolderError, match="simulation result, not a report"):
        write_result_folder(out, _fill("{}"), "report", overwrite=True)


def test_a_file_or_a_path_through_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("readme")
    with pytest.raises(OutputFolderError, match="is a file"):
        check_output_folder(tmp_path / "README.md", "simulation")
    with pytest.raises(OutputFolderError, match="is a file"):
        check_output_folder(tmp_path / "README.md" / "run", "simulation")
    with pytest.raises(OutputFolderError, match="NUL"):
        check_output_folder(str(tmp_path / "a\0b"), "simulation")
    assert (tmp_path / "README.md").read_text() == "readme"


def test_a_folder_being_written_cannot_be_claimed_twice(tmp_path: Path) -> None:
    with claim_output_folder(tmp_path / "run", "simulation") as first:
        with pytest.raises(OutputFolderError, match="another greendc command"), \
                claim_output_folder(tmp_path / "run", "simulation"):
            pass
        first.write(_fill("{}"))
    # Released: a later command may claim it again (and is then refused for want of --overwrite).
    with pytest.raises(OutputFolderError, match="--overwrite"), claim_output_folder(tmp_path / "run", "simulation"):
        pass


def test_output_folder_errors_are_user_errors() -> None:
    assert issubclass(OutputFolderError, GreendcError)


def test_a_folder_with_only_an_unreadable_marker_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / RESULT_MARKER).write_text("not json")
    with pytest.raises(OutputFolderError, match=r"did not write \('\.greendc-result\.json'\)"):
        write_result_folder(tmp_path / "run", _fill("{}"), "simulation", overwrite=True)
    assert (tmp_path / "run" / RESULT_MARKER).read_text() == "not json"
