"""The real-browser test: JupyterLab started here on 127.0.0.1, driven by Playwright on Debian's chromium.

Opens a notebook with a Workbench, runs all cells, clicks Run, approves the pending tool call, switches a
hook off, runs again, checks the new timeline shows the skipped row, and saves screenshots under
tests/output/browser/ (look at them: that is what a user sees).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
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
    "rec = Recorder(demo_agent(latency_s=0.05))\n"
    "wb = Workbench(rec, prompt='What is 2 + 3, and the weather in Paris?')\n"
    "rec.add_hook('before_tool', wb.confirmation_hook())",
    "wb",
]


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
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "workbench.ipynb")
    # No "get notified about Jupyter news?" toast over the workbench (and no attempt to fetch news).
    settings = root / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port = free_port()
    env = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False", "JUPYTER_PLATFORM_DIRS": "1"}
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    log = open(root / "lab.log", "w")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        [jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--IdentityProvider.token=",
         "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         f"--LabApp.user_settings_dir={root / 'settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("JupyterLab did not answer in 90 s; see " + str(root / "lab.log"))
    if proc.poll() is not None:
        pytest.fail("JupyterLab exited: " + (root / "lab.log").read_text()[-2000:])
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_workbench_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        try:
            page.goto(f"{lab}/lab/tree/workbench.ipynb", wait_until="domcontentloaded", timeout=90_000)
            page.locator(".jp-Notebook").wait_for(timeout=90_000)
            # Wait for the kernel, then Run > Run All Cells.
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90_000)
            run_button = page.locator(".anb-run-button")
            run_all_cells(page, run_button)
            page.screenshot(path=str(OUTPUT / "01_workbench_loaded.png"))

            # First run: the confirmation UI asks for the tool call; approve it (twice: add and get_weather).
            run_button.click()
            approve = page.locator(".anb-approve-button")
            approve.wait_for(state="visible", timeout=60_000)
            page.screenshot(path=str(OUTPUT / "02_pending_tool_call.png"))
            approve_all(page)
            wait_for_status(page, "ok")
            page.screenshot(path=str(OUTPUT / "03_first_run.png"), full_page=True)

            # Switch the first before_llm hook off and run again.
            toggle = page.locator(".anb-hook-toggle", has_text="inject_date").locator("input[type=checkbox]")
            toggle.uncheck()
            run_button.click()
            approve_all(page)
            wait_for_status(page, "ok", runs=2)
            table = page.locator(".anb-timeline-table")
            table.wait_for(timeout=30_000)
            assert "skipped" in table.inner_text()
            assert "inject_date" in table.inner_text()
            page.locator(".anb-workbench").screenshot(path=str(OUTPUT / "04_second_run_skipped.png"))
            page.screenshot(path=str(OUTPUT / "05_full_page.png"), full_page=True)
        finally:
            page.screenshot(path=str(OUTPUT / "99_last_state.png"))
            browser.close()


def run_all_cells(page, ready, attempts: int = 4) -> None:
    """Run > Run All Cells until `ready` shows: right after the kernel reports idle, Lab may drop the request."""
    for _ in range(attempts):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            ready.wait_for(timeout=30_000)
            return
        except Exception:
            page.keyboard.press("Escape")
    raise AssertionError(f"the notebook's cells did not run after {attempts} tries")


def approve_all(page, rounds: int = 6) -> None:
    """Approve pending tool calls until none is pending (the demo prompt needs one or two)."""
    approve = page.locator(".anb-approve-button")
    for _ in range(rounds):
        try:
            approve.wait_for(state="visible", timeout=8_000)
        except Exception:
            return
        approve.click()
        page.wait_for_timeout(300)


def wait_for_status(page, status: str, runs: int = 1, timeout_s: float = 60) -> None:
    """Wait until the progress line reports the run finished with `status`."""
    progress = page.locator(".anb-progress")
    deadline = time.time() + timeout_s
    text = ""
    while time.time() < deadline:
        text = progress.inner_text()
        if status in text and "running" not in text:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"run did not finish with {status!r}; progress says: {text!r}")
