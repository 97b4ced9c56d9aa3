"""The trace view's ES module in real chromium (Playwright), on a standalone page with a stand-in model.

No Jupyter here (that is test_browser.py): the page runs the very `trace_view.js` and answers `selected` with
the detail built in Python, as the kernel does. Clicks a bar and reads the detail, steps with the arrow keys,
zooms with the wheel, brushes and searches (the table and every count agree), scrolls a 2,000-step run's table
to its last row, merges live batches (deltas) into what a full send shows, compares a run with its fork and
jumps to the divergence, draws a live run paused at a breakpoint (the paused event an open bar labelled
"paused"), and saves light and dark screenshots at 1366x768 under tests/output/browser/.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from haystack.components.agents.state import State
from haystack.hooks import hook
from trace_page import attach, push, synthetic_run

from agent_nb import Recorder, Run
from agent_nb.demo import NoteStore, demo_agent
from agent_nb.views.style import COLORS
from agent_nb.widgets.trace_view import TraceView

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).parent / "output" / "browser"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
WEATHER = "Weather in Paris and Tokyo, then save a note"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def run():
    return Recorder(demo_agent(notes=NoteStore())).run(WEATHER)


def open_view(browser, view: TraceView, theme: str = "light"):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    attach(page, view, theme=theme)
    return page, errors


def test_click_a_bar_shows_its_detail_and_arrow_keys_step(browser, run):
    view = TraceView(run)
    page, errors = open_view(browser, view)
    tool = next(e for e in run.events if e.kind == "tool")
    # Hover a bar: the tooltip carries its summary; click it: the detail pane shows the tool call.
    x, y = page.evaluate(f"document.querySelector('.anb-tv').anbBarCenter({tool.seq})")
    page.mouse.move(x, y)
    assert tool.summary in page.locator(".anb-tv-tip").inner_text()
    page.mouse.down()
    page.mouse.up()
    page.wait_for_function(f"window.anbModel.get('detail').seq === {tool.seq}")
    detail = page.locator(".anb-tv-detail")
    assert f"#{tool.seq} tool get_weather" in detail.inner_text()
    assert '"city": "Paris"' in detail.inner_text() and "18°C, cloudy" in detail.inner_text()
    assert page.locator(f".anb-tv-row[data-seq='{tool.seq}']").get_attribute("class").count("selected") == 1
    # Arrow keys walk the events; the detail follows.
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"window.anbModel.get('detail').seq === {tool.seq + 1}")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.wait_for_function(f"window.anbModel.get('detail').seq === {tool.seq - 1}")
    assert "LLM input" in detail.inner_text() and "reply" in detail.inner_text()
    page.screenshot(path=str(OUTPUT / "trace_light.png"))
    # A cut summary: its row's tooltip and its bar's have the whole line.
    memory = next(e for e in run.events if e.name == "MemoryRetrievalHook")
    cell = page.locator(f".anb-tv-row[data-seq='{memory.seq}'] .anb-tv-c-summary")
    assert "…" in cell.inner_text() and "The user prefers Celsius." in cell.get_attribute("title")
    x, y = page.evaluate(f"document.querySelector('.anb-tv').anbBarCenter({memory.seq})")
    page.mouse.move(x, y)
    assert "The user prefers Celsius." in page.locator(".anb-tv-tip").inner_text()
    # Copy buttons: a tool call's arguments and result, the State diff and a whole State, each as shown in full.
    page.locator(f".anb-tv-row[data-seq='{tool.seq}']").click()
    page.wait_for_function(f"window.anbModel.get('detail').seq === {tool.seq}")
    copied = "document.querySelector('.anb-tv').anbCopied"
    for title in ("arguments", "result", "State diff", "State after"):
        page.evaluate("document.querySelector('.anb-tv').anbCopied = undefined")
        page.locator(".anb-tv-detail .anb-tv-sec summary", has_text=title).locator(".anb-tv-copy").click()
        page.wait_for_function(f"{copied} !== undefined")
        text = page.evaluate(copied)
        if title in ("arguments", "result", "State after"):
            assert text == view.detail[{"State after": "after"}.get(title, title)], title
        else:
            assert "18°C, cloudy" in text  # the tool's result message the call added
    assert errors == []


def test_zoom_brush_and_search_filter_the_table_and_counts_agree(browser, run):
    view = TraceView(run)
    page, errors = open_view(browser, view)
    n = len(run.events)
    counts = page.locator(".anb-tv-counts")
    assert f"{n} events · {n} shown" in counts.inner_text()
    # Wheel over the axis zooms in around the cursor; reset zooms out.
    axis = page.locator(".anb-tv-axis").bounding_box()
    page.mouse.move(axis["x"] + axis["width"] * 0.6, axis["y"] + 10)
    page.mouse.wheel(0, -600)
    page.wait_for_function("window.anbModel.get('zoom').length === 2")
    lo, hi = page.evaluate("window.anbModel.get('zoom')")
    assert 0 < hi - lo < (run.duration_ms or 1e9)
    page.locator(".anb-tv-reset").click()
    page.wait_for_function("window.anbModel.get('zoom').length === 0")
    # Drag on the axis brushes a time range: fewer rows, and every count on screen says the same number.
    # The range is taken around the last event's bar (the run's end), so it holds that event and never the
    # first one, whatever the run's timings were.
    last_x, _ = page.evaluate(f"document.querySelector('.anb-tv').anbBarCenter({run.events[-1].seq})")
    page.mouse.move(last_x - 20, axis["y"] + 10)
    page.mouse.down()
    page.mouse.move(last_x + 40, axis["y"] + 10, steps=5)
    page.mouse.up()
    page.wait_for_function("window.anbModel.get('brush').length === 2")
    view.brush = page.evaluate("window.anbModel.get('brush')")
    shown = len(view.visible_seqs())
    assert 0 < shown < n
    assert f"{shown} shown" in counts.inner_text()
    assert f"of {shown} shown" in page.locator(".anb-tv-tfoot").inner_text()
    assert page.locator(".anb-tv-row").count() == min(shown, page.locator(".anb-tv-row").count())
    seqs = [int(s) for s in page.locator(".anb-tv-row").evaluate_all("rs => rs.map(r => r.dataset.seq)")]
    assert seqs == view.visible_seqs()[: len(seqs)]
    # Clicking the axis clears the brush; the search box filters by name or summary.
    page.mouse.click(axis["x"] + 300, axis["y"] + 10)
    page.wait_for_function("window.anbModel.get('brush').length === 0")
    page.locator(".anb-tv-search").fill("tokyo")
    page.wait_for_function("window.anbModel.get('search') === 'tokyo'")
    rows = page.locator(".anb-tv-row").all_inner_texts()
    assert rows and all("tokyo" in r.lower() for r in rows)
    # Step-relative mode: the axis counts from each step's start.
    page.locator(".anb-tv-mode").click()
    page.wait_for_function("window.anbModel.get('mode') === 'step'")
    assert errors == []


def test_a_2000_step_run_scrolls_to_its_last_row(browser):
    big = synthetic_run(2000)
    view = TraceView(big)
    page, errors = open_view(browser, view, theme="dark")
    assert "8002 events · 8002 shown" in page.locator(".anb-tv-counts").inner_text()
    # Virtualized: only the rows in view exist in the DOM, yet the last event is one scroll away.
    assert page.locator(".anb-tv-row").count() < 60
    page.locator(".anb-tv-tscroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_function("[...document.querySelectorAll('.anb-tv-row')].some(r => r.dataset.seq === '8001')")
    last = page.locator(".anb-tv-row[data-seq='8001']")
    assert "after_run" in last.inner_text() and "audit" in last.inner_text()
    assert "of 8002 shown" in page.locator(".anb-tv-tfoot").inner_text()
    # Rows of a folded step: a click on the step's label unfolds it.
    page.locator(".anb-tv-row[data-seq='8001']").click()
    page.wait_for_function("window.anbModel.get('detail').seq === 8001")
    page.locator(".anb-tv-mode").click()
    page.screenshot(path=str(OUTPUT / "trace_2000_steps_dark.png"))
    assert errors == []


def test_dark_theme_screenshot(browser, run):
    view = TraceView(run)
    page, errors = open_view(browser, view, theme="dark")
    seq = next(e.seq for e in run.events if e.kind == "llm")
    page.locator(f".anb-tv-row[data-seq='{seq}']").click()
    page.wait_for_function(f"window.anbModel.get('detail').seq === {seq}")
    page.screenshot(path=str(OUTPUT / "trace_dark.png"))
    bg = page.evaluate("getComputedStyle(document.querySelector('.anb-tv')).backgroundColor")
    assert bg == "rgb(17, 17, 17)"
    assert errors == []


def live_view(source: Run, first: int = 40) -> tuple[Run, TraceView]:
    """A live copy of `source` holding its first events, shown by a view that refreshes at every call."""
    live = Run(run_id=source.run_id, status="running")
    live.events.extend(source.events[:first])
    view = TraceView(live)
    view.live_interval = 0.0
    return live, view


def test_live_batches_merge_into_the_same_table_a_full_send_shows(browser):
    source = synthetic_run(30)
    live, view = live_view(source)
    page, errors = open_view(browser, view)
    assert "40 events · 40 shown" in page.locator(".anb-tv-counts").inner_text()
    for end in (70, 100, len(source.events)):
        live.events.extend(source.events[len(live.events) : end])
        if end == len(source.events):
            live.events[95].status, live.events[95].error = "error", "ValueError: settled late"  # a sent row changes
            live.status = "ok"
        assert view.refresh()
        push(page, view, "delta", "meta")
    n = len(source.events)
    page.wait_for_function(f"window.anbModel.get('data').n === {n}")
    # The browser's merged columns are the view's full columns; nothing asked for a resync.
    merged = page.evaluate("window.anbModel.get('data')")
    assert {k: merged[k] for k in view.data} == view.data
    assert page.evaluate("window.anbSent || []") == []
    assert f"{n} events · {n} shown" in page.locator(".anb-tv-counts").inner_text()
    errors_shown = view.meta["errors"]  # the late error counts
    assert errors_shown >= 1 and f"· {errors_shown} error" in page.locator(".anb-tv-counts").inner_text()
    page.locator(".anb-tv-tscroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_function(f"[...document.querySelectorAll('.anb-tv-row')].some(r => r.dataset.seq === '{n - 1}')")
    # A delta made for another copy (a missed batch) is not merged: the view asks for the whole columns.
    page.evaluate("window.anbModel.set('delta', {base: 999, version: 1000, start: 0, n: 0, names: [], flows: []})")
    assert page.evaluate("window.anbSent") == [{"type": "resync"}]
    assert errors == []


def test_an_empty_view_has_no_ticks_and_a_run_has_distinct_ones(browser, run):
    page, errors = open_view(browser, TraceView())
    assert page.evaluate("document.querySelector('.anb-tv').anbTicks") == []  # not "0.00 ms" five times
    page.close()
    page, errors = open_view(browser, TraceView(run))
    ticks = page.evaluate("document.querySelector('.anb-tv').anbTicks")
    assert len(ticks) >= 3 and len(set(ticks)) == len(ticks) and ticks[0] == "0 ms", ticks
    assert errors == []
    page.close()


def test_a_view_rendered_after_batches_it_did_not_see_shows_the_whole_run(browser):
    """`wb.run(...)` in one cell, `wb` in the next: the batches went while no view was there to merge them."""
    source = synthetic_run(30)
    live, view = live_view(source)
    first_send = copy.deepcopy(view.data)  # what the browser's model holds: deltas are merged by a view
    deltas = []
    for end in (70, len(source.events)):
        live.events.extend(source.events[len(live.events) : end])
        live.status = "ok" if end == len(source.events) else "running"
        assert view.refresh()
        deltas.append(copy.deepcopy(view.delta))
    n = len(source.events)
    full = copy.deepcopy(view.data)
    # One batch missed: the view merges the model's last delta as it renders.
    view.data, view.delta = copy.deepcopy(first_send), deltas[0]
    page, errors = open_view(browser, view)
    assert "70 events · 70 shown" in page.locator(".anb-tv-counts").inner_text()
    assert page.evaluate("window.anbSent || []") == []
    page.close()
    # Two missed: the last delta does not follow the model's copy; the view asks for the whole columns again.
    view.data, view.delta = copy.deepcopy(first_send), deltas[1]
    page, errors = open_view(browser, view)
    assert page.evaluate("window.anbSent || []") == [{"type": "resync"}]
    view._on_frontend_msg(view, {"type": "resync"}, [])  # what the kernel does with that message
    assert view.data["n"] == n and {k: view.data[k] for k in full if k != "version"} == {
        k: full[k] for k in full if k != "version"
    }
    push(page, view, "data", "delta", "meta")
    page.wait_for_function(f"document.querySelector('.anb-tv-counts').innerText.startsWith('{n} events')")
    assert errors == []
    page.close()


def test_compare_a_run_and_its_fork_and_jump_to_the_divergence(browser, run):
    fork = run.fork(1, edit={"user_profile": {"name": "Ada", "units": "celsius"}})
    for theme in ("light", "dark"):
        view = TraceView()
        first = view.show_compare(run, fork)
        page, errors = open_view(browser, view, theme=theme)
        # Both runs' rows, in the table and in the waterfall (B's under A's).
        assert page.locator(".anb-tv-row.anb-tv-lane-a").count() > 0
        assert page.locator(".anb-tv-row.anb-tv-lane-b").count() > 0
        counts = page.locator(".anb-tv-counts").inner_text()
        assert f"A {run.run_id}, B {fork.run_id}" in counts and "first divergence at step 1" in counts
        # Aligned by step: each step of B starts where A's same step starts (absolute time, and step-relative
        # time), B's bar under A's. The first event of step 2 of each run:
        n_a = len(run.events)
        first_a = next(e.seq for e in run.events if e.step == 2)
        first_b = n_a + next(e.seq for e in fork.events if e.step == 2)
        for mode in ("absolute", "step"):
            if mode == "step":
                page.locator(".anb-tv-mode").click()
                page.wait_for_function("window.anbModel.get('mode') === 'step'")
            xa, ya, _, _ = page.evaluate(f"document.querySelector('.anb-tv').anbBarRect({first_a})")
            xb, yb, _, _ = page.evaluate(f"document.querySelector('.anb-tv').anbBarRect({first_b})")
            assert yb > ya and abs(xb - xa) < 1.5
        page.locator(".anb-tv-mode").click()
        page.locator(".anb-tv-tscroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
        # One click jumps to the first divergence: selected, shown in the detail, its table row marked.
        page.locator(".anb-tv-jump").click()
        mark = view.meta["divergence"]
        page.wait_for_function(f"window.anbModel.get('detail').seq === {mark}")
        assert page.evaluate("window.anbModel.get('selected')") == mark
        detail = page.locator(".anb-tv-detail").inner_text()
        assert f"B · {fork.run_id} · #{first['seq_b']}" in detail and "step\n1" in detail.replace("\t", "\n")
        row = page.locator(".anb-tv-row.anb-tv-row-selected")
        assert row.count() == 1 and "anb-tv-row-divergence" in row.get_attribute("class")
        assert row.inner_text().startswith(f"B {first['seq_b']}")
        # The "first divergence" label sits inside its own row: it covers no other row's bar.
        label = page.evaluate("document.querySelector('.anb-tv').anbDivergenceLabel")
        assert label["rowTop"] is not None, "the divergent row is in view after the jump"
        assert label["rowTop"] <= label["y"] and label["y"] + label["h"] <= label["rowTop"] + label["rowH"], label
        page.screenshot(path=str(OUTPUT / f"trace_compare_{theme}.png"))
        assert errors == []
        page.close()


# ---- issue 19 ----------------------------------------------------------------------------------------------------
def test_the_search_box_shows_what_run_search_finds(browser, run):
    view = TraceView(run)
    page, errors = open_view(browser, view)
    # "celsius" is in no name and in no summary of the table, but in the memory a hook injected: Python answers.
    page.locator(".anb-tv-search").fill("celsius")
    page.wait_for_function("(window.anbModel.get('matches') || {}).q === 'celsius'")
    expected = [int(s) for s in run.search("celsius")["seq"]]
    assert expected
    page.wait_for_function(f"document.querySelector('.anb-tv-counts').innerText.includes('{len(expected)} shown')")
    seqs = [int(s) for s in page.locator(".anb-tv-row").evaluate_all("rs => rs.map(r => r.dataset.seq)")]
    assert seqs == expected
    assert f"of {len(expected)} shown" in page.locator(".anb-tv-tfoot").inner_text()
    assert errors == []


def test_next_error_key_and_button_walk_the_failed_events(browser):
    big = synthetic_run(200)
    errors_at = [e.seq for e in big.events if e.error]
    assert len(errors_at) == 2
    page, errors = open_view(browser, TraceView(big))
    page.locator(".anb-tv-scroll").focus()
    page.keyboard.press("e")
    page.wait_for_function(f"window.anbModel.get('detail').seq === {errors_at[0]}")
    page.keyboard.press("e")
    page.wait_for_function(f"window.anbModel.get('detail').seq === {errors_at[1]}")
    page.keyboard.press("Shift+E")
    page.wait_for_function(f"window.anbModel.get('detail').seq === {errors_at[0]}")
    page.locator(".anb-tv-next-error").click()  # the button does what the key does
    page.wait_for_function(f"window.anbModel.get('detail').seq === {errors_at[1]}")
    assert "the sheep ran away" in page.locator(".anb-tv-detail").inner_text()
    assert errors == []


def test_a_pending_event_is_an_open_bar_and_the_axis_keeps_moving(browser):
    from agent_nb.recording import Event
    from agent_nb.recording.context import RunContext
    from agent_nb.recording.snapshots import Snapshotter

    source = synthetic_run(3)
    live = Run(run_id=source.run_id, status="running")
    live.events.extend(source.events[:6])
    ctx = live._ctx = RunContext(run=live, snapshotter=Snapshotter())
    ctx.t0 -= 0.05  # the run started 50 ms ago
    gate = Event(live.run_id, -1, 1, "hook", "before_tool", "ConfirmationHook", "ok", 12.0, 0.0)
    ctx.open_hook = gate  # a before_tool hook waiting for an approval
    view = TraceView(live)
    assert view.meta["open"][0]["name"] == "ConfirmationHook"
    for theme in ("light", "dark"):
        page, errors = open_view(browser, view, theme=theme)
        assert "1 in progress" in page.locator(".anb-tv-counts").inner_text()
        assert "in progress" in page.locator(".anb-tv-legend").inner_text()
        before = page.evaluate("document.querySelector('.anb-tv-axis').toDataURL()")
        page.wait_for_function("(b) => document.querySelector('.anb-tv-axis').toDataURL() !== b", arg=before)
        page.screenshot(path=str(OUTPUT / f"trace_pending_{theme}.png"))
        assert errors == []
        page.close()
    live._ctx = None


def test_a_failing_hook_shows_its_own_frame_first_and_copies_the_traceback(browser):
    @hook
    def flaky(state: State) -> None:
        """Fails like a profile service down."""
        raise RuntimeError("profile service unavailable (HTTP 503)")

    rec = Recorder(demo_agent(notes=NoteStore()))
    rec.add_hook("after_tool", flaky)
    with pytest.raises(RuntimeError):
        rec.run(WEATHER)
    failed = rec.runs[-1]
    seq = next(e.seq for e in failed.events if e.name == "flaky")
    view = TraceView(failed)
    for theme in ("light", "dark"):
        page, errors = open_view(browser, view, theme=theme)
        page.locator(f".anb-tv-row[data-seq='{seq}']").click()
        page.wait_for_function(f"window.anbModel.get('detail').seq === {seq}")
        mine = page.locator(".anb-tv-tb-user").inner_text()
        assert "in flaky" in mine and "agent_nb/recording" not in mine and "RuntimeError: profile" in mine
        folded = page.locator(".anb-tv-tbbox details")
        assert "internal frames (" in folded.inner_text() and folded.get_attribute("open") is None
        # No mid-word wrap: one source line, one line on screen (the box scrolls sideways).
        assert page.locator(".anb-tv-tb-user").evaluate("el => getComputedStyle(el).whiteSpace") == "pre"
        page.locator(".anb-tv-detail .anb-tv-sec summary", has_text="traceback").locator(".anb-tv-copy").click()
        page.wait_for_function("document.querySelector('.anb-tv').anbCopied !== undefined")
        assert page.evaluate("document.querySelector('.anb-tv').anbCopied") == view.detail["traceback"]
        page.screenshot(path=str(OUTPUT / f"trace_traceback_{theme}.png"))
        assert errors == []
        page.close()


def test_a_paused_live_run_shows_the_paused_event_as_an_open_bar_labelled_paused(browser):
    """A live run paused twice: at the first tool call (its argument edited, then resumed) and at the last one,
    where it waits. The paused call is an open hatched bar to the plot's end, labelled "paused" with the time."""
    from PIL import Image

    rec = Recorder(demo_agent(notes=NoteStore()))
    rec.break_at("tool", name="get_weather")
    rec.break_at("tool", name="save_note")
    live = rec.start(WEATHER)
    try:
        first = live.wait_paused(timeout=60)
        assert first is not None and first.name == "get_weather"
        live.edit(arguments={"city": "Tokyo"})
        rec.clear_breakpoints()
        rec.break_at("tool", name="save_note")
        live.resume()
        pause = live.wait_paused(timeout=60)
        assert pause is not None and pause.name == "save_note"
        view = TraceView(live.run)
        assert view.meta["paused"]["name"] == "save_note"
        for theme in ("light", "dark"):
            page, errors = open_view(browser, view, theme=theme)
            assert "paused before tool save_note" in page.locator(".anb-tv-outcome").inner_text()
            assert "paused here (not run yet)" in page.locator(".anb-tv-legend").inner_text()
            assert "edit by hand" in page.locator(".anb-tv-legend").inner_text()
            bar = page.evaluate("document.querySelector('.anb-tv').anbPausedBar()")
            assert bar is not None and bar["label"].startswith("paused · ")
            # Open to the plot's right end, a clear width, and hatched in the tool colour (not a blank box).
            assert abs(bar["left"] + bar["width"] - bar["plotRight"]) < 2 and bar["width"] > 100
            shot = OUTPUT / f"trace_paused_{theme}.png"
            page.screenshot(path=str(shot))
            box = (int(bar["left"]) + 2, int(bar["top"]) + 2, int(bar["left"] + bar["width"]) - 2,
                   int(bar["top"] + bar["height"]) - 2)  # fmt: skip
            pixels = list(Image.open(shot).convert("RGB").crop(box).get_flattened_data())
            tool_rgb = tuple(int(COLORS["tool"][i : i + 2], 16) for i in (1, 3, 5))
            assert sum(1 for p in pixels if sum(abs(a - b) for a, b in zip(p, tool_rgb, strict=True)) < 60) > 50
            page.mouse.move(bar["left"] + bar["width"] / 2, bar["top"] + bar["height"] / 2)
            assert "paused before tool save_note, step 1" in page.locator(".anb-tv-tip").inner_text()
            # The time paused goes on in the label (the Agent's axis stands still).
            page.wait_for_function(
                "(l) => document.querySelector('.anb-tv').anbPausedBar().label !== l", arg=bar["label"]
            )
            assert errors == []
            page.close()
    finally:
        live.close()
