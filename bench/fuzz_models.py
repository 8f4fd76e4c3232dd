"""Corrupt the shipped facility model many ways: does anything escape ModelFileError, or kill or hang prediction?

Issue 15's fuzzing found the model loader raising non-greendc errors in 330 of 2,000 corrupted files and 5 of
53 corrupted models that loaded then killing or hanging the run inside prediction. This bench repeats that
campaign against ``src/greendc/data/models/two-hall-chicago.gdm``. Each case damages the file one way
(:data:`MUTATIONS`: bit flips and overwrites in the zip bytes, truncation, bit flips and edits inside the
member texts re-zipped so that they pass the CRC, swapped children, cycles, out-of-range features, unknown
decision types, non-finite numbers, lying ``tree_sizes``, truncated or edited ``meta.json``, huge declared
sizes and a zip bomb), then

- loads it in this process, counting every exception that is not a ``ModelFileError``;
- for a file that loads, predicts in a child process what the ai would (the compiled setpoint search on a
  realistic state, ``FacilityModel.predict`` on a candidate batch, and LightGBM's feature importance, which
  ``greendc explain`` reads), with a timeout, counting deaths by signal, hangs and Python errors.

One child process serves many cases (a fresh one per case would cost a second of imports each) and is
replaced when it dies or hangs.

Usage::

    python bench/fuzz_models.py                    # 2,000 cases, seed 0; JSON to bench/results/fuzz_models.json
    python bench/fuzz_models.py --cases 200 --seed 3 --out -
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import greendc
from greendc.learning.facility_model import FacilityModel, ModelFileError

SHIPPED_MODEL = Path(greendc.__file__).parent / "data" / "models" / "two-hall-chicago.gdm"
#: One prediction takes about a tenth of a second; a model that makes it take this long loops.
PREDICT_TIMEOUT_S = 30.0
#: Starting the child: imports and the compiled functions from numba's cache (a few seconds; minutes when the
#: cache has to be rebuilt).
START_TIMEOUT_S = 600.0
#: A member of zeros this large is the zip bomb: over the loader's 16 MiB limit for one member, small enough
#: that building it takes under a second.
BOMB_BYTES = 64 * 2**20
_TREE_FIELDS = ("split_feature", "threshold", "decision_type", "left_child", "right_child", "leaf_value",
                "num_leaves", "num_cat", "max_feature_idx", "num_tree_per_iteration", "tree_sizes", "split_gain",
                "internal_count", "shrinkage", "is_linear")
_ODD_TOKENS = ("", "x", "nan", "inf", "-inf", "1e999", "-0", "0.5", "-1", "0", "1 2", "99999999999999999999",
               "-99999999999", "2147483648", "1e-320", "0x10", "١")


# -- archive helpers ------------------------------------------------------------------------------------------
def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zipped(members: dict[str, bytes]) -> bytes:
    """An archive of ``members`` with fresh CRCs: damage inside a member then reaches the model parser."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _central_entries(data: bytes) -> list[int]:
    """Offsets of the central-directory entries of an archive (PKWARE APPNOTE 4.3.12)."""
    return [match.start() for match in re.finditer(rb"PK\x01\x02", data)]


def _with_text(pristine: bytes, rng: random.Random, change: Callable[[str, random.Random], str]) -> bytes:
    """The archive with one booster text, chosen at random, replaced by ``change(text, rng)``."""
    members = _members(pristine)
    name = rng.choice([name for name in members if name.startswith("boosters/")])
    members[name] = change(members[name].decode(), rng).encode()
    return _zipped(members)


def _field_lines(text: str, key: str) -> list[tuple[int, int]]:
    """Spans of the values of every ``key=`` line."""
    return [match.span(1) for match in re.finditer(rf"^{re.escape(key)}=(.*)$", text, flags=re.MULTILINE)]


def _replace_span(text: str, span: tuple[int, int], value: str) -> str:
    return text[:span[0]] + value + text[span[1]:]


def _tree_of(text: str, rng: random.Random) -> tuple[tuple[int, int], tuple[int, int], list[int], list[int]]:
    """A random tree with splits: the spans of its left_child and right_child values, and the values."""
    lefts, rights = _field_lines(text, "left_child"), _field_lines(text, "right_child")
    index = rng.randrange(len(lefts))
    left = [int(value) for value in text[slice(*lefts[index])].split()]
    right = [int(value) for value in text[slice(*rights[index])].split()]
    return lefts[index], rights[index], left, right


def _with_children(text: str, spans: tuple[tuple[int, int], tuple[int, int]], left: list[int],
                   right: list[int]) -> str:
    # The right span lies after the left one: replace it first so the left span stays valid.
    text = _replace_span(text, spans[1], " ".join(map(str, right)))
    return _replace_span(text, spans[0], " ".join(map(str, left)))


# -- mutations: each takes the pristine file and a random source and returns the damaged bytes -----------------
def zip_bit_flips(pristine: bytes, rng: random.Random) -> bytes:
    damaged = bytearray(pristine)
    for _ in range(rng.randint(1, 8)):
        damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def zip_header_overwrite(pristine: bytes, rng: random.Random) -> bytes:
    """Random bytes over part of a local or central header, or the end record: sizes, offsets, methods."""
    starts = [match.start() for match in re.finditer(rb"PK(\x01\x02|\x03\x04|\x05\x06)", pristine)]
    damaged = bytearray(pristine)
    start = rng.choice(starts) + rng.randrange(4, 30)
    for position in range(start, min(start + rng.randint(1, 8), len(damaged))):
        damaged[position] = rng.randrange(256)
    return bytes(damaged)


def zip_truncated(pristine: bytes, rng: random.Random) -> bytes:
    return pristine[:rng.randrange(len(pristine))]


def text_bit_flips(pristine: bytes, rng: random.Random) -> bytes:
    def flip(text: str, rng: random.Random) -> str:
        data = bytearray(text.encode())
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(7)  # 7 bits: stays ASCII, so it reaches the parser
        return data.decode()
    return _with_text(pristine, rng, flip)


def text_token_edit(pristine: bytes, rng: random.Random) -> bytes:
    """One number of a tree or header field replaced by an odd one or a random integer."""
    def edit(text: str, rng: random.Random) -> str:
        spans = _field_lines(text, rng.choice(_TREE_FIELDS))
        if not spans:
            return text
        span = rng.choice(spans)
        tokens = text[slice(*span)].split(" ")
        odd = rng.choice(_ODD_TOKENS) if rng.random() < 0.5 else str(rng.randint(-40, 40))
        tokens[rng.randrange(len(tokens))] = odd
        return _replace_span(text, span, " ".join(tokens))
    return _with_text(pristine, rng, edit)


def text_line_edit(pristine: bytes, rng: random.Random) -> bytes:
    """A line of a model text deleted, duplicated or cut short."""
    def edit(text: str, rng: random.Random) -> str:
        lines = text.split("\n")
        index = rng.randrange(min(len(lines), text[:text.find("end of trees")].count("\n") + 1))
        action = rng.choice(["delete", "duplicate", "cut"])
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        else:
            lines[index] = lines[index][:rng.randrange(len(lines[index]) + 1)]
        return "\n".join(lines)
    return _with_text(pristine, rng, edit)


def swapped_children(pristine: bytes, rng: random.Random) -> bytes:
    """Two child entries of one tree exchanged (among its left and right children): often a shared branch, an
    unreached split or a cycle."""
    def swap(text: str, rng: random.Random) -> str:
        left_span, right_span, left, right = _tree_of(text, rng)
        children = left + right
        first, second = rng.sample(range(len(children)), 2)
        children[first], children[second] = children[second], children[first]
        return _with_children(text, (left_span, right_span), children[:len(left)], children[len(left):])
    return _with_text(pristine, rng, swap)


def cycle(pristine: bytes, rng: random.Random) -> bytes:
    """A child of a split pointed at one of its ancestors: a walk that reaches it never ends."""
    def loop(text: str, rng: random.Random) -> str:
        left_span, right_span, left, right = _tree_of(text, rng)
        parent = {child: node for node in range(len(left)) for child in (left[node], right[node]) if child >= 0}
        node = rng.choice([split for split in range(len(left)) if split in parent] or [0])
        ancestors, up = [node], node
        while up in parent:
            up = parent[up]
            ancestors.append(up)
        (left if rng.random() < 0.5 else right)[node] = rng.choice(ancestors)
        return _with_children(text, (left_span, right_span), left, right)
    return _with_text(pristine, rng, loop)


def child_out_of_range(pristine: bytes, rng: random.Random) -> bytes:
    def far(text: str, rng: random.Random) -> str:
        left_span, right_span, left, right = _tree_of(text, rng)
        side = left if rng.random() < 0.5 else right
        side[rng.randrange(len(side))] = rng.choice([len(left), len(left) + rng.randint(1, 10**6),
                                                     -len(left) - 2, -rng.randint(10**3, 10**9)])
        return _with_children(text, (left_span, right_span), left, right)
    return _with_text(pristine, rng, far)


def feature_out_of_range(pristine: bytes, rng: random.Random) -> bytes:
    def far(text: str, rng: random.Random) -> str:
        span = rng.choice(_field_lines(text, "split_feature"))
        features = text[slice(*span)].split()
        features[rng.randrange(len(features))] = str(rng.choice([13, 14, 100, 10**6, -1, -13]))
        return _replace_span(text, span, " ".join(features))
    return _with_text(pristine, rng, far)


def odd_decision_or_number(pristine: bytes, rng: random.Random) -> bytes:
    """An unknown or categorical decision type, or a threshold or leaf value that is not finite."""
    def odd(text: str, rng: random.Random) -> str:
        key, values = rng.choice([("decision_type", ["1", "3", "5", "12", "13", "16", "255", "-1"]),
                                  ("threshold", ["nan", "inf", "-inf", "1e999"]),
                                  ("leaf_value", ["nan", "inf", "-1e400"])])
        span = rng.choice(_field_lines(text, key))
        tokens = text[slice(*span)].split()
        tokens[rng.randrange(len(tokens))] = rng.choice(values)
        return _replace_span(text, span, " ".join(tokens))
    return _with_text(pristine, rng, odd)


def lying_tree_sizes(pristine: bytes, rng: random.Random) -> bytes:
    """The header's tree_sizes (where LightGBM looks for each tree) no longer matching the text."""
    def lie(text: str, rng: random.Random) -> str:
        span = _field_lines(text, "tree_sizes")[0]
        sizes = text[slice(*span)].split()
        index = rng.randrange(len(sizes))
        sizes[index] = str(max(0, int(sizes[index]) + rng.choice([-1, 1, -500, 500, 10**6, -10**4])))
        return _replace_span(text, span, " ".join(sizes))
    return _with_text(pristine, rng, lie)


def meta_truncated(pristine: bytes, rng: random.Random) -> bytes:
    members = _members(pristine)
    members["meta.json"] = members["meta.json"][:rng.randrange(len(members["meta.json"]))]
    return _zipped(members)


def meta_edit(pristine: bytes, rng: random.Random) -> bytes:
    """A key of ``meta.json``, at any depth, deleted or given a value of another type."""
    members = _members(pristine)
    meta = json.loads(members["meta.json"])
    container: Any = meta
    while True:
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        key = rng.choice(keys)
        if isinstance(container[key], dict | list) and container[key] and rng.random() < 0.5:
            container = container[key]
            continue
        break
    values = [None, True, 0, -1, 1.5, float("nan"), float("inf"), "", "x" * 1000, [], {}, [1, 2], {"a": 1},
              10**30, "West Hall"]
    if isinstance(container, dict) and rng.random() < 0.3:
        del container[key]
    else:
        container[key] = rng.choice(values)
    members["meta.json"] = json.dumps(meta).encode()
    return _zipped(members)


def huge_declared_size(pristine: bytes, rng: random.Random) -> bytes:
    """A central-directory entry declaring gigabytes (or a compressed size beyond the file)."""
    damaged = bytearray(pristine)
    entry = rng.choice(_central_entries(pristine))
    offset = rng.choice([20, 24])  # compressed, uncompressed size
    struct.pack_into("<I", damaged, entry + offset, rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 2**31 + 5, 10**9]))
    return bytes(damaged)


def zip_bomb(pristine: bytes, rng: random.Random) -> bytes:
    """A booster replaced by 64 MiB of zeros (64 kB compressed), its declared size true or a lie."""
    members = _members(pristine)
    name = rng.choice([name for name in members if name.startswith("boosters/")])
    members[name] = bytes(BOMB_BYTES)
    data = _zipped(members)
    if rng.random() < 0.5:
        return data
    damaged = bytearray(data)
    for entry in _central_entries(data):
        length = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46:entry + 46 + length] == name.encode():
            struct.pack_into("<I", damaged, entry + 24, rng.choice([1000, 150_000]))
    return bytes(damaged)


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    function.__name__: function for function in (
        zip_bit_flips, zip_header_overwrite, zip_truncated, text_bit_flips, text_token_edit, text_line_edit,
        swapped_children, cycle, child_out_of_range, feature_out_of_range, odd_decision_or_number,
        lying_tree_sizes, meta_truncated, meta_edit, huge_declared_size, zip_bomb)
}


# -- prediction in a child process ----------------------------------------------------------------------------
def _predict_like_the_ai(path: Path, seed: int) -> None:
    """Load a model and use it as the ai and ``greendc explain`` do: a decision's candidate batch walked the way
    the compiled search walks it (the mean trees resolved on the state, then walked together; the quantile trees
    at one row), the same batch through ``predict`` (means and spread), and LightGBM's feature importance.

    The trees are called directly rather than through ``greendc.control.search``, whose arguments follow the
    controller's contract; what the search adds to the trees only indexes its own arrays.
    """
    import numpy as np

    from greendc.learning.trees import resolve, walk, walk_together

    model = FacilityModel.load(path, zone_names=["West Hall", "East Hall"])
    batch = _candidates(model.feature_names_, model.zone_names_, np.random.default_rng(seed))
    means, quantiles = model.ensembles()
    shared = np.ones(batch.shape[1], dtype=bool)
    shared[-(2 * len(model.zone_names_) + 1):] = False  # the setpoints; the state is the same in every row
    out = np.zeros((len(means.targets), len(batch)))
    walk_together(batch, resolve(means.arrays, batch[0], shared), out)
    spread = np.zeros((len(quantiles.targets), 1))
    walk(batch[:1], quantiles.arrays, spread)
    model.predict(batch)
    model.predict(batch[:3], uncertainty=False)
    model.feature_importance("cooling_power_w")  # builds every booster with LightGBM


def _candidates(names: list[str], zones: list[str], rng: Any) -> Any:
    """One decision's phase-1 candidates for a random but realistic state: the ai's grid (supply-air steps of
    0.25 K up to 1 K, zone rises of 4, 7 and 10 K, chilled water -1, 0 or +1 K) around random setpoints,
    clipped to the example site's bounds; columns in the model's order."""
    import numpy as np

    column = {name: index for index, name in enumerate(names)}
    dry_bulb_c = rng.uniform(-20.0, 37.0)
    zone_it_w = rng.uniform(29e3, 47e3, len(zones))
    hour = rng.uniform(0.0, 2 * np.pi)
    state = np.array([dry_bulb_c, dry_bulb_c - rng.uniform(0.0, 10.0), rng.uniform(5.0, 100.0), zone_it_w.sum(),
                      *zone_it_w, np.sin(hour), np.cos(hour), *[np.nan] * (2 * len(zones) + 1)])
    grid = [(step, rise, water) for step in np.arange(-1.0, 1.0 + 1e-9, 0.25) for rise in (4.0, 7.0, 10.0)
            for water in (-1.0, 0.0, 1.0)]
    current_c, water_c = rng.uniform(13.0, 24.0, len(zones)), rng.uniform(5.0, 15.0)
    batch = np.tile(state, (len(grid), 1))
    for row, (step, rise, water) in enumerate(grid):
        for zone, name in enumerate(zones):
            supply_c = min(max(current_c[zone] + step, 12.0), 25.5)
            batch[row, column[f"{name}/supply_air_setpoint_c"]] = supply_c
            batch[row, column[f"{name}/zone_cooling_setpoint_c"]] = min(max(supply_c + rise, 18.0), 30.0)
        batch[row, column["chilled_water_setpoint_c"]] = min(max(water_c + water, 5.0), 15.0)
    return batch


def _worker(reply_fd: int) -> None:
    """The child: for each request line on stdin (a path and a seed), predict and write one JSON line to
    ``reply_fd`` (not stdout, which LightGBM writes its warnings to)."""
    with os.fdopen(reply_fd, "w") as replies:
        _predict_like_the_ai(SHIPPED_MODEL, 0)  # imports and compiled functions ready before the first case
        replies.write(json.dumps({"status": "ready"}) + "\n")
        replies.flush()
        for line in sys.stdin:
            request = json.loads(line)
            try:
                _predict_like_the_ai(Path(request["path"]), request["seed"])
                reply = {"status": "predicted", "detail": ""}
            except ModelFileError as error:
                reply = {"status": "refused_in_child", "detail": str(error)[-300:]}
            except Exception as error:  # what the bench is there to count
                reply = {"status": "prediction_error", "detail": f"{type(error).__name__}: {str(error)[:300]}"}
            replies.write(json.dumps(reply) + "\n")
            replies.flush()


class _Predictor:
    """The child process that predicts, replaced when it dies or hangs."""

    def __enter__(self) -> _Predictor:
        self._start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop()

    def _start(self) -> None:
        read_fd, write_fd = os.pipe()
        self._process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", str(write_fd)],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         pass_fds=(write_fd,), text=True)
        os.close(write_fd)
        self._replies, self._buffer = read_fd, b""
        reply = self._reply(START_TIMEOUT_S)
        if reply is None or reply.get("status") != "ready":
            self._stop()
            raise RuntimeError(f"the prediction worker did not start ({reply})")

    def _stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._process.stdin:
            self._process.stdin.close()
        os.close(self._replies)

    def _reply(self, timeout_s: float) -> dict[str, Any] | None:
        """The next reply; ``{"status": "died"}`` when the child ended, None when none came in time."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._replies], [], [], remaining)[0]:
                return None
            chunk = os.read(self._replies, 65536)
            if not chunk:
                return {"status": "died"}
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def predict(self, path: Path, seed: int) -> tuple[str, str]:
        """The outcome of predicting with the model file at ``path``, and a detail for the unexpected ones."""
        try:
            self._process.stdin.write(json.dumps({"path": str(path), "seed": seed}) + "\n")
            self._process.stdin.flush()
            reply = self._reply(PREDICT_TIMEOUT_S)
        except BrokenPipeError:
            reply = {"status": "died"}
        if reply is not None and reply["status"] != "died":
            return reply["status"], reply["detail"]
        if reply is None:
            outcome, detail = "hung", f"no reply within {PREDICT_TIMEOUT_S:.0f} s"
            self._process.kill()
        code = self._process.wait()
        if reply is not None:
            outcome = "died"
            detail = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
        self._stop()
        self._start()
        return outcome, detail


# -- the campaign -----------------------------------------------------------------------------------------------
def _load_outcome(path: Path) -> tuple[str, str]:
    try:
        FacilityModel.load(path)
    except ModelFileError:
        return "refused", ""
    except Exception as error:  # what the bench is there to count
        return "load_error", f"{type(error).__name__}: {str(error)[:300]}"
    return "loaded", ""


def fuzz_model_files(cases: int = 2000, seed: int = 0) -> dict:
    """Damage the shipped model ``cases`` ways (the mutations in turn, each case seeded by ``seed`` and its
    number so that any one can be made again) and count the outcomes.

    Outcomes: ``refused`` (ModelFileError at load), ``load_error`` (any other exception at load),
    ``predicted``, ``refused_in_child`` (ModelFileError while predicting, from LightGBM's reading of a text),
    ``prediction_error`` (any other exception while predicting), ``died`` and ``hung``. The targets are no
    ``load_error``, ``prediction_error``, ``died`` or ``hung``.
    """
    pristine = SHIPPED_MODEL.read_bytes()
    kinds = list(MUTATIONS)
    by_kind: dict[str, Counter] = {kind: Counter() for kind in kinds}
    examples: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="greendc-fuzz-models-") as folder, _Predictor() as predictor:
        for case in range(cases):
            kind = kinds[case % len(kinds)]
            path = Path(folder) / f"case-{case}.gdm"
            path.write_bytes(MUTATIONS[kind](pristine, random.Random(f"{seed}-{case}")))
            outcome, detail = _load_outcome(path)
            if outcome == "loaded":
                outcome, detail = predictor.predict(path, seed=case)
            by_kind[kind][outcome] += 1
            if outcome in ("load_error", "prediction_error", "died", "hung") and len(examples) < 40:
                examples.append({"case": case, "kind": kind, "outcome": outcome, "detail": detail})
            path.unlink()
    totals = sum(by_kind.values(), Counter())
    return {
        "cases": cases, "seed": seed, "model": SHIPPED_MODEL.name,
        "refused": totals["refused"], "load_errors": totals["load_error"],
        "loaded": cases - totals["refused"] - totals["load_error"],
        "predicted": totals["predicted"], "refused_in_child": totals["refused_in_child"],
        "prediction_errors": totals["prediction_error"], "deaths": totals["died"], "hangs": totals["hung"],
        "seconds": round(time.perf_counter() - started, 1),
        "by_kind": {kind: dict(counts) for kind, counts in by_kind.items()},
        "examples": examples,
    }


def _print(result: dict) -> None:
    print(f"{result['cases']} corrupted copies of {result['model']} (seed {result['seed']}, {result['seconds']} s)")
    for key in ("refused", "load_errors", "loaded", "predicted", "refused_in_child", "prediction_errors", "deaths",
                "hangs"):
        print(f"  {key:<18} {result[key]:>6}")
    print(f"  {'mutation':<24}" + "".join(f"{outcome:>18}" for outcome in _OUTCOMES))
    for kind, counts in result["by_kind"].items():
        print(f"  {kind:<24}" + "".join(f"{counts.get(outcome, 0):>18}" for outcome in _OUTCOMES))
    for example in result["examples"]:
        print(f"  case {example['case']} ({example['kind']}): {example['outcome']}: {example['detail']}")


_OUTCOMES = ("refused", "load_error", "predicted", "refused_in_child", "prediction_error", "died", "hung")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "fuzz_models.json"),
                        help="JSON file for the counts ('-' for none)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        _worker(args.worker)
        return
    result = fuzz_model_files(args.cases, args.seed)
    result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    _print(result)
    if args.out != "-":
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    failures = result["load_errors"] + result["prediction_errors"] + result["deaths"] + result["hangs"]
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
