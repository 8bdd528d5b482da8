"""The ``/dfembed`` dashboard page: the workers' reports, the scheduler's board, the page."""

from __future__ import annotations

import re
import shutil
import time
import urllib.request

import dask.dataframe as dd
import pandas as pd
import pytest

from dfembed import WorkerError
from dfembed.engine.dashboard import SessionBoard
from dfembed.engine.reports import TOPIC

DETAILS = {"model": "m", "kind": "text", "local_rank": 1, "device": "cpu", "provider": None}


def _msg(rows=0, seconds=0.0, worker="tcp://10.0.0.2:4000", **extra) -> dict:
    return {
        "worker": worker,
        "session": "dfembed-abc",
        "rows": rows,
        "tokens": 3 * rows,
        "seconds": seconds,
        **extra,
    }


def test_rate_counts_the_rows_of_the_last_minute():
    board = SessionBoard(window=60.0)
    board.record(0.0, _msg(details=DETAILS))  # the session is set up: no rows yet
    session = board.sessions[("tcp://10.0.0.2:4000", "dfembed-abc")]
    assert board.rows_per_second(session, 5.0) == 0.0
    board.record(110.0, _msg(rows=100, seconds=10.0))  # first task ran from t=100 to t=110
    assert board.rows_per_second(session, 110.0) == pytest.approx(10.0)  # 100 rows / 10 s
    board.record(120.0, _msg(rows=200, seconds=10.0))
    assert board.rows_per_second(session, 130.0) == pytest.approx(300 / 30)  # younger than 1 min
    assert board.rows_per_second(session, 175.0) == pytest.approx(200 / 60)  # t=110 left the window
    assert board.rows_per_second(session, 181.0) == 0.0
    table = board.table(181.0)
    assert (table["rows"], table["tokens"], table["host"]) == ([300], [900], ["10.0.0.2"])
    assert (table["local_rank"], table["model"], table["rows_per_s"]) == (["1"], ["m"], [0.0])


def test_last_error_is_kept_until_the_worker_leaves():
    board = SessionBoard()
    board.record(10.0, _msg(details=DETAILS, error="WorkerError: could not load m"))
    board.record(20.0, _msg(rows=5, seconds=1.0))  # a later task ran: the error is still news
    assert board.table(25.0)["error"] == ["(15 s ago) WorkerError: could not load m"]
    board.record(30.0, _msg(worker="tcp://10.0.0.3:4000", details={**DETAILS, "local_rank": 0}))
    board.forget_worker("tcp://10.0.0.2:4000")
    table = board.table(31.0)
    assert (table["host"], table["error"]) == (["10.0.0.3"], [""])


def test_plugin_picks_up_reports_logged_before_it_started():
    """A scheduler plugin registered late replays Dask's event log, then follows it live."""
    import asyncio

    from dfembed.engine.dashboard import DashboardPlugin

    class Scheduler:  # no dashboard: the page is skipped, the board still kept
        workers: dict = {}

        def get_events(self, topic):
            return ((5.0, _msg(rows=10, seconds=1.0, details=DETAILS)),) if topic == TOPIC else ()

    plugin = DashboardPlugin()
    asyncio.run(plugin.start(Scheduler()))
    plugin.log_event(TOPIC, _msg(rows=4, seconds=1.0))
    plugin.log_event("other-topic", _msg(rows=1000))
    table = plugin.table()
    assert (table["rows"], table["tokens"], table["provider"]) == ([14], [42], ["not loaded"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    from tests.tiny_models import build_tiny_text_model

    return str(build_tiny_text_model(tmp_path_factory.mktemp("dash") / "tiny-dash"))


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"body": [f"row {i} " + "cats purr " * (i % 7) for i in range(n)]})


def _board(client, model: str) -> pd.DataFrame:
    from dfembed.engine.dashboard import COLUMNS

    def table(dask_scheduler=None):
        plugin = dask_scheduler.plugins.get("dfembed-dashboard")  # none before the first job
        return plugin.table() if plugin is not None else {c: [] for c in COLUMNS}

    frame = pd.DataFrame(client.run_on_scheduler(table))
    return frame[frame["model"] == model]


def _wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_board_lists_each_worker_session_and_counts_rows(client, tiny):
    before = _board(client, "tiny-dash")["rows"].sum()
    dd.from_pandas(_frame(60), npartitions=6).embed.text("body", model=tiny).compute()
    assert _wait_for(lambda: _board(client, "tiny-dash")["rows"].sum() - before == 60)
    board = _board(client, "tiny-dash")
    assert len(board) == len(client.scheduler_info()["workers"]) == 2  # one row per worker
    assert set(board["host"]) == {"127.0.0.1"}
    assert sorted(board["local_rank"]) == ["0", "1"]
    assert set(board["provider"]) == {"CPU"} and set(board["device"]) == {"cpu"}
    assert set(board["precision"]) == {"fp32"}
    assert (board["load_seconds"] > 0).all() and (board["tokens"] > 0).all()
    assert (board["error"] == "").all()
    # the reports are also in Dask's own event log
    assert any(msg.get("rows") for _, msg in client.get_events(TOPIC))


def test_failed_load_is_the_sessions_last_error(client, tiny, tmp_path):
    broken = tmp_path / "broken-dash"
    shutil.copytree(tiny, broken)
    (broken / "onnx" / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(WorkerError):
        dd.from_pandas(_frame(10), npartitions=2).embed.text("body", model=str(broken)).compute()
    errors = _wait_for(lambda: list(_board(client, "broken-dash")["error"]))
    assert errors and all("could not load" in e and "broken-dash" in e for e in errors)


def test_page_is_served_and_in_the_menu(client, tiny):
    dd.from_pandas(_frame(4), npartitions=1).embed.text("body", model=tiny).compute()
    status = client.dashboard_link
    page = urllib.request.urlopen(status.replace("/status", "/dfembed"), timeout=10)
    html = page.read().decode()
    assert page.status == 200 and "static/js/bokeh" in html  # a Bokeh server document
    assert 'href="dfembed"' in html  # Dask's menu, on this page and on Dask's own
    assert 'href="dfembed"' in urllib.request.urlopen(status, timeout=10).read().decode()


# --- in a real browser -----------------------------------------------------------------------

#: Bokeh draws its table inside shadow DOMs: collect the text of every table row, all levels.
_TABLE_ROWS_JS = """
function rows(root, out) {
  for (const row of root.querySelectorAll('.slick-row')) {
    out.push(Array.from(row.querySelectorAll('.slick-cell'), c => c.textContent.trim()));
  }
  for (const el of root.querySelectorAll('*')) { if (el.shadowRoot) rows(el.shadowRoot, out); }
  return out;
}
return rows(document, []);
"""
_TEXT_JS = """
function text(root) {
  let out = root.textContent || '';
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) out += ' ' + text(el.shadowRoot);
  }
  return out;
}
return text(document.body);
"""


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        pytest.skip("needs chromium and chromedriver (make install-test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1600,900")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    yield driver
    driver.quit()


def _page_rows(driver, model: str) -> dict[str, int]:
    """Rows done per local rank, as the page shows them for ``model``."""
    from dfembed.engine.dashboard import COLUMNS

    at = {name: i for i, name in enumerate(COLUMNS)}
    shown = {}
    for cells in driver.execute_script(_TABLE_ROWS_JS):
        if len(cells) == len(COLUMNS) and cells[at["model"]] == model:
            shown[cells[at["local_rank"]]] = int(cells[at["rows"]].replace(",", "") or 0)
    return shown


@pytest.mark.slow
def test_page_in_a_browser_shows_the_workers_and_updates(client, tiny, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    start = _board(client, "tiny-dash")["rows"].sum()
    ddf = dd.from_pandas(_frame(400), npartitions=8).persist()
    ddf.embed.text("body", model=tiny).compute()
    browser.get(client.dashboard_link.replace("/status", "/dfembed"))
    wait = WebDriverWait(browser, 30, poll_frequency=0.2)
    shown = wait.until(lambda d: (r := _page_rows(d, "tiny-dash")) and len(r) == 2 and r)
    assert sorted(shown) == ["0", "1"]  # one row per worker, by local rank
    wait.until(lambda d: sum(_page_rows(d, "tiny-dash").values()) == start + 400)
    assert all(rows > 0 for rows in _page_rows(browser, "tiny-dash").values())
    assert browser.find_element(By.LINK_TEXT, "Dfembed").get_attribute("href").endswith("/dfembed")

    # more work, same open page: the counts move without a reload
    future = client.compute(ddf.embed.text("body", model=tiny, max_length=16))
    wait.until(lambda d: sum(_page_rows(d, "tiny-dash").values()) == start + 800)
    assert len(future.result()) == 400
    assert re.search(
        r"\d+ worker sessions on 1 host, [\d,]+ rows", browser.execute_script(_TEXT_JS)
    )
