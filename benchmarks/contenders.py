"""The embedding runs being compared; each runs inside its own child process.

Every function reads the corpus from a file, builds its model (timed as ``load_s``,
together with a warm-up on the first 32 texts so that one-off allocations are not
charged to the run), then times one pass over the whole corpus (``seconds``). With
``save`` set it writes the vectors there (``.npy``) for the agreement check.

All the fp32 ones use the same ONNX file (or, for sentence-transformers, the safetensors it
was exported from); the int8 ones a quantized copy of it. All use the same truncation and
the same number of threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from .common import load_texts

WARMUP = 32


def _measure(
    make: Callable[[], Callable[[list[str]], np.ndarray]], corpus: str, save: str | None
) -> dict:
    texts = load_texts(corpus)
    started = time.perf_counter()
    embed = make()
    embed(texts[:WARMUP])
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors = embed(texts)
    seconds = time.perf_counter() - started
    if vectors.shape[0] != len(texts):
        raise AssertionError(f"{vectors.shape[0]} vectors for {len(texts)} texts")
    if save and not isinstance(vectors, np.ndarray):  # a scipy sparse matrix
        import scipy.sparse

        scipy.sparse.save_npz(save, vectors.tocsr())
    elif save:
        np.save(save, np.asarray(vectors, dtype=np.float32))
    return {"seconds": seconds, "load_s": load_s, "rows": len(texts)}


def dfembed_text(
    corpus: str,
    model: str,
    threads: int,
    max_length: int | None,
    save: str | None = None,
    dedup: bool = True,
    token_budget: int | None = None,
    session_options: dict | None = None,
) -> dict:
    """dfembed in process: ``df.embed.text`` on a one-column DataFrame, then ``to_numpy``."""

    def make():
        import pandas as pd

        import dfembed

        options = {"model": model, "threads": threads, "max_length": max_length, "dedup": dedup}
        if token_budget is not None:
            options["token_budget"] = token_budget
        if session_options:
            options["session_options"] = session_options

        def embed(texts: list[str]) -> np.ndarray:
            frame = pd.DataFrame({"text": texts})
            return dfembed.to_numpy(frame.embed.text("text", **options))

        return embed

    return _measure(make, corpus, save)


def dfembed_sparse(
    corpus: str,
    model: str,
    threads: int,
    max_length: int | None,
    save: str | None = None,
    session_options: dict | None = None,
) -> dict:
    """dfembed in process: ``df.embed.sparse`` (SPLADE), then a scipy CSR matrix (``.npz``)."""

    def make():
        import pandas as pd

        import dfembed

        options = {"model": model, "threads": threads, "max_length": max_length}
        if session_options:
            options["session_options"] = session_options

        def embed(texts: list[str]):
            frame = pd.DataFrame({"text": texts})
            return dfembed.to_scipy(frame.embed.sparse("text", **options), dim=30522)

        return embed

    return _measure(make, corpus, save)


def fastembed_text(
    corpus: str,
    model: str,
    threads: int,
    max_length: int,
    save: str | None = None,
    custom_dim: int | None = None,
) -> dict:
    """fastembed 0.9.1 ``TextEmbedding`` on the same folder, CPU provider, default batch 256.

    fastembed reads ``model_max_length`` (512) from tokenizer_config.json; its tokenizer is
    re-truncated to ``max_length`` after loading so every contender sees the same tokens.
    With ``custom_dim`` the folder is registered as a custom model (mean pooling, unit
    length, that many dims), as a user would for a model fastembed does not list
    (all-mpnet-base-v2).
    """

    def make():
        from fastembed import TextEmbedding

        name = "sentence-transformers/all-MiniLM-L6-v2"
        if custom_dim is not None:
            name = _fastembed_custom(custom_dim)
        m = TextEmbedding(
            model_name=name,
            specific_model_path=model,
            threads=threads,
            providers=["CPUExecutionProvider"],
        )
        tok = m.model.tokenizer
        tok.enable_truncation(max_length=max_length, direction=tok.truncation["direction"])
        return lambda texts: np.stack(list(m.embed(texts)))

    return _measure(make, corpus, save)


def _fastembed_custom(dim: int) -> str:
    """Register a mean-pooled, normalized custom model with fastembed; return its name."""
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    name = f"dfembed-bench/custom-{dim}"
    TextEmbedding.add_custom_model(
        model=name,
        pooling=PoolingType.MEAN,
        normalization=True,
        sources=ModelSource(hf=name),  # never fetched: the folder is given
        dim=dim,
        model_file="model.onnx",
    )
    return name


def st_text(
    corpus: str,
    model: str,
    threads: int,
    max_length: int,
    save: str | None = None,
    batch_size: int = 32,
) -> dict:
    """sentence-transformers on torch CPU (it sorts by length itself), batch 32, fp32."""

    def make():
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        st = SentenceTransformer(model, device="cpu", local_files_only=True)
        st.max_seq_length = max_length

        def embed(texts: list[str]) -> np.ndarray:
            with torch.inference_mode():
                return st.encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )

        return embed

    return _measure(make, corpus, save)


def _ort_batches(lengths: np.ndarray, order: str, batch: int, budget: int | None) -> list:
    """Positions per batch: fixed ``batch`` rows in corpus or sorted order, or a token budget."""
    idx = np.arange(len(lengths)) if order == "corpus" else np.argsort(-lengths, kind="stable")
    if budget is None:
        return [idx[i : i + batch] for i in range(0, len(idx), batch)]
    out, start = [], 0
    while start < len(idx):
        rows = max(1, budget // max(int(lengths[idx[start]]), 1))
        out.append(idx[start : start + rows])
        start += rows
    return out


def ort_loop(
    corpus: str,
    model: str,
    threads: int,
    max_length: int,
    save: str | None = None,
    order: str = "corpus",
    batch: int = 32,
    budget: int | None = None,
    arena: bool = True,
) -> dict:
    """A plain onnxruntime loop: tokenize all, pad per batch, run, mean-pool, normalize.

    ``order="corpus"`` keeps the input order; ``"sorted"`` sorts by token length (longest
    first); ``budget`` sizes sorted batches by padded tokens instead of a fixed row count;
    ``arena=False`` turns ONNX Runtime's CPU memory arena off (it keeps its peak allocation).
    """

    return _measure(
        lambda: plain_loop(model, threads, max_length, order, batch, budget, arena), corpus, save
    )


def plain_loop(
    model: str,
    threads: int,
    max_length: int,
    order: str = "sorted",
    batch: int = 32,
    budget: int | None = 1024,
    arena: bool = True,
) -> Callable[[list[str]], np.ndarray]:
    """The embed function of :func:`ort_loop` (also run in process by ``benchmarks.fusion``)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(f"{model}/tokenizer.json")
    tok.no_padding()
    tok.enable_truncation(max_length)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = arena
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(
        f"{model}/model.onnx", sess_options=so, providers=["CPUExecutionProvider"]
    )

    def embed(texts: list[str]) -> np.ndarray:
        enc = tok.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in enc])
        out = None
        for pos in _ort_batches(lengths, order, batch, budget):
            vectors = _run_padded(sess, [enc[i] for i in pos])
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[pos] = vectors
        return out

    return embed


def _run_padded(sess, rows: Sequence) -> np.ndarray:
    width = max(len(e.ids) for e in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for r, e in enumerate(rows):
        ids[r, : len(e.ids)] = e.ids
        mask[r, : len(e.ids)] = 1
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    wanted = {i.name for i in sess.get_inputs()}  # MPNet has no token_type_ids
    hidden = sess.run(["last_hidden_state"], {k: v for k, v in feed.items() if k in wanted})[0]
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
