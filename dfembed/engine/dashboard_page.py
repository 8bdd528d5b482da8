"""The ``/dfembed`` page of the scheduler's dashboard: a Bokeh table of worker sessions.

Dask builds its dashboard's Bokeh pages once, when the scheduler starts, from the
``applications`` dict of ``distributed.dashboard.scheduler``; a plugin registered later
cannot add to that server. So this page is a second Bokeh server application, built the
way Dask builds its own (``distributed.dashboard.core.BokehApplication``) and added to the
scheduler's HTTP application, which tries each of its applications in turn for a path.
It uses Dask's page template and theme, so it looks like the pages next to it, and its
name joins the ``pages`` list that template draws as the dashboard's menu.
"""

from __future__ import annotations

#: The page's path under the dashboard (``http://scheduler:8787/dfembed``).
PAGE = "dfembed"
#: The scheduler plugin whose board the page shows (:class:`.dashboard.DashboardPlugin`),
#: looked up by name on every refresh. Said here, not imported: that plugin adds this page.
PLUGIN = "dfembed-dashboard"
#: The board's columns, in order, as :meth:`.dashboard.SessionBoard.table` fills them.
COLUMNS = (
    "host",
    "worker",
    "local_rank",
    "device",
    "provider",
    "precision",
    "model",
    "rows",
    "tokens",
    "rows_per_s",
    "load_seconds",
    "error",
)
#: Milliseconds between two reads of the board by an open page.
INTERVAL_MS = 1000

TITLES = {
    "host": "host",
    "worker": "worker",
    "local_rank": "local rank",
    "device": "device",
    "provider": "provider",
    "precision": "precision",
    "model": "model",
    "rows": "rows",
    "tokens": "tokens",
    "rows_per_s": "rows/s (1 min)",
    "load_seconds": "load (s)",
    "error": "last error",
}
WIDTHS = {"host": 110, "worker": 70, "local_rank": 60, "device": 110, "model": 200}
WIDTHS.update({"provider": 80, "precision": 70, "error": 420})
_REDRAW = "view.change.emit()"


def add_page(scheduler) -> bool:
    """Serve :data:`PAGE` from ``scheduler``'s dashboard; ``False`` when it has none.

    Adding it twice (a plugin registered again) keeps the first: the page looks its plugin
    up by name on every refresh, so it always shows the registered one.
    """
    from tornado.ioloop import IOLoop

    http = getattr(scheduler, "http_application", None)
    bokeh_apps = [app for app in getattr(http, "applications", []) if hasattr(app, "app_paths")]
    if not bokeh_apps:  # dashboard turned off, or bokeh missing
        return False
    if any(f"/{PAGE}" in app.app_paths for app in bokeh_apps):
        return True
    from distributed.dashboard.core import BokehApplication
    from distributed.dashboard.scheduler import template_variables

    variables = template_variables(scheduler)  # memoized: the dict Dask's pages render with
    if PAGE not in variables["pages"]:
        variables["pages"].append(PAGE)
    app = BokehApplication(
        {f"/{PAGE}": sessions_doc},
        scheduler,
        prefix=bokeh_apps[0].prefix,
        template_variables=variables,
    )
    http.add_application(app)
    app.initialize(IOLoop.current())
    app.start()
    return True


class SessionsTable:
    """The table and its one-line summary, refreshed from the plugin's board."""

    def __init__(self, scheduler) -> None:
        from bokeh.models import ColumnDataSource, CustomJS, DataTable, Div, TableColumn
        from distributed.dashboard.utils import _DATATABLE_STYLESHEETS_KWARGS

        self.scheduler = scheduler
        self.source = ColumnDataSource({column: [] for column in COLUMNS})
        columns = [
            TableColumn(
                field=column,
                title=TITLES[column],
                formatter=_formatter(column),
                width=WIDTHS.get(column, 90),
            )
            for column in COLUMNS
        ]
        table = DataTable(
            source=self.source,
            columns=columns,
            index_position=None,
            sizing_mode="stretch_width",
            height=600,
            name="dfembed-sessions",
            **_DATATABLE_STYLESHEETS_KWARGS,
        )
        # Bokeh 3.9.1-3.9.2 redraw a table only when its row count changes (bokeh#15328);
        # the view's change is what makes the table redraw (keeping the user's sort order)
        self.source.js_on_change("data", CustomJS(args={"view": table.view}, code=_REDRAW))
        self.summary = Div(text="", name="dfembed-summary")
        from bokeh.layouts import column

        self.root = column(self.summary, table, sizing_mode="stretch_width")

    def update(self) -> None:
        plugin = self.scheduler.plugins.get(PLUGIN)
        data = plugin.table() if plugin is not None else {c: [] for c in COLUMNS}
        sessions, hosts = len(data["host"]), len(set(data["host"]))
        text = (
            f"<b>dfembed</b>: {_count(sessions, 'worker session')} on {_count(hosts, 'host')}, "
            f"{sum(data['rows']):,} rows, {sum(data['rows_per_s']):,.1f} rows/s over the "
            "last minute"
        )
        if self.summary.text != text:
            self.summary.text = text
        if dict(self.source.data) != data:
            self.source.data = data


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _formatter(column: str):
    from bokeh.models import NumberFormatter, StringFormatter

    if column in ("rows", "tokens"):
        return NumberFormatter(format="0,0", text_align="right")
    if column == "rows_per_s":
        return NumberFormatter(format="0,0.0", text_align="right")
    if column == "load_seconds":
        return NumberFormatter(format="0.00", nan_format="", text_align="right")
    if column == "error":
        return StringFormatter(text_color="firebrick")
    return StringFormatter()


def sessions_doc(scheduler, extra, doc) -> None:
    """Bokeh document of the page (Dask calls it once per browser tab)."""
    from distributed.dashboard.components import add_periodic_callback
    from distributed.dashboard.components.scheduler import BOKEH_THEME, env

    table = SessionsTable(scheduler)
    table.update()
    add_periodic_callback(doc, table, INTERVAL_MS)
    doc.title = "Dask: dfembed"
    doc.add_root(table.root)
    doc.template = env.get_template("simple.html")
    doc.template_variables.update(extra)
    doc.theme = BOKEH_THEME
