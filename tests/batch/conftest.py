"""Fixtures of the batch tests."""

from __future__ import annotations

from collections.abc import Iterator

import dask
import distributed  # noqa: F401  (before dask.config.set, which would drop its defaults)
import pytest

from consentclip.cluster import start_local_cluster


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """One LocalCluster per test module, reached by address like a remote cluster. One retry
    (allowed-failures 1) keeps the "dies every time" test short; production keeps Dask's 3."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = start_local_cluster(2)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
