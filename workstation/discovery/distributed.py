"""The optional Dask backend: the same tasks on a dask.distributed cluster.

`distributed` is an optional dependency; importing this module without it raises a clear error.
With no scheduler address a LocalCluster of `workers` processes is started for the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any


def available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def run_on_dask(
    call: Callable[..., Any], jobs: Sequence[tuple[Any, ...]], scheduler: str | None, workers: int
) -> Iterator[tuple[int, Any]]:
    """Yield (job index, result) as jobs finish; each job is the argument tuple of `call`."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise RuntimeError(
            "the dask backend needs the optional packages dask and distributed (pip install 'dask[distributed]')"
        ) from exc
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = [client.submit(call, *job, pure=False) for job in jobs]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            yield index[fut.key], fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
