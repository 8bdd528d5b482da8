"""Engines turn pandas partitions into encoder calls: in process, or on Dask workers."""
