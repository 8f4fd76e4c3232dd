"""The one YAML reader of site and inventory files: every hostile construct the fuzzing found is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from greendc.carbon.errors import InventoryError
from greendc.carbon.inventory import load_inventory
from greendc.files import MAX_YAML_DEPTH, InputFileError, load_yaml_mapping, parse_yaml
from greendc.site.loader import SiteFileError, load_site


@pytest.mark.parametrize(("text", "words"), [
    ("a: " + "[" * 1000 + "]" * 1000, f"nested more than {MAX_YAML_DEPTH} levels"),  # RecursionError before
    ("a: !!int 0x0.5", "explicit tags"),                                            # ValueError before
    ("? !!timestamp 2001-01-01\n: 1", "explicit tags"),
    ("2001-01-01: 1", "keys must be text"),
    ("a: 0x_", "a value cannot be read"),
    ("a: 2023-02-30", "a value cannot be read"),
    ("a: 1\na: 2", "appears twice"),
    ("a: &x [1, 2]\n" + "".join(f"b{i}: &b{i} [" + ", ".join([f"*{'x' if i == 0 else f'b{i - 1}'}"] * 10) + "]\n"
                                for i in range(7)), "expand it to more than"),  # "billion laughs"
    ("a: &a [*a]", "refers to the value that contains it"),
    ("a: !!python/object:os.system echo", "explicit tags"),
])
def test_hostile_yaml_is_one_error_with_line_and_column(text: str, words: str) -> None:
    with pytest.raises(InputFileError) as info:
        parse_yaml(text, "f.yaml")
    message = str(info.value)
    assert words in message and message.startswith("f.yaml: <yaml>: malformed YAML")
    assert " line " in message and "\n" not in message and len(message) < 400


def test_plain_yaml_and_a_few_aliases_still_load() -> None:
    assert parse_yaml("a: &x {b: 1}\nc: [*x, *x]\nd: .nan\ne: '2001-01-01'") == {
        "a": {"b": 1}, "c": [{"b": 1}, {"b": 1}], "d": pytest.approx(float("nan"), nan_ok=True), "e": "2001-01-01"}


def test_a_file_is_checked_before_it_is_read(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="is a folder"):
        load_yaml_mapping(tmp_path)
    with pytest.raises(InputFileError, match="not a regular file"):
        load_yaml_mapping("/dev/zero")
    with pytest.raises(InputFileError, match="NUL"):
        load_yaml_mapping(str(tmp_path / "a\0.yaml"))
    big = tmp_path / "big.yaml"
    big.write_text("a: 1\n" * 10)
    with pytest.raises(InputFileError, match="more than"):
        load_yaml_mapping(big, max_bytes=20)
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(InputFileError, match="mapping of keys to values"):
        load_yaml_mapping(tmp_path / "list.yaml")


def test_site_and_inventory_files_share_the_reader(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nzones: " + "[" * 100 + "]" * 100 + "\n")
    with pytest.raises(SiteFileError, match="nested more than"):
        load_site(bad)
    with pytest.raises(InventoryError, match="nested more than") as info:
        load_inventory(bad)
    assert info.value.field == "<yaml>"
