"""Fuzz every loader of a user's files and count what escapes greendc's own error types (issue 15).

Each case damages a real file (``tests/fuzz/mutations.py``: the example sites and inventories, a small
telemetry frame, the shipped Chicago EPW, an hourly load CSV) and loads it as greendc does. Outcomes:

- ``loaded``: the damage left a valid file;
- ``refused``: a :class:`greendc.errors.GreendcError` whose message is one line of at most 1,000 characters
  without control characters (what the command line prints in red, exit code 2);
- ``bad message``: a GreendcError whose message is not such a line;
- ``crash``: any other exception (a traceback for the user);
- ``hang``: a case still running after ``--timeout-s``.

The target is 0 bad messages, crashes and hangs. Then the model-file fuzz of ``bench/fuzz_models.py``
(``fuzz_model_files(cases=2000, seed=0)``) runs, when that module exists.

    python bench/fuzz.py                                  # 10,000 cases per loader, then 2,000 model files
    python bench/fuzz.py --cases 500 --loaders site,epw   # a quicker look
    python bench/fuzz.py --json bench/results/fuzz.json   # also write the counts

Cases are reproducible: case ``i`` of loader ``name`` uses ``random.Random(f"{seed}:{name}:{i}")``, and
the first seed of every distinct crash is printed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from tests.fuzz.mutations import CASE_MAKERS, outcome  # noqa: E402 - needs the repository on the path

PROBLEMS = ("bad message", "crash", "hang")
#: What bench/fuzz_models.py counts as escaping ModelFileError: at load, while predicting, a dead or hung child.
MODEL_PROBLEMS = ("load_errors", "prediction_errors", "deaths", "hangs")


class _Hang(BaseException):
    """Raised by the alarm in a case that runs too long; a BaseException, so that no loader catches it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Hang


def _run_case(name: str, index: int, seed: int, root: Path, timeout_s: float) -> tuple[str, str]:
    rng = random.Random(f"{seed}:{name}:{index}")
    case = CASE_MAKERS[name](rng)
    folder = Path(tempfile.mkdtemp(dir=root))
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return outcome(case, folder)
    except _Hang:
        return "hang", f"over {timeout_s:g} s"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        shutil.rmtree(folder, ignore_errors=True)


def fuzz_loader(name: str, cases: int = 10_000, seed: int = 0, timeout_s: float = 60.0) -> dict[str, Any]:
    """Run ``cases`` damaged files through one loader; the counts of each outcome and the problems seen."""
    counts: Counter[str] = Counter({kind: 0 for kind in ("loaded", "refused", *PROBLEMS)})
    refused_by: Counter[str] = Counter()
    problems: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        with tempfile.TemporaryDirectory(prefix="greendc-fuzz-") as root:
            for index in range(cases):
                kind, detail = _run_case(name, index, seed, Path(root), timeout_s)
                counts[kind] += 1
                if kind == "refused":
                    refused_by[detail] += 1
                elif kind in PROBLEMS:
                    seen = problems.setdefault(f"{kind}: {detail[:200]}", {"count": 0, "first_case": index})
                    seen["count"] += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    return {"cases": cases, **counts, "refused_by": dict(refused_by.most_common()), "problems": problems,
            "wall_s": round(time.perf_counter() - started, 1)}


def fuzz_input_files(cases: int = 10_000, seed: int = 0, loaders: list[str] | None = None,
                     timeout_s: float = 60.0) -> dict[str, dict[str, Any]]:
    """Fuzz each loader in turn, printing its counts as it finishes."""
    results = {}
    for name in loaders or list(CASE_MAKERS):
        result = fuzz_loader(name, cases, seed, timeout_s)
        results[name] = result
        print(f"{name:>10}: {result['cases']:,} cases, {result['loaded']:,} loaded, {result['refused']:,} refused, "
              f"{result['bad message']} bad messages, {result['crash']} crashes, {result['hang']} hangs "
              f"({result['wall_s']:.0f} s)", flush=True)
        for problem, seen in result["problems"].items():
            print(f"            {seen['count']} x {problem} (first: case {seen['first_case']})", flush=True)
    return results


def fuzz_models(cases: int = 2000, seed: int = 0) -> dict[str, Any] | None:
    """The model-file fuzz of ``bench/fuzz_models.py`` (another part of issue 15), when it exists."""
    try:
        from fuzz_models import fuzz_model_files
    except ModuleNotFoundError as error:
        if error.name != "fuzz_models":
            raise
        print("model files: skipped, bench/fuzz_models.py (fuzz_model_files) is not there yet", flush=True)
        return None
    result = fuzz_model_files(cases=cases, seed=seed)
    counts = ", ".join(f"{result.get(key, '?')} {key.replace('_', ' ')}"
                       for key in ("refused", "loaded", *MODEL_PROBLEMS))
    print(f"model files: {result.get('cases', cases):,} cases, {counts} ({result.get('seconds', '?')} s)", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases per loader (default 10,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loaders", default=",".join(CASE_MAKERS), help=f"comma-separated: {', '.join(CASE_MAKERS)}")
    parser.add_argument("--timeout-s", type=float, default=60.0, help="a case running longer is a hang")
    parser.add_argument("--model-cases", type=int, default=2000, help="model files for bench/fuzz_models.py (0: none)")
    parser.add_argument("--json", type=Path, help="also write the counts here")
    args = parser.parse_args(argv)
    loaders = [name.strip() for name in args.loaders.split(",") if name.strip()]
    unknown = sorted(set(loaders) - set(CASE_MAKERS))
    if unknown:
        parser.error(f"unknown loader(s) {', '.join(unknown)}; choose from {', '.join(CASE_MAKERS)}")
    results: dict[str, Any] = {"input_files": fuzz_input_files(args.cases, args.seed, loaders, args.timeout_s)}
    if args.model_cases > 0:
        results["model_files"] = fuzz_models(args.model_cases, args.seed)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    failures = sum(result[kind] for result in results["input_files"].values() for kind in PROBLEMS)
    model_files = results.get("model_files") or {}
    failures += sum(int(model_files.get(kind, 0)) for kind in MODEL_PROBLEMS)
    print(f"{failures} case(s) outside greendc's own error types" if failures else
          "0 cases outside greendc's own error types", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
