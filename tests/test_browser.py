"""Real-browser tests: one JupyterLab server started here on 127.0.0.1 (it also serves Notebook 7 and Voila),
driven by Playwright on Debian's chromium.

In JupyterLab: run the workbench notebook, press Run, edit the pending tool call's arguments and Approve,
check the trace view (every event, the decision on the gate row), click a bar and a row for their detail,
zoom and reset, filter, fork and see the fork with its divergence, compare and jump to the divergence, and
take light and dark screenshots at 1366x768. Notebook 7 and Voila: run and approve once each. Screenshots go
to tests/output/browser/ (look at them: that is what a user sees).

Breakpoints, one scenario (`breakpoint_scenario`) in JupyterLab, Notebook 7 and Voila (on its own, `voila NB`,
and as the server's extension): click a hook's breakpoint dot, Run, change the pending tool call's argument
while paused, Apply edits, Continue; the edit row is in the trace view and the answer changed. Screenshots,
paused and after, light and dark, go to tests/output/browser/breakpoints/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).parent / "output" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

CELLS = [
    "from agent_nb import Recorder, Workbench, demo_agent\n"
    "rec = Recorder(demo_agent(latency_s=0.02))\n"
    "wb = Workbench(rec, prompt='What is 2 + 40?')\n"
    "_ = rec.add_hook('before_tool', wb.confirmation_hook(['add']))",
    "wb",
]


def new_notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_notebook(path: Path, cells: list[str]) -> None:
    nbformat.write(new_notebook(cells), path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free port, serving a folder holding the workbench notebook."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser test needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium)")
    root = tmp_path_factory.mktemp("lab")
    write_notebook(root / "workbench.ipynb", CELLS)
    # No "get notified about Jupyter news?" toast over the workbench (and no attempt to fetch news).
    settings = root / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port = free_port()
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    yield from serve(
        [jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--IdentityProvider.token=",
         "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         f"--LabApp.user_settings_dir={root / 'settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}"],
        root, f"http://127.0.0.1:{port}", "/api/status",
    )  # fmt: skip


def serve(command: list[str], root: Path, url: str, ready: str):
    """Run a server in `root` until the test module is done: yield `url` once `url + ready` answers."""
    env = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False", "JUPYTER_PLATFORM_DIRS": "1"}
    log_path = root / f"{Path(command[0]).name}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}{ready}", timeout=2)
            break
        except urllib.error.HTTPError:  # it answers (a 404 for a path it does not serve is an answer)
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail(f"{command[0]} did not answer in 90 s; see {log_path}")
    if proc.poll() is not None:
        pytest.fail(f"{command[0]} exited: " + log_path.read_text()[-2000:])
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """Voila on its own (`voila NB --no-browser`), as a dashboard is served: the breakpoint notebook at `/`."""
    root = tmp_path_factory.mktemp("voila")
    write_notebook(root / "breakpoints.ipynb", BREAKPOINT_CELLS)
    port = free_port()
    command = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    yield from serve(
        [command, "breakpoints.ipynb", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}"],
        root, f"http://127.0.0.1:{port}", "/voila/static/",
    )  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def ours(errors: list[str]) -> list[str]:
    """The page errors raised by our code (anywidget and the trace view's module), not the frontend's own."""
    return [e for e in errors if any(key in e for key in ("anywidget", "blob:", "data:", "trace_view", "anb"))]


def open_notebook(browser, url: str):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.goto(url, wait_until="domcontentloaded", timeout=90_000)
    return page, errors


def test_workbench_in_jupyterlab(lab, browser):
    page, errors = open_notebook(browser, f"{lab}/lab/tree/workbench.ipynb")
    try:
        page.locator(".jp-Notebook").wait_for(timeout=90_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90_000)
        run_button = page.locator(".anb-run-button")
        run_all_cells(page, run_button)
        trace = page.locator(".anb-tv")
        trace.wait_for(timeout=30_000)
        assert "0 events" in page.locator(".anb-tv-counts").inner_text()

        # Run; the confirmation asks about add(a=2, b=40); edit the arguments and press the one Approve.
        run_button.click()
        approve = page.locator(".anb-approve-button")
        approve.wait_for(state="visible", timeout=60_000)
        args = page.locator(".anb-confirm-args textarea")
        args.fill('{"a": 2, "b": 41}')
        args.press("Tab")  # the Textarea syncs its value on change
        page.wait_for_function(
            "document.querySelector('.anb-approve-button').innerText.includes('edited arguments')", timeout=10_000
        )
        page.locator(".anb-confirmation").scroll_into_view_if_needed()
        page.screenshot(path=str(OUTPUT / "lab_01_pending_confirmation.png"))
        approve.click()
        wait_for_progress(page, "answered")

        # The trace view has every event; the tool row shows the edited call; the gate row shows the decision.
        rows = page.locator(".anb-tv-row")
        page.wait_for_function("document.querySelector('.anb-tv-tscroll').innerText.includes('b=41) -> 43')")
        assert "arguments edited" in page.locator(".anb-tv-tscroll").inner_text()
        count = page.locator(".anb-tv-counts").inner_text()
        n = int(count.split(" events")[0])
        assert f"{n} shown" in count and f"of {n} shown" in page.locator(".anb-tv-tfoot").inner_text()

        # Click the LLM bar of step 0: its detail (the chat) shows beside the waterfall.
        x, y = page.evaluate("document.querySelector('.anb-tv').anbBarCenter(3)")
        page.mouse.click(x, y)
        detail = page.locator(".anb-tv-detail")
        page.wait_for_function("document.querySelector('.anb-tv-detail').innerText.includes('LLM input')")
        assert "#3 llm ScriptedChatGenerator" in detail.inner_text() and "What is 2 + 40?" in detail.inner_text()
        # A table row selects too: the tool call with its (edited) arguments.
        page.locator(".anb-tv-row", has_text="b=41) -> 43").first.click()
        page.wait_for_function("document.querySelector('.anb-tv-detail').innerText.includes('\"b\": 41')")

        # Zoom with the wheel over the axis: the axis is redrawn with finer ticks; reset restores it.
        axis = page.locator(".anb-tv-axis")
        axis.scroll_into_view_if_needed()
        before = axis.evaluate("c => c.toDataURL()")
        box = axis.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 10)
        page.mouse.wheel(0, -800)
        page.wait_for_function("(b) => document.querySelector('.anb-tv-axis').toDataURL() !== b", arg=before)
        page.locator(".anb-tv-reset").click()
        page.wait_for_function("(b) => document.querySelector('.anb-tv-axis').toDataURL() === b", arg=before)

        # Filter: the search box narrows the table, and the counts agree.
        page.locator(".anb-tv-search").fill("add")
        page.wait_for_function("document.querySelector('.anb-tv-counts').innerText.includes(' shown') && "
                               "!document.querySelector('.anb-tv-counts').innerText.includes(' ' + "
                               f"{n} + ' shown')")  # fmt: skip
        shown = int(page.locator(".anb-tv-counts").inner_text().split(" · ")[1].split(" shown")[0])
        assert 0 < shown < n and f"of {shown} shown" in page.locator(".anb-tv-tfoot").inner_text()
        assert all("add" in t.lower() for t in rows.all_inner_texts())
        page.locator(".anb-tv-search").fill("")
        page.wait_for_function(f"document.querySelector('.anb-tv-counts').innerText.includes('{n} shown')")
        page.locator(".anb-workbench").scroll_into_view_if_needed()
        page.screenshot(path=str(OUTPUT / "lab_02_trace_light.png"))
        # The same with Lab's file browser folded away: the trace view takes the width, detail beside it.
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()
        page.locator(".anb-tv-row", has_text="b=41) -> 43").first.click()
        page.locator(".anb-tabs").evaluate("el => el.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)  # let the resized canvas repaint before the screenshot
        page.screenshot(path=str(OUTPUT / "lab_02b_trace_light_wide.png"))

        # Fork from step 1 (Fork tab); the view switches to the fork with its divergence from the parent.
        page.locator(".lm-TabBar-tabLabel, .p-TabBar-tabLabel", has_text="Fork").first.click()
        page.locator(".anb-fork-button").click()
        approve_all(page)  # the fork resumes before the add call: the gate asks again
        wait_for_progress(page, "fork", finished=True)
        # The Fork tab says the fork ran and where it is; its button shows it in the trace view.
        started = page.locator(".anb-fork-started")
        page.wait_for_function("document.querySelector('.anb-fork-started').innerText.includes('answered')")
        assert "Runs tab" in started.inner_text() and started.is_visible()
        started.scroll_into_view_if_needed()
        page.screenshot(path=str(OUTPUT / "lab_02c_fork_feedback.png"))
        page.locator(".anb-fork-show").click()
        page.wait_for_function("document.querySelector('.anb-tv-counts').innerText.includes('fork of')")
        page.locator(".anb-tv").wait_for(state="visible", timeout=30_000)  # the Timeline tab is on show

        # Compare parent and fork: both in the trace view (the fork's bars under the parent's), one click to the
        # first divergence; the aligned table stays in the Runs tab, with its own jump (to the fork alone).
        page.locator(".lm-TabBar-tabLabel, .p-TabBar-tabLabel", has_text="Runs").first.click()
        page.locator(".anb-compare-button").click()
        page.wait_for_function("document.querySelector('.anb-tv-counts').innerText.includes('(under A)')")
        assert page.locator(".anb-tv-row.anb-tv-lane-b").count() > 0
        page.locator(".anb-tv-jump").click()
        page.wait_for_function("document.querySelector('.anb-tv-detail').innerText.startsWith('B ·')")
        assert page.locator(".anb-tv-row.anb-tv-row-selected.anb-tv-row-divergence").count() == 1
        page.locator(".anb-tabs").evaluate("el => el.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)  # let the canvas repaint before the screenshot
        page.screenshot(path=str(OUTPUT / "lab_03_compare.png"))
        page.locator(".lm-TabBar-tabLabel, .p-TabBar-tabLabel", has_text="Runs").first.click()
        page.locator(".anb-compare-table table").wait_for(timeout=30_000)
        page.locator(".anb-compare-jump").click()
        page.wait_for_function("document.querySelector('.anb-tv-detail').innerText.includes('#')")
        page.screenshot(path=str(OUTPUT / "lab_03_fork_divergence.png"))

        # Dark theme: the trace view follows the frontend's CSS variables.
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
        page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Dark").first.click()
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
        page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute flips: let it paint
        bg = page.evaluate("getComputedStyle(document.querySelector('.anb-tv')).backgroundColor")
        assert bg != "rgb(255, 255, 255)"
        page.locator(".lm-TabBar-tabLabel, .p-TabBar-tabLabel", has_text="Timeline").first.click()
        page.locator(".anb-tabs").evaluate("el => el.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        assert page.evaluate("document.querySelector('.anb-tv-canvas').width") > 0  # drawn, not blank
        page.screenshot(path=str(OUTPUT / "lab_04_trace_dark.png"))
        # The Runs tab in dark: every picker names a run by its prompt.
        page.locator(".lm-TabBar-tabLabel, .p-TabBar-tabLabel", has_text="Runs").first.click()
        page.locator(".anb-workbench").evaluate("el => el.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        for picker in (".anb-run-list", ".anb-compare-a", ".anb-view-run"):  # ipywidgets sends spaces as nbsp
            assert "What is 2 + 40?" in page.locator(picker).inner_text().replace("\xa0", " "), picker
        page.screenshot(path=str(OUTPUT / "lab_05_runs_dark.png"))
        assert page.locator(".anb-static-copy").count() == 0  # run in Lab: no static copy beside the widget
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
        page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Light").first.click()
        assert ours(errors) == []
    finally:
        page.screenshot(path=str(OUTPUT / "lab_99_last_state.png"))
        page.close()


def test_workbench_in_notebook7(lab, browser):
    page, errors = open_notebook(browser, f"{lab}/notebooks/workbench.ipynb")
    try:
        page.locator(".jp-Notebook").wait_for(timeout=90_000)
        page.locator(".jp-NotebookKernelStatus, .jp-Notebook-ExecutionIndicator").first.wait_for(timeout=90_000)
        run_button = page.locator(".anb-run-button")
        run_all_cells(page, run_button)
        run_button.click()
        page.locator(".anb-approve-button").wait_for(state="visible", timeout=60_000)
        page.locator(".anb-approve-button").click()
        wait_for_progress(page, "answered")
        page.wait_for_function("document.querySelector('.anb-tv-tscroll').innerText.includes('b=40) -> 42')")
        page.locator(".anb-tv").scroll_into_view_if_needed()
        page.screenshot(path=str(OUTPUT / "nb7_trace.png"))
        assert ours(errors) == []
    finally:
        page.close()


def test_workbench_in_voila(lab, browser):
    page, errors = open_notebook(browser, f"{lab}/voila/render/workbench.ipynb")
    try:
        page.locator(".anb-tv").wait_for(timeout=120_000)
        # Voila runs the notebook headless: the static copy is there for a page without widgets, hidden here.
        copies = page.locator(".anb-static-copy")
        assert copies.count() == 1 and not copies.first.is_visible()
        page.locator(".anb-run-button").click()
        page.locator(".anb-approve-button").wait_for(state="visible", timeout=60_000)
        page.locator(".anb-approve-button").click()
        wait_for_progress(page, "answered")
        page.wait_for_function("document.querySelector('.anb-tv-tscroll').innerText.includes('b=40) -> 42')")
        page.screenshot(path=str(OUTPUT / "voila_trace.png"))
        assert ours(errors) == []
    finally:
        page.close()


def accept_kernel_dialog(page) -> None:
    """A fresh or busy JupyterLab may ask which kernel to start ("Select Kernel"): take the notebook's own."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        accept = dialog.locator("button.jp-mod-accept")
        if accept.count():
            accept.first.click()
            dialog.first.wait_for(state="detached", timeout=10_000)


def run_all_cells(page, ready, attempts: int = 4) -> None:
    """Run > Run All Cells until `ready` shows: right after the kernel reports idle, Lab may drop the request."""
    for _ in range(attempts):
        accept_kernel_dialog(page)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            ready.wait_for(timeout=30_000)
            return
        except Exception:
            page.keyboard.press("Escape")
    raise AssertionError(f"the notebook's cells did not run after {attempts} tries")


def any_text(page, selector: str, text: str, timeout: float = 30_000) -> None:
    """Wait until some element matching `selector` shows `text` (Lab may keep other notebooks open in the page)."""
    try:
        page.wait_for_function(
            "([s, t]) => [...document.querySelectorAll(s)].some(e => e.innerText.includes(t))",
            arg=[selector, text],
            timeout=timeout,
        )
    except Exception as exc:
        seen = page.evaluate("s => [...document.querySelectorAll(s)].map(e => e.innerText)", selector)
        raise AssertionError(f"no {selector} says {text!r}; they say {seen!r}") from exc


def wait_for_progress(page, text: str, *, finished: bool = True, timeout_s: float = 60) -> None:
    """Wait until the progress line contains `text` (and no longer says running)."""
    progress = page.locator(".anb-progress")
    deadline = time.time() + timeout_s
    seen = ""
    while time.time() < deadline:
        seen = progress.inner_text()
        if text in seen and not (finished and "running" in seen):
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the progress line never said {text!r}; it says: {seen!r}")


def approve_all(page, rounds: int = 4) -> None:
    """Approve pending tool calls until none is pending (a confirmation shows within a few seconds, or none)."""
    approve = page.locator(".anb-approve-button")
    for _ in range(rounds):
        try:
            approve.wait_for(state="visible", timeout=5_000)
        except Exception:
            return
        approve.click()
        approve.wait_for(state="hidden", timeout=10_000)


BREAKPOINT_CELLS = [
    "from agent_nb import Recorder, Workbench, demo_agent\n"
    "class LookAtTools:\n"
    '    """Looks at the pending tool calls (changes nothing)."""\n'
    "    def run(self, state):\n"
    "        return None\n"
    "rec = Recorder(demo_agent(latency_s=0.02))\n"
    "_ = rec.add_hook('before_tool', LookAtTools())\n"
    "wb = Workbench(rec, prompt='What is 2 + 3?')",
    "wb",
]
#: Where the breakpoint tests leave their screenshots (per frontend: paused and after, light and dark, 1366x768).
BREAKPOINT_SHOTS = OUTPUT / "breakpoints"


def put_notebook(url: str, name: str, cells: list[str]) -> None:
    """Write a notebook into the server's folder through its contents API (the `lab` fixture serves one)."""
    import http.cookiejar
    import json

    body = json.dumps({"type": "notebook", "content": new_notebook(cells)}).encode()
    # The server wants its XSRF cookie echoed in a header for a write: take it from a page load first.
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{url}/lab", timeout=60)
    xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
    headers = {"Content-Type": "application/json", "X-XSRFToken": xsrf}
    request = urllib.request.Request(f"{url}/api/contents/{name}", data=body, method="PUT", headers=headers)
    opener.open(request, timeout=30)


#: What the page is painted in: the frontend's background variable (read through a probe: an unset variable
#: reads as transparent) and a corner pixel of every trace view canvas on show, each "dark", "light" or "none"
#: (transparent: no event row drawn there yet, the page's background shows through).
THEME_PAINT = """() => {
    const tone = (v) => v.length < 3 || v[3] === 0 ? 'none' : (v[0] + v[1] + v[2]) / 3 < 128 ? 'dark' : 'light';
    const probe = document.createElement('div');
    probe.style.background = 'var(--jp-layout-color0)';
    document.body.appendChild(probe);
    const page = tone((getComputedStyle(probe).backgroundColor.match(/[\\d.]+/g) || []).map(Number));
    probe.remove();
    const canvases = [...document.querySelectorAll('.anb-tv-canvas')].filter(c => c.offsetParent && c.width > 4)
        .map(c => tone([...c.getContext('2d').getImageData(2, 2, 1, 1).data]));
    return {page, canvases};
}"""


def wait_for_theme(page, dark: bool) -> None:
    """Wait until the page is painted in the dark (or light) theme, the trace view's canvas too."""
    want, unwanted = ("dark", "light") if dark else ("light", "dark")
    try:
        page.wait_for_function(
            f"() => {{ const p = ({THEME_PAINT})(); "
            f"return p.page === '{want}' && p.canvases.every(c => c !== '{unwanted}'); }}",
            timeout=30_000,
        )
    except Exception as exc:
        raise AssertionError(f"the page is not painted {want}: {page.evaluate(THEME_PAINT)}") from exc


def menu_theme(page, dark: bool) -> None:
    """Settings > Theme > JupyterLab Dark / Light, as a user switches it in JupyterLab and Notebook 7."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Dark" if dark else "JupyterLab Light").first.click()
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{str(not dark).lower()}'", timeout=30_000)
    page.locator("#jupyterlab-splash").wait_for(state="hidden", timeout=30_000)  # Lab's splash while it loads
    wait_for_theme(page, dark)


def shoot(page, frontend: str, moment: str, dark: bool, top: str = ".anb-workbench") -> None:
    """A screenshot with `top` (the Workbench: its header, the paused pane; or the tabs: the trace view) at the
    top of the page."""
    page.locator(top).first.evaluate("el => el.scrollIntoView({block: 'start'})")
    theme = "dark" if dark else "light"
    page.screenshot(path=str(BREAKPOINT_SHOTS / f"{frontend}_{moment}_{theme}.png"))


def breakpoint_scenario(page, errors: list[str], frontend: str, *, switch_theme=None, dark: bool = False,
                        continue_key: str | None = None) -> None:  # fmt: skip
    """The breakpoint scenario, the same in every frontend: with the Workbench of BREAKPOINT_CELLS on show,
    click the before_tool dot, Run, wait for the pause, change the add call's argument (b: 3 -> 40), Apply
    edits, Continue (the button, or `continue_key` as in DevTools): the run has one edit row, the tool call
    ran with b=40, and the answer says 42.

    Screenshots `<frontend>_{paused,after}_{light,dark}.png`: both themes through `switch_theme(page, dark)`
    where the frontend switches in the page, else the one theme the page was opened in (`dark`)."""
    themes = [False, True] if switch_theme is not None else [dark]
    wait_for_theme(page, themes[0])
    dot = page.locator(".anb-break-dot.anb-break-before_tool")
    dot.scroll_into_view_if_needed()
    page.screenshot(path=str(BREAKPOINT_SHOTS / f"{frontend}_sidebar_{'dark' if themes[0] else 'light'}.png"))
    dot.click()
    page.locator(".anb-break-dot.anb-break-before_tool.anb-break-on").wait_for(timeout=10_000)
    page.locator(".anb-run-button").click()
    banner = page.locator(".anb-pause-banner")
    banner.wait_for(state="visible", timeout=60_000)
    # any banner: Lab may keep an earlier test's notebook open, with a hidden banner of its own
    any_text(page, ".anb-pause-banner", "before_tool/LookAtTools, step 0")
    any_text(page, ".anb-progress", "paused before")
    args = page.locator(".anb-pause-args textarea")
    assert '"b": 3' in args.input_value()
    args.fill('{"a": 2, "b": 40}')
    args.press("Tab")  # the Textarea syncs its value on change
    page.locator(".anb-apply-edits-button").click()
    any_text(page, ".anb-pause-status", "applied")
    for theme in themes:
        if theme != themes[0]:
            switch_theme(page, theme)
        shoot(page, frontend, "paused", theme)
        shoot(page, frontend, "paused_trace", theme, top=".anb-tabs")  # the run so far, the paused event open

    # The dot off (a before_tool pause would come again at the next step's tool calls), then continue.
    dot.click()
    page.locator(".anb-break-dot.anb-break-on").wait_for(state="detached", timeout=10_000)
    if continue_key is not None:
        banner.click()  # the key goes to the page, wherever the focus is
        page.keyboard.press(continue_key)
    else:
        page.locator(".anb-continue-button").click()
    wait_for_progress(page, "answered")
    page.locator(".anb-debugger").wait_for(state="hidden", timeout=10_000)
    any_text(page, ".anb-tv-tscroll", "b=40) -> 42")
    assert page.locator(".anb-tv-row.anb-kind-edit").count() == 1
    for theme in reversed(themes):
        if theme != themes[-1]:
            switch_theme(page, theme)
        shoot(page, frontend, "after", theme)
    # The answer changed with the edited argument: the Runs tab shows the run's answer.
    page.locator(".lm-TabBar-tabLabel, .p-TabBar-tabLabel", has_text="Runs").first.click()
    any_text(page, ".anb-run-details", "= 42")
    assert ours(errors) == []


def test_breakpoint_in_jupyterlab(lab, browser):
    """Click a breakpoint dot, run, change a tool argument while paused, continue (F8): the edit row is in the
    run and the answer changed."""
    put_notebook(lab, "breakpoints.ipynb", BREAKPOINT_CELLS)
    BREAKPOINT_SHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = open_notebook(browser, f"{lab}/lab/tree/breakpoints.ipynb?reset")  # only this notebook open
    try:
        page.locator(".jp-Notebook").wait_for(timeout=90_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90_000)
        run_all_cells(page, page.locator(".anb-run-button"))
        breakpoint_scenario(page, errors, "lab", switch_theme=menu_theme, continue_key="F8")
    finally:
        page.close()


def test_breakpoint_in_notebook7(lab, browser):
    """The breakpoint scenario in Notebook 7 (the Continue button), light and dark through its Settings menu."""
    put_notebook(lab, "breakpoints_nb7.ipynb", BREAKPOINT_CELLS)
    BREAKPOINT_SHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = open_notebook(browser, f"{lab}/notebooks/breakpoints_nb7.ipynb")
    try:
        page.locator(".jp-Notebook").wait_for(timeout=90_000)
        page.locator(".jp-NotebookKernelStatus, .jp-Notebook-ExecutionIndicator").first.wait_for(timeout=90_000)
        run_all_cells(page, page.locator(".anb-run-button"))
        breakpoint_scenario(page, errors, "nb7", switch_theme=menu_theme)
    finally:
        page.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("served", ["voila", "voila_ext"])
def test_breakpoint_in_voila(request, browser, served, theme):
    """The breakpoint scenario in Voila, on its own (`voila NB`) and as the Jupyter server's extension: the
    Continue click reaches the kernel while the run waits on its worker thread. Voila takes its theme from the
    address (`?theme=dark`): one page per theme."""
    if served == "voila":
        url = f"{request.getfixturevalue('voila')}/?theme={theme}"
    else:
        lab = request.getfixturevalue("lab")
        put_notebook(lab, "breakpoints_voila.ipynb", BREAKPOINT_CELLS)
        url = f"{lab}/voila/render/breakpoints_voila.ipynb?theme={theme}"
    BREAKPOINT_SHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = open_notebook(browser, url)
    try:
        page.locator(".anb-run-button").wait_for(timeout=120_000)
        breakpoint_scenario(page, errors, served, dark=theme == "dark")
    finally:
        page.close()
