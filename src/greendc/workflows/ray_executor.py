"""Run a workflow's jobs on Ray: a local Ray on this machine, or an existing cluster (``pip install "greendc[ray]"``).

The same :class:`~greendc.workflows.executor.Executor` interface as the local process pool. Each job is one Ray
task needing one CPU (``num_cpus=1``), so a worker process runs one EnergyPlus at a time, one run after the other
as the local pool's processes do (``fresh_process_per_job`` gives each task a process of its own, ``max_calls=1``,
at some 2.5 s per job: Python, greendc and EnergyPlus loaded again). A job's inputs travel in its arguments (the
fleet's jobs carry their files as bytes), so the cluster needs no shared filesystem, only greendc installed on
every node. A task whose worker dies is retried ``max_retries`` times, then reported as a :class:`WorkerDiedError`
naming its index.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from greendc.errors import UsageError
from greendc.workflows.executor import JobFunction, WorkerDiedError

#: How often a task whose worker process died is started again before the job is reported as failed.
DEFAULT_MAX_RETRIES = 2
#: How long joining a cluster may take before the address counts as not answering, in s.
CONNECT_TIMEOUT_S = 10.0


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError('--executor ray: Ray is not installed; pip install "greendc[ray]"') from None
    return ray


@dataclass
class RayExecutor:
    """Jobs as Ray tasks, ``workers`` at a time on a local Ray (``address`` None) or on the cluster at ``address``.

    :meth:`start` connects (or starts the local Ray) and is called by the first :meth:`run`; call it first to
    find a cluster that does not answer before any work. :meth:`stop` disconnects.
    """

    workers: int = 2
    address: str | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    fresh_process_per_job: bool = False
    _started: bool = field(default=False, init=False, repr=False)

    def start(self) -> None:
        """Start a local Ray (``workers`` CPUs, no dashboard) or join the cluster; a failure is one line."""
        if self._started:
            return
        ray = _ray()
        if self.address is not None:
            _check_answers(self.address)
        try:
            if self.address is None:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False,
                         ignore_reinit_error=True)
            else:
                ray.init(address=self.address, log_to_driver=False, ignore_reinit_error=True)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as error:
            where = self.address or "local"
            raise UsageError(f"--executor ray:{where}: Ray did not start or answer ({str(error).splitlines()[0]})"
                             ) from None
        self._started = True

    def stop(self) -> None:
        """Disconnect from Ray (and stop the local one this executor started)."""
        if self._started:
            _ray().shutdown()
            self._started = False

    def run(self, job_function: JobFunction, jobs: Sequence[Any],
            on_progress: Callable[[int, float], None] | None = None,
            on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
        """Outcomes in the order of ``jobs``; progress is reported per job (0 then 1: tasks report no fractions)."""
        if not jobs:
            return []
        self.start()
        ray = _ray()
        task = ray.remote(num_cpus=1, max_calls=1 if self.fresh_process_per_job else 0,
                          max_retries=self.max_retries, retry_exceptions=False)(_run_without_progress)
        function_ref = ray.put(job_function)
        # At most ``workers`` tasks at once: a cluster's other CPUs stay free for others.
        waiting = list(enumerate(jobs))
        running: dict[Any, int] = {}
        results: dict[int, Any] = {}
        try:
            while waiting or running:
                while waiting and len(running) < self.workers:
                    index, job = waiting.pop(0)
                    running[task.remote(function_ref, job)] = index
                    if on_progress:
                        on_progress(index, 0.0)
                finished, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
                for ref in finished:
                    index = running.pop(ref)
                    results[index] = self._result(ray, ref, index)
                    if on_progress:
                        on_progress(index, 1.0)
                    if on_done:
                        on_done(index, results[index])
        except BaseException:
            for ref in running:
                ray.cancel(ref, force=True)
            raise
        return [results[index] for index in range(len(jobs))]

    @staticmethod
    def _result(ray: Any, ref: Any, index: int) -> Any:
        try:
            return ray.get(ref)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                ray.exceptions.ActorDiedError, ray.exceptions.LocalRayletDiedError):
            raise WorkerDiedError(index) from None
        except ray.exceptions.RayTaskError as error:
            cause = error.as_instanceof_cause()
            raise cause from None


def _run_without_progress(job_function: JobFunction, job: Any) -> Any:
    return job_function(job, None)


def _check_answers(address: str) -> None:
    """A one-line :class:`UsageError` unless something listens at ``address`` (``HOST:PORT`` or
    ``ray://HOST:PORT``): Ray itself would wait for minutes before it gave up."""
    if address.strip().lower() == "auto":
        return
    host, _, port = address.strip().removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--executor ray:{address}: not HOST:PORT (the head node's address, e.g. 10.0.0.5:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise UsageError(f"--executor ray:{address}: the Ray cluster does not answer ({error.strerror or error}); "
                         "nothing was run") from None


def parse_executor(text: str, workers: int) -> Any:
    """``local`` -> the local process pool; ``ray`` -> a local Ray; ``ray:ADDRESS`` -> the cluster at ADDRESS."""
    from greendc.workflows.executor import LocalProcessExecutor

    kind, _, address = text.strip().partition(":")
    if kind == "local" and not address:
        return LocalProcessExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address.strip() or None)
    raise UsageError(f"--executor: {text!r} is not local, ray or ray:ADDRESS")
