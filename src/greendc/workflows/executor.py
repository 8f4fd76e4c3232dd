"""How a workflow's jobs are run: one interface, local processes by default.

A workflow hands an executor a picklable function and its jobs; the executor returns the outcomes in the
order of the jobs and reports progress and each finished job as it happens. A distributed backend (a fleet
on a cluster) is one more class with the same :meth:`Executor.run`, and no caller changes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from greendc.errors import GreendcError
from greendc.twin.run_folder import remove_abandoned_run_folders

Job = TypeVar("Job")
Outcome = TypeVar("Outcome")
#: ``job_function(job, report)``: runs one job; ``report(fraction)`` (or ``None``) tells its progress, 0 to 1.
JobFunction = Callable[[Any, Callable[[float], None] | None], Any]


class WorkerDiedError(GreendcError):
    """A job's process died (EnergyPlus crashed, or the process was killed) before it returned."""

    def __init__(self, index: int) -> None:
        self.index = index
        super().__init__(f"the process of job {index} died before it finished")


class Executor(Protocol):
    """Runs jobs and returns their outcomes in the order given."""

    def run(self, job_function: JobFunction, jobs: Sequence[Any],
            on_progress: Callable[[int, float], None] | None = None,
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        """``on_progress(job_index, fraction)`` within each job, and with 1.0 when it ends; ``on_done(job_index,
        outcome)`` as each ends."""
        ...


class InProcessExecutor:
    """One job after the other in this process: for tests and debugging (a crash takes the caller with it)."""

    def run(self, job_function: JobFunction, jobs: Sequence[Any],
            on_progress: Callable[[int, float], None] | None = None,
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        outcomes = []
        for index, job in enumerate(jobs):
            report = (lambda fraction, i=index: on_progress(i, fraction)) if on_progress else None
            outcomes.append(job_function(job, report))
            if on_progress:
                on_progress(index, 1.0)
            if on_done:
                on_done(index, outcomes[-1])
        return outcomes


def _run_reporting(job_function: JobFunction, index: int, job: Any, progress_queue: Any) -> Any:
    return job_function(job, lambda fraction: progress_queue.put((index, fraction)))


@dataclass(frozen=True)
class LocalProcessExecutor:
    """Each job in a separate local process, ``workers`` at a time.

    Processes are spawned, never forked: EnergyPlus keeps global state. A job whose process dies becomes a
    :class:`WorkerDiedError` instead of killing the caller. Ctrl-C (or any failure while waiting) stops
    every worker at once: EnergyPlus does not return to Python during sizing and warm-up, so a worker would
    finish those (a minute or more) before it saw the signal, and the pool's exit would wait for it.
    """

    workers: int = 2

    def run(self, job_function: JobFunction, jobs: Sequence[Any],
            on_progress: Callable[[int, float], None] | None = None,
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        if not jobs:
            return []
        context = multiprocessing.get_context("spawn")
        results: dict[int, Any] = {}
        children_before = set(multiprocessing.active_children())
        with context.Manager() as manager, \
                ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=context) as pool:
            progress_queue = manager.Queue()
            futures = {pool.submit(_run_reporting, job_function, i, job, progress_queue): i
                       for i, job in enumerate(jobs)}
            try:
                _collect(futures, progress_queue, results, on_progress, on_done)
            except BaseException:
                _stop(set(multiprocessing.active_children()) - children_before)
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return [results[index] for index in range(len(jobs))]


def _stop(processes: set[Any]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=2.0)
    remove_abandoned_run_folders()  # the killed runs could not remove their EnergyPlus folders


def _collect(futures: dict[Future[Any], int], progress_queue: Any, results: dict[int, Any],
             on_progress: Callable[[int, float], None] | None, on_done: Callable[[int, Any], None] | None) -> None:
    """Wait for the jobs, passing on their progress, and keep each outcome as it arrives."""
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        while not progress_queue.empty():
            index, fraction = progress_queue.get()
            if on_progress:
                on_progress(index, fraction)
        for future in finished:
            index = futures[future]
            try:
                results[index] = future.result()
            except BrokenProcessPool:
                raise WorkerDiedError(index) from None
            if on_progress:
                on_progress(index, 1.0)
            if on_done:
                on_done(index, results[index])
