"""Where parallel server work runs: inline, a local process pool, or Ray (local or a cluster)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any, Protocol, TypeVar

from fedledger.errors import ConfigError

__all__ = [
    "ENGINES",
    "Engine",
    "EngineUnavailable",
    "InlineEngine",
    "ProcessEngine",
    "RayEngine",
    "import_ray",
    "make_engine",
    "start_ray",
]

T = TypeVar("T")
R = TypeVar("R")

ENGINES = ("inline", "process", "ray")
"""Engine names accepted by `make_engine` (and the CLI's --engine)."""

RAY_EXTRA = "fedledger[ray]"
_LOCAL_OBJECT_STORE = 256 * 1024 * 1024  # bytes: partial vectors and messages, not datasets


class EngineUnavailable(ConfigError):
    """The requested engine cannot run here (its optional dependency is not installed)."""


class Engine(Protocol):
    """Maps a picklable function over work items; results come back in any order.

    At most `in_flight` items are submitted ahead of the consumer, so a consumer that
    folds each result into an accumulator keeps memory bounded by that many results.
    """

    name: str
    workers: int

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """fn(item) for every item, in completion order."""
        ...

    def close(self) -> None:
        """Release workers (idempotent)."""
        ...


class InlineEngine:
    """Runs every item in the calling thread (the sequential reference)."""

    name = "inline"
    workers = 1

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """fn(item) for every item, in order."""
        return (fn(item) for item in items)

    def close(self) -> None:
        """Nothing to release."""


def _bounded(submit: Callable[[T], Future[R]], items: Iterable[T], in_flight: int) -> Iterator[R]:
    """Keep at most `in_flight` futures pending; yield results as they complete."""
    pending: set[Future[R]] = set()
    for item in items:
        pending.add(submit(item))
        if len(pending) >= in_flight:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for f in done:
            yield f.result()


class ProcessEngine:
    """A local pool of `workers` processes (spawned, so a threaded parent is safe to fork from)."""

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        workers = workers if workers is not None else max(1, os.cpu_count() or 1)
        if workers < 1:
            raise ConfigError(f"process engine: workers must be >= 1, got {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """fn(item) in the pool, at most 2 items per worker in flight."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        pool = self._pool
        return _bounded(lambda item: pool.submit(fn, item), items, 2 * self.workers)

    def close(self) -> None:
        """Shut the pool down (it is started again on the next map)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def import_ray() -> Any:
    """The `ray` module, or EngineUnavailable naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise EngineUnavailable(
            f"the Ray engine needs Ray, which is not installed: pip install '{RAY_EXTRA}'"
        ) from None
    return ray


def start_ray(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Connect to the Ray cluster at `address`, or start a local Ray; True if we started it.

    A local Ray gets at most `num_cpus` CPUs (default: this machine's), no dashboard and
    only the loopback interface; an already initialised Ray is reused as it is.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False)
        return True
    cpus = num_cpus if num_cpus is not None else max(1, os.cpu_count() or 1)
    ray.init(
        address="local",  # always a new local instance, never one RAY_ADDRESS points at
        num_cpus=cpus,
        object_store_memory=_LOCAL_OBJECT_STORE,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        configure_logging=False,
    )
    return True


class RayEngine:
    """Ray tasks: on the cluster at `address`, else on a local Ray started (and stopped) here."""

    name = "ray"

    def __init__(self, address: str | None = None, *, workers: int | None = None) -> None:
        self.address = address
        self._started = start_ray(address, num_cpus=workers)
        ray = import_ray()
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._remote: dict[Callable[..., Any], Any] = {}

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """fn(item) as Ray tasks, at most 2 per CPU of the cluster in flight."""
        ray = import_ray()
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = ray.remote(fn)
        return self._gen(ray, remote, items)

    def _gen(self, ray: Any, remote: Any, items: Iterable[T]) -> Iterator[Any]:
        pending: list[Any] = []
        limit = 2 * self.workers
        for item in items:
            pending.append(remote.remote(item))
            if len(pending) >= limit:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])

    def close(self) -> None:
        """Shut Ray down if this engine started or connected it."""
        if self._started:
            import_ray().shutdown()
            self._started = False


def make_engine(
    name: str = "inline", *, workers: int | None = None, ray_address: str | None = None
) -> Engine:
    """The engine called `name` (one of ENGINES); a `ray_address` implies the Ray engine."""
    if ray_address:
        name = "ray"
    if name == "inline":
        return InlineEngine()
    if name == "process":
        return ProcessEngine(workers)
    if name == "ray":
        return RayEngine(ray_address, workers=workers)
    raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {name!r}")
