"""Encoders: one per kind of model. They take a list of inputs and return arrays, and know
nothing about pandas or Dask."""
