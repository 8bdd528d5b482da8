"""Developer tools for dfembed: offline model folders, real data sets, reference vectors.

Nothing here is part of the installed package; tests, benchmarks and the demo use it.
"""
