"""The analytics tests that need a cluster share the Dask engine tests' two-worker one."""

from tests.engine.conftest import client  # noqa: F401 - a fixture, found by pytest by name
