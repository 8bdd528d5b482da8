"""Benchmarks that prove dfembed's speed and memory claims on real data and real weights.

Each script prints plain-text tables and runs with one command::

    .venv/bin/python -m benchmarks.throughput   # dfembed vs fastembed, sentence-transformers, ORT
    .venv/bin/python -m benchmarks.scaling      # 1 vs 2 Dask workers, Dask overhead, 1M-row RSS
    .venv/bin/python -m benchmarks.dedup        # a 50%-duplicate column, dedup on vs off
    .venv/bin/python -m benchmarks.stages       # where dfembed's time goes (stages, cProfile)
    .venv/bin/python -m benchmarks.budget       # token budget sweep (batch shapes vs speed)
    .venv/bin/python -m benchmarks.endtoend     # parquet to parquet on Dask vs hand-written code
    .venv/bin/python -m benchmarks.coldstart    # launch to first vector, cold and warm
    .venv/bin/python -m benchmarks.versions --before DIR --after .   # is a change slower?

Every script but ``fusion`` and ``gpu`` takes ``--quick`` for a short run (``fusion`` is
short already; ``gpu`` takes ``--model DIR``). Nothing here is imported by dfembed itself.
"""
