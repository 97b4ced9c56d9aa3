"""The trace view's layout in JupyterLab at 1366x768 with the file browser open (Lab's default layout), in chromium.

A Workbench shows a 150-step run (900 events), run in the cell before the one that shows it. Checked: the table's
header cells sit over their columns, the summary column keeps its minimum width, the detail pane goes under the
waterfall when the view is narrow and beside it when maximized, maximize fills the window and Esc restores, and
the Inspector follows the trace's selection over every event (the picker used to list the first 500). Screenshots
in light and dark go to tests/output/browser/ (look at them).
"""

from __future__ import annotations

import http.cookiejar
import json
import urllib.request
from pathlib import Path

import nbformat
import pytest
from test_browser import OUTPUT, browser, lab, open_notebook, ours, run_all_cells  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent
CELLS = [
    "import sys\n"
    f"sys.path.insert(0, {str(HERE.parent / 'benchmarks')!r})\n"
    "import time\n"
    "from common import six_hook_agent\n"
    "from agent_nb import Recorder, Workbench\n"
    "class Pace:\n"
    '    """Paces the run (~1 s): live batches go out while this cell runs, before any view is shown."""\n'
    "    def run(self, state):\n"
    "        time.sleep(0.006)\n"
    "rec = Recorder(six_hook_agent(150))\n"
    "_ = rec.add_hook('after_tool', Pace())\n"
    "wb = Workbench(rec)\n"
    "run = wb.run('count 150')\n"
    "len(run.events)",
    "wb",
]


def put_notebook(url: str, name: str) -> None:
    """Write the notebook into the Lab's folder through its contents API."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    body = json.dumps({"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))}).encode()
    # The server wants its _xsrf cookie echoed in a header on a PUT: a page load sets it.
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{url}/lab", timeout=30).read()
    xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
    req = urllib.request.Request(f"{url}/api/contents/{name}", data=body, method="PUT",
                                 headers={"Content-Type": "application/json", "X-XSRFToken": xsrf})  # fmt: skip
    opener.open(req, timeout=30).read()


#: Header cells against the first row's cells: (column, header left, header right, cell left, cell right).
ALIGNMENT_JS = """(root) => {
  const head = [...root.querySelectorAll('.anb-tv-th')];
  const row = root.querySelector('.anb-tv-row');
  const cells = [...row.querySelectorAll('.anb-tv-td')];
  return head.map((th, k) => {
    const a = th.getBoundingClientRect(), b = cells[k].getBoundingClientRect();
    return [th.textContent, a.left, a.right, b.left, b.right];
  });
}"""


def assert_header_aligned(page) -> list:
    pairs = page.locator(".anb-tv").first.evaluate(ALIGNMENT_JS)
    assert len(pairs) >= 6
    for label, hl, hr, cl, cr in pairs:
        assert abs(hl - cl) <= 1.5 and abs(hr - cr) <= 1.5, (
            f"column {label!r}: header {hl:.0f}-{hr:.0f}, cells {cl:.0f}-{cr:.0f}"
        )
    return pairs


def summary_width(page) -> float:
    return page.locator(".anb-tv-th.anb-tv-c-summary").bounding_box()["width"]


def test_trace_view_layout_at_1366_with_the_file_browser_open(lab, browser):  # noqa: F811
    put_notebook(lab, "layout.ipynb")
    page, errors = open_notebook(browser, f"{lab}/lab/tree/layout.ipynb?reset")  # only this notebook open
    try:
        page.locator(".jp-Notebook").wait_for(timeout=90_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90_000)
        run_all_cells(page, page.locator(".anb-tv"))
        page.wait_for_function(
            "/^\\d+ events/.test(document.querySelector('.anb-tv-counts').innerText)", timeout=60_000
        )
        # The run is over before its events are counted: the count holds still over a second.
        counts = "document.querySelector('.anb-tv-counts').innerText"
        for _ in range(120):
            before = page.evaluate(counts)
            page.wait_for_timeout(1_000)
            if page.evaluate(counts) == before:
                break
        n = int(page.locator(".anb-tv-counts").first.inner_text().split(" events")[0])
        assert n > 500  # more than the Inspector's picker used to list
        # Every event of the run (`len(run.events)`, the first cell's output): the batches sent while the run
        # ran in that cell, before any view of the Workbench was shown, are in the view too.
        recorded = page.locator(".jp-Cell").first.locator(".jp-OutputArea-output").last.inner_text()
        assert n == int(recorded.strip()), f"the view shows {n} events, the run recorded {recorded.strip()}"
        assert page.locator(".jp-FileBrowser").first.is_visible()  # Lab's default: the file browser open
        page.locator(".anb-tabs").evaluate("el => el.scrollIntoView({block: 'start'})")
        root = page.locator(".anb-tv").first

        # Narrow (the file browser and the hooks sidebar take ~560 px): detail under the waterfall, the header
        # over its columns, the summary at least 30 characters wide (least needed columns dropped first).
        assert "anb-tv-narrow" in root.get_attribute("class")
        ch = page.locator(".anb-tv-row .anb-tv-c-seq").first.evaluate(
            "el => { const s = document.createElement('span'); s.textContent = '0000000000';"
            " el.appendChild(s); const w = s.getBoundingClientRect().width / 10; s.remove(); return w; }"
        )
        assert_header_aligned(page)
        assert summary_width(page) >= 30 * ch - 1
        table = page.locator(".anb-tv-table").first.bounding_box()
        head = page.locator(".anb-tv-th.anb-tv-c-summary").bounding_box()
        assert head["x"] + head["width"] <= table["x"] + table["width"] + 1  # not cut off at the right
        # The inspector follows the trace's selection, over every event: End selects the last one (#901).
        last = f"document.querySelector('.anb-tv-detail').innerText.startsWith('#{n - 1} ')"
        for _ in range(10):  # the key needs the table focused: a redraw right then can take the focus away
            page.locator(".anb-tv-scroll").first.focus()
            page.keyboard.press("End")
            try:
                page.wait_for_function(last, timeout=3_000)
                break
            except Exception:
                continue
        shown = page.evaluate("document.querySelector('.anb-tv-detail').innerText.slice(0, 80)")
        assert page.evaluate(last), f"End did not select the last event, #{n - 1}: the detail shows {shown!r}"
        page.screenshot(path=str(OUTPUT / "lab_layout_narrow_light.png"))
        page.locator(".lm-TabBar-tabLabel", has_text="Inspector").first.click()
        header = page.locator(".anb-event-header")
        header.wait_for(state="visible")
        page.wait_for_function(f"document.querySelector('.anb-event-header').innerText.includes('#{n - 1}')")
        picker = page.locator(".anb-event-picker select")
        assert picker.locator("option").count() == n  # every event, not the first 500
        assert picker.input_value().startswith(f"#{n - 1} ")  # the picked option is the trace's selection
        # ... and the other way: stepping in the Inspector selects in the trace.
        page.locator(".anb-prev-button").click()
        page.wait_for_function(f"document.querySelector('.anb-event-header').innerText.includes('#{n - 2}')")
        page.locator(".lm-TabBar-tabLabel", has_text="Timeline").first.click()
        page.wait_for_function(f"document.querySelector('.anb-tv-detail').innerText.includes('#{n - 2} ')")
        assert page.locator(".anb-tv-row-selected").get_attribute("data-seq") == str(n - 2)
        # A row clicked in the table: the Inspector shows it too.
        page.locator(".anb-tv-tscroll").first.evaluate("el => { el.scrollTop = 0; }")
        page.locator(".anb-tv-row[data-seq='3']").click()
        page.wait_for_function("document.querySelector('.anb-tv-detail').innerText.includes('#3 ')")
        page.locator(".lm-TabBar-tabLabel", has_text="Inspector").first.click()
        page.wait_for_function("document.querySelector('.anb-event-header').innerText.includes('#3')")
        page.locator(".lm-TabBar-tabLabel", has_text="Timeline").first.click()

        # Maximize: the whole window, the detail beside the waterfall, the header still over its columns.
        page.locator(".anb-tv-maximize").first.click()
        page.wait_for_function("document.querySelector('.anb-tv').classList.contains('anb-tv-max')")
        box = root.bounding_box()
        assert box["x"] <= 1 and box["y"] <= 1 and box["width"] >= 1366 - 20 and box["height"] >= 768 - 20
        assert "anb-tv-narrow" not in root.get_attribute("class")
        wf = page.locator(".anb-tv-wf").first.bounding_box()
        detail = page.locator(".anb-tv-detail").first.bounding_box()
        assert detail["x"] >= wf["x"] + wf["width"] - 1 and detail["y"] < wf["y"] + wf["height"]
        assert_header_aligned(page)
        assert summary_width(page) >= 58 * ch * 0.8  # room to spare: near the schema's 58 characters
        page.screenshot(path=str(OUTPUT / "lab_layout_maximized_light.png"))
        page.keyboard.press("Escape")
        page.wait_for_function("!document.querySelector('.anb-tv').classList.contains('anb-tv-max')")
        assert page.locator(".anb-workbench .anb-tv").count() == 1  # back in its place in the notebook

        # Dark theme, maximized and not.
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
        page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Dark").first.click()
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
        page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=30_000)  # Lab's theme-switch splash
        page.wait_for_function(
            "getComputedStyle(document.querySelector('.anb-tv')).backgroundColor !== 'rgb(255, 255, 255)'"
        )
        page.locator(".anb-tabs").evaluate("el => el.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(OUTPUT / "lab_layout_narrow_dark.png"))
        page.locator(".anb-tv-maximize").first.click()
        page.wait_for_function("document.querySelector('.anb-tv').classList.contains('anb-tv-max')")
        page.locator(".anb-tv-scroll").first.focus()
        page.keyboard.press("Home")
        page.wait_for_function("document.querySelector('.anb-tv-detail').innerText.includes('#0 ')")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.wait_for_function("document.querySelector('.anb-tv-detail').innerText.includes('#2 llm')")
        page.screenshot(path=str(OUTPUT / "lab_layout_maximized_dark.png"))
        page.locator(".anb-tv-maximize").first.click()  # the button restores too
        page.wait_for_function("!document.querySelector('.anb-tv').classList.contains('anb-tv-max')")
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
        page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Light").first.click()
        assert ours(errors) == []
    finally:
        page.screenshot(path=str(OUTPUT / "lab_layout_99_last_state.png"))
        page.close()
