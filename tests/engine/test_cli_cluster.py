"""A cluster as it runs across nodes: ``dask scheduler`` and ``dask worker`` processes.

Worker names here are addresses, not ints, so device assignment must come from the
scheduler's local ranks; the CLI is pointed at the scheduler with ``--scheduler``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dfembed_text(src, out, model, *extra: str, env=None) -> subprocess.CompletedProcess:
    """Run ``dfembed text SRC --column body --output OUT --model MODEL EXTRA...``."""
    command = [
        str(BIN / "dfembed"),
        "text",
        str(src),
        "--column",
        "body",
        "--output",
        str(out),
        "--model",
        model,
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture()
def cli_cluster(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_TEMPORARY_DIRECTORY": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    for _ in range(2):
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--dashboard-address",
                    ":0",
                    "--local-directory",
                    str(tmp_path),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    from distributed import Client

    client = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client = Client(address, timeout=5, set_as_default=False)
                client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address, client
    finally:
        if client is not None:
            client.close()
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.slow
def test_cli_on_a_scheduler_with_address_named_workers(cli_cluster, tmp_path, minilm_int8):
    address, client = cli_cluster
    names = {w["name"] for w in client.scheduler_info()["workers"].values()}
    assert all(isinstance(n, str) and n.startswith("tcp://") for n in names)

    texts = [f"text {i} about {'rain' if i % 3 else 'music'}" for i in range(300)]
    df = pd.DataFrame({"body": texts})
    df.loc[7, "body"] = None
    src = tmp_path / "in.parquet"
    df.to_parquet(src)
    out = tmp_path / "out.parquet"
    run = _dfembed_text(src, out, minilm_int8, "--scheduler", address)
    assert run.returncode == 0, run.stderr
    assert "embedded 300 rows" in run.stdout
    # one row group in the file, but every worker gets work: two partitions per thread
    threads = sum(client.nthreads().values())
    assert f"on Dask ({2 * threads} partitions)" in run.stdout, run.stdout
    back = dfembed.read_parquet(out)
    assert back.index.tolist() == df.index.tolist()
    expected = df.embed.text("body", model=minilm_int8, name="embedding")
    np.testing.assert_allclose(
        dfembed.to_numpy(back["embedding"]), dfembed.to_numpy(expected), atol=1e-5
    )

    # The scheduler gave the two address-named workers of this host distinct local ranks,
    # so device_ids round-robin works: each planned a different device from [0, 1].
    with client.as_current():
        import dask.dataframe as dd

        ddf = dd.from_pandas(df, npartitions=4)
        ddf.embed.text("body", model=minilm_int8, cuda="auto", device_ids=[0, 1]).compute()
        table = dfembed.devices(client)
    rows = table[table["model"] == minilm_int8]
    spread = rows[rows["device_id"].notna()]
    assert sorted(spread.groupby("worker")["local_rank"].first()) == [0, 1]
    assert set(spread["device_id"]) == {0, 1}


@pytest.mark.slow
def test_cli_with_local_workers(tmp_path, minilm_int8):
    df = pd.DataFrame({"body": ["alpha beta", "gamma", None, "delta epsilon"] * 5})
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "out.parquet"
    env = {**os.environ, "DASK_TEMPORARY_DIRECTORY": str(tmp_path)}
    run = _dfembed_text(src, out, minilm_int8, "--workers", "2", env=env)
    assert run.returncode == 0, run.stderr
    back = pd.read_parquet(out)
    assert len(back) == 20 and back["embedding"].isna().sum() == 5
