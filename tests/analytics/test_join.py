"""dfembed.similarity_join: each left row with its k best right rows, pandas or Dask each side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dfembed
from tests.analytics.common import brute_scores, column, to_dask, unit_rows

LEFT = unit_rows(40, 12, seed=10)
RIGHT = unit_rows(90, 12, seed=11, copies={20: [21, 70]})
LEFT[5] = RIGHT[20]  # a left row whose best match is tied three ways across the right side
LEFT_NULL, RIGHT_NULL = [2], [50]


def _frames():
    left_labels = [f"p{i}" for i in range(40)]
    right_labels = [f"c{i}" for i in range(90)]
    products = pd.DataFrame(
        {"name": [f"product {i}" for i in range(40)], "vec": column(LEFT, LEFT_NULL, left_labels)},
        index=left_labels,
    )
    catalogue = pd.DataFrame(
        {
            "name": [f"entry {i}" for i in range(90)],
            "price": np.arange(90) * 1.5,
            "vec": column(RIGHT, RIGHT_NULL, right_labels),
        },
        index=right_labels,
    )
    return products, catalogue


def _expected(k, threshold):
    """The join by brute force: stable sort of each left row's scores."""
    scores = brute_scores(LEFT, RIGHT)
    scores[:, RIGHT_NULL] = -np.inf
    rows = []
    for i in range(len(LEFT)):
        if i in LEFT_NULL:
            continue
        order = np.argsort(-scores[i], kind="stable")
        order = order[np.isfinite(scores[i, order])]
        if threshold is not None:
            order = order[scores[i, order] >= np.float32(threshold)]
        for rank, j in enumerate(order[:k] if k else order, start=1):
            rows.append(
                {
                    "label": f"p{i}",
                    "name_left": f"product {i}",
                    "name_right": f"entry {j}",
                    "price": j * 1.5,
                    "right_index": f"c{j}",
                    "rank": rank,
                    "score": scores[i, j],
                }
            )
    return pd.DataFrame(rows).set_index("label").rename_axis(None)


def _check(result, k, threshold):
    expected = _expected(k, threshold)
    pd.testing.assert_frame_equal(
        result, expected, check_dtype=False, check_index_type=False, check_exact=True
    )


@pytest.mark.parametrize(("k", "threshold"), [(3, None), (2, 0.3), (None, 0.25)])
def test_pandas_join_equals_the_brute_force(k, threshold):
    products, catalogue = _frames()
    with pytest.warns(dfembed.SkippedRowsWarning, match="2 null rows"):
        result = dfembed.similarity_join(products, catalogue, on="vec", k=k, threshold=threshold)
    _check(result, k, threshold)
    tied = result.loc["p5"]  # ties in row order
    assert list(tied["right_index"][:3]) == ["c20", "c21", "c70"][: k or 3]


@pytest.mark.parametrize("sides", ["dask-pandas", "pandas-dask", "dask-dask"])
def test_dask_join_equals_pandas(sides):
    products, catalogue = _frames()
    left = to_dask(products, 3) if sides.startswith("dask") else products
    right = to_dask(catalogue, 4) if sides.endswith("dask") else catalogue
    result = dfembed.similarity_join(left, right, on="vec", k=2, threshold=0.2, split_every=2)
    assert result.npartitions == (3 if sides.startswith("dask") else 1)
    with pytest.warns(dfembed.SkippedRowsWarning):
        computed = result.compute(scheduler="sync")
    _check(computed, 2, 0.2)


def test_left_on_and_right_on_and_no_suffix_without_a_clash():
    products, catalogue = _frames()
    products = products.rename(columns={"vec": "v", "name": "product"})
    with pytest.warns(dfembed.SkippedRowsWarning):
        result = dfembed.similarity_join(products, catalogue, left_on="v", right_on="vec")
    assert list(result.columns) == ["product", "name", "price", "right_index", "rank", "score"]
    assert (result["rank"] == 1).all()
