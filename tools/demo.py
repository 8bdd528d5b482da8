"""The README's demo: embed 5,022 real movie snippets and search them by meaning.

Runs offline: the model is all-MiniLM-L6-v2 (int8 ONNX) built by ``tools.offline_models``
and the data is the Rotten Tomatoes snippet corpus (Pang & Lee 2004) shipped in a package.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import dfembed
from tools.datasets import rotten_tomatoes
from tools.offline_models import build

QUERIES = (
    "a heartwarming story about a family",
    "a boring film with terrible acting",
    "a scary horror movie",
)


def main() -> None:
    model = str(build("minilm-int8"))
    reviews = rotten_tomatoes()
    print(f"{len(reviews):,} Rotten Tomatoes snippets, model {model}")
    started = time.perf_counter()
    reviews["vec"] = reviews.embed.text("text", model=model, progress=True)
    seconds = time.perf_counter() - started
    rate = len(reviews) / seconds
    print(f"embedded {len(reviews):,} rows in {seconds:.1f} s: {rate:,.0f} rows/s")
    matrix = dfembed.to_numpy(reviews["vec"])
    queries = dfembed.to_numpy(pd.Series(QUERIES).embed.text(model=model, query=True))
    for query, vector in zip(QUERIES, queries, strict=True):
        scores = matrix @ vector
        top = np.argsort(-scores)[:3]
        print(f"\nquery: {query!r}")
        for i in top:
            row = reviews.iloc[i]
            print(f"  {scores[i]:.3f}  [{row['category']}] {row['text'][:100]}")


if __name__ == "__main__":
    main()
