"""Image embeddings on a real two-worker cluster give what pandas gives, faults included."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import InputError


@pytest.fixture(scope="module")
def image_frame(tmp_path_factory) -> pd.DataFrame:
    """Absolute paths, bytes, a missing cell and a missing file, under a string index."""
    from tools.datasets import photos

    folder = tmp_path_factory.mktemp("photos")
    images = photos()
    cells = []
    for name in ("chelsea", "coffee", "rocket", "camera"):
        path = folder / f"{name}.jpg"
        images[name].convert("RGB").save(path, quality=90)
        cells.append(str(path))
    cells += [(folder / "coffee.jpg").read_bytes(), None, str(folder / "gone.jpg"), images["horse"]]
    index = [f"row-{i}" for i in (7, 3, 8, 1, 6, 2, 5, 4)]
    return pd.DataFrame({"img": cells, "n": range(len(cells))}, index=index)


@pytest.mark.slow
def test_dask_images_equal_pandas_images(client, dinov2_small, image_frame):
    with pytest.warns(UserWarning, match="1 image"):
        expected = image_frame.embed.image("img", model=dinov2_small, on_error="null")
    assert expected.isna().tolist() == [False] * 5 + [True, True, False]

    # bytes and PIL cells need Dask to keep the column as objects (see the README)
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(image_frame, npartitions=3, sort=False)
        lazy = ddf.embed.image("img", model=dinov2_small, on_error="null", batch_size=2)
        result = ddf.assign(vec=lazy).compute()["vec"]
        with pytest.raises(InputError, match="index label 'row-5'.*no such file"):
            ddf.embed.image("img", model=dinov2_small).compute()
    assert result.index.tolist() == expected.index.tolist()
    assert result.isna().tolist() == expected.isna().tolist()
    np.testing.assert_allclose(dfembed.to_numpy(result), dfembed.to_numpy(expected), atol=1e-5)


@pytest.mark.slow
def test_dask_string_conversion_of_pil_cells_is_explained(client, dinov2_small, image_frame):
    ddf = dd.from_pandas(image_frame.iloc[[0, 7]], npartitions=1)  # Dask's default: strings
    with pytest.raises(InputError, match="dataframe.convert-string"):
        ddf.embed.image("img", model=dinov2_small).compute()
