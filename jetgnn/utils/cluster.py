"""Scale-out on Dask (``dask.distributed``): ``jetgnn generate`` / ``jetgnn predict --scheduler [ADDRESS]``.

The work is already cut into independent, seeded units that each write one file atomically (generation chunks,
prediction parts); Dask only places them on workers. Every unit's file lands in a folder beside the output, so
the cluster's workers and the submitting process must share that file system (as on a batch farm). The merge
stays on the submitting process.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence

from jetgnn.errors import InputError, MissingExtraError

#: ``--scheduler`` without an address: a LocalCluster on this machine
LOCAL = "local"


def _distributed(feature: str):
    try:
        import distributed
    except ImportError as err:
        raise MissingExtraError("scaleout", "dask[distributed]", feature) from err
    return distributed


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int, feature: str) -> Iterator[object]:
    """A Dask client: ``scheduler`` "local" starts a LocalCluster of ``workers`` single-threaded worker
    processes (closed afterwards); otherwise the address of a running scheduler (``tcp://host:8786``), given up
    after dask's config value ``jetgnn.scheduler-timeout`` (default 20 s; environment
    ``DASK_JETGNN__SCHEDULER_TIMEOUT=5s``)."""
    distributed = _distributed(feature)
    if scheduler == LOCAL:
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        import dask

        client = distributed.Client(scheduler, timeout=dask.config.get("jetgnn.scheduler-timeout", "20s"))
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} ({err.__class__.__name__}: {err}); "
                         f"start one with `dask scheduler` or pass --scheduler without an address for a "
                         f"LocalCluster") from None
    with client:
        yield client


def run_on_dask(client, function: Callable, tasks: Sequence, on_result: Callable[[object, object], None],
                name: str) -> None:
    """``function(task)`` for every task on the cluster; ``on_result(task, result)`` as each finishes (in this
    process). The first failure cancels the rest and is raised."""
    distributed = _distributed("running on Dask")
    run = uuid.uuid4().hex[:8]
    futures = {client.submit(function, task, key=f"{name}-{run}-{k}", pure=False): task
               for k, task in enumerate(tasks)}
    try:
        for future, result in distributed.as_completed(list(futures), with_results=True):
            on_result(futures[future], result)
    except BaseException:
        client.cancel(list(futures))
        raise


def task_range(value, n: int, option: str, what: str, hint: str = "") -> tuple[int, int]:
    """A job-array task's ``(start, stop)`` of ``n`` units (``--chunks`` / ``--files``), checked: one InputError
    for a value that is not two integers or a range outside ``0:n`` (``what`` names the units)."""
    try:
        start, stop = (int(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"{option} must be start:stop (two integers), got {value!r}") from None
    if not 0 <= start < stop <= n:
        raise InputError(f"{option} {start}:{stop} is outside the {what} (0:{n}{hint})")
    return start, stop
