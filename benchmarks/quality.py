"""Quantized vs fp32 quality on a labelled similarity task: Rotten Tomatoes fresh vs rotten.

No registry package ships STS or a retrieval set (see shared/DATA.md), so quality is
measured on the labelled movie snippets (Pang & Lee 2004): 4,866 fresh/rotten texts
("plot" rows left out), embedded by dfembed with the fp32 all-MiniLM-L6-v2 and its int8
variants: ``int8`` is the offline model ``minilm-dynq8`` (ONNX Runtime's dynamic
quantization, int8 compute), the one the issue's target is about; ``int8-weights`` is the
registry's ``minilm-int8`` (int8 weights cast back to fp32), compared only on request.

- k-NN accuracy: each snippet's label predicted by a majority vote of its 11 nearest
  neighbours by cosine (leave-one-out). This is purely a similarity measure: it moves only
  if the geometry of the embedding space moves.
- linear probe: 5-fold cross-validated logistic regression accuracy (fixed folds).

Both in percentage points; the issue's target is int8 within 0.5 points of fp32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import common

K = 11


def knn_accuracy(vectors, labels: np.ndarray, k: int = K) -> float:
    """Leave-one-out k-NN (cosine, majority vote) accuracy in percent; dense or scipy sparse
    vectors (an all-zero row has no neighbours by cosine: it gets similarity 0 to all)."""
    if isinstance(vectors, np.ndarray):
        v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        sims = v @ v.T
    else:
        from sklearn.preprocessing import normalize

        v = normalize(vectors.tocsr())
        sims = (v @ v.T).toarray()
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argpartition(-sims, k, axis=1)[:, :k]
    votes = labels[nearest].mean(axis=1)
    return float(100 * np.mean((votes > 0.5) == labels))


def probe_accuracy(vectors: np.ndarray, labels: np.ndarray) -> float:
    """5-fold cross-validated logistic-regression accuracy in percent (fixed folds)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = cross_val_score(LogisticRegression(max_iter=2000), vectors, labels, cv=folds)
    return float(100 * scores.mean())


def run(
    models: dict[str, str], threads: int, max_length: int, out: Path, limit: int | None = None
) -> dict:
    """Embed the labelled snippets with each model (child processes); print and return scores.

    ``models`` maps a label to a model folder; the label ``fp32`` is the reference the
    others are compared with (``benchmarks.throughput`` uses ``int8`` for ``minilm-dynq8``).
    """
    from tools.datasets import rotten_tomatoes

    df = rotten_tomatoes()
    df = df[df["category"].isin(["fresh", "rotten"])].drop_duplicates("text")
    if limit is not None and limit < len(df):
        df = df.sample(limit, random_state=0).sort_index()
    labels = (df["category"] == "fresh").to_numpy()
    corpus = common.save_texts(df["text"].tolist(), out / "quality.json")
    scores, rows = {}, []
    for name, model in models.items():
        save = str(out / f"quality-{name}.npy")
        run = common.run_in_child(
            "benchmarks.contenders:dfembed_text",
            corpus=corpus,
            model=model,
            threads=threads,
            max_length=max_length,
            save=save,
        )
        if "error" in run:
            raise common.BenchmarkError(f"quality run {name} failed: {run['error']}")
        vectors = np.load(save)
        scores[name] = {
            "knn": knn_accuracy(vectors, labels),
            "probe": probe_accuracy(vectors, labels),
            "docs_s": len(labels) / run["seconds"],
            "vectors": vectors,
        }
    ref = scores["fp32"]
    result: dict = {"rows": len(labels)}
    for name, s in scores.items():
        cos = common.cosines(ref["vectors"], s["vectors"])
        knn_delta, probe_delta = s["knn"] - ref["knn"], s["probe"] - ref["probe"]
        rows.append([name, s["knn"], knn_delta, s["probe"], probe_delta, float(cos.min())])
        result[name] = {
            "knn": s["knn"],
            "probe": s["probe"],
            "knn_delta": knn_delta,
            "probe_delta": probe_delta,
            "cos_min": float(cos.min()),
            "cos_mean": float(cos.mean()),
            "docs_s": s["docs_s"],
        }
    print(
        f"\n### Quantized vs fp32 quality: {len(labels):,} Rotten Tomatoes fresh/rotten snippets\n"
    )
    headers = [
        "model",
        f"{K}-NN acc %",
        "Δ points",
        "linear probe %",
        "Δ points",
        "min cos vs fp32",
    ]
    print(common.table(headers, rows, (0, 2, 2, 2, 2, 4)))
    return result
