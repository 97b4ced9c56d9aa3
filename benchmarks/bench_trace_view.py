"""The trace view at 2,000 steps (8,002 events) in chromium, and what a live view costs the Agent.

Run: `python benchmarks/bench_trace_view.py` (needs Debian's chromium at /usr/bin/chromium; Playwright's Python
package drives it). The run is synthesized (`tests/trace_page.py`, `synthetic_run`): 2,000 steps of
before_llm hook, LLM call, tool call and after_tool hook, with States, errors, switched-off hooks and cached
replies. The view's own ES module runs on a standalone page with a stand-in anywidget model; the detail round
trip goes through Python as it does through the kernel (without the kernel's websocket).

Figures (median of several tries, wall time in the browser):
1. Python: building the columns the browser receives; bytes sent per event (JSON of the `data` trait) and per
   selected event's detail.
2. Browser: initial render (module import + first draw of waterfall and table) and the page's load to ready.
3. Browser: a search filter, a zoom, a time brush, a selection (draw only, and with the detail round trip).
4. Live batches near 8,000 events: bytes sent per batch of 50 new events (200 events/s, one batch per 0.25 s),
   the whole columns resent (before) vs a delta of the new and changed rows (now), and the Python time of each.
5. Live: a Workbench watching runs vs none, side by side: the Agent's recorded run duration (its timings must
   not change when a view listens) and the demo agent at ~200 events/s keeps the view up to date.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# The standalone page and the synthetic run are test support: they live in tests/.
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from common import report
from trace_page import attach, synthetic_run

from agent_nb.recording import Run
from agent_nb.widgets.trace_data import columns
from agent_nb.widgets.trace_view import TraceView

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
TRIES = 5

#: Each interaction: set the trait as the frontend does, then wait for the next painted frame.
TIMED_JS = """async ([name, value]) => {
  const m = window.anbModel;
  const t0 = performance.now();
  m.set(name, value);
  const sync = performance.now() - t0;
  await new Promise((r) => requestAnimationFrame(() => r()));
  return [sync, performance.now() - t0];
}"""

SEARCH_JS = """async (q) => {
  const m = window.anbModel;
  const t0 = performance.now();
  m.set('search', q);
  while (!((m.get('matches') || {}).q === q)) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""

SELECT_JS = """async (seq) => {
  const m = window.anbModel;
  const t0 = performance.now();
  m.set('selected', seq);
  const drawn = performance.now() - t0;
  while (!(m.get('detail') && m.get('detail').seq === seq)) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => requestAnimationFrame(() => r()));
  return [drawn, performance.now() - t0];
}"""


def python_side(run) -> TraceView:
    t = []
    for _ in range(TRIES):
        t0 = time.perf_counter()
        cols = columns(run)
        t.append(time.perf_counter() - t0)
    n = len(run.events)
    report(f"columns() for {n} events (Python)", statistics.median(t) * 1000, "< 300 ms", " ms")
    view = TraceView(run)
    data_bytes = len(json.dumps(cols, separators=(",", ":")))
    report("bytes sent per event (data trait, JSON)", data_bytes / n, "small; no States", " B")
    detail = view.select(n // 2)
    report("bytes of one selected event's detail (on demand)", len(json.dumps(detail)), "-", " B")
    search_side(n)
    return view


def search_side(n: int) -> None:
    """The filter box's answer in Python: `search` set -> `matches` (run.search over every event's content).

    Cold: the first search of a run builds each event's searchable text (kept for the next searches).
    """
    from agent_nb.recording.search import event_texts

    cold, shown, warm = [], [], []
    for _ in range(TRIES):
        run = synthetic_run(2000)
        t0 = time.perf_counter()
        event_texts(run)  # what the first search of a run builds (the view builds it in the background)
        cold.append(time.perf_counter() - t0)
        fresh = TraceView(synthetic_run(2000))
        index = next(t for t in threading.enumerate() if t.name == "agent_nb-search-index")
        index.join()  # shown a moment before the user types
        t0 = time.perf_counter()
        fresh.search = "ran away"
        shown.append(time.perf_counter() - t0)
        for text in ("sheep", "count(n=1999)", "no such text"):
            t0 = time.perf_counter()
            fresh.search = text
            warm.append(time.perf_counter() - t0)
        assert fresh.matches["q"] == "no such text" and fresh.matches["ids"] == []
    report(f"search texts of {n} events built (once a run, in the background when shown)",
           statistics.median(cold) * 1000, "-", " ms")  # fmt: skip
    report(f"search answered in Python, {n} events, first search after the view showed",
           statistics.median(shown) * 1000, "< 100 ms", " ms")  # fmt: skip
    report(f"search answered in Python, {n} events, next searches", statistics.median(warm) * 1000, "< 100 ms",
           " ms")  # fmt: skip


def browser_side(view: TraceView, n: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        renders, loads = [], []
        page = None
        for _ in range(TRIES):
            if page is not None:
                page.close()
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            t0 = time.perf_counter()
            attach(page, view)
            loads.append(time.perf_counter() - t0)
            renders.append(page.evaluate("window.anbRenderMs"))
        report(f"initial render, {n} events (module import + first draw)", statistics.median(renders), "< 1000 ms",
               " ms")  # fmt: skip
        report("page load to ready (JSON parse, import, render)", statistics.median(loads) * 1000, "-", " ms")
        span = view.data["t0"][-1]
        cases = {
            "search filter, names and summaries while Python answers": [("search", "ran away"), ("search", "")],
            "zoom to 5% of the run": [("zoom", [span * 0.4, span * 0.45]), ("zoom", [])],
            "time brush (10% of the run)": [("brush", [span * 0.2, span * 0.3]), ("brush", [])],
            "step-relative mode": [("mode", "step"), ("mode", "absolute")],
        }
        for label, steps in cases.items():
            frames = []
            for _ in range(TRIES):
                for name, value in steps:
                    _sync, frame = page.evaluate(TIMED_JS, [name, value])
                    if value not in ("", [], "absolute"):
                        frames.append(frame)
            report(f"{label}: to the next painted frame", statistics.median(frames), "< 100 ms", " ms")
        typed = []
        for k in range(TRIES):
            typed.append(page.evaluate(SEARCH_JS, ["ran away", "sheep", "count(n=12", "tokyo", "n=1999"][k]))
            page.evaluate(TIMED_JS, ["search", ""])  # cleared: Python answers with no matches
        report("search typed: Python's answer drawn (round trip, all 8002 events)", statistics.median(typed),
               "< 100 ms", " ms")  # fmt: skip
        drawn, round_trip = [], []
        for k in range(TRIES):
            d, rt = page.evaluate(SELECT_JS, 4000 + k * 7)
            drawn.append(d)
            round_trip.append(rt)
        report("select an event: redraw", statistics.median(drawn), "< 100 ms", " ms")
        report("select an event: with the detail round trip (via Python)", statistics.median(round_trip), "< 100 ms",
               " ms")  # fmt: skip
        browser.close()


def live_batches(run) -> None:
    """Bytes per live batch near 8,000 events: the whole columns (what each batch resent before) vs a delta."""
    batch = 50
    live = Run(run_id=run.run_id, status="running")
    live.events.extend(run.events[: len(run.events) - 20 * batch])
    view = TraceView(live)
    view.live_interval = 0.0
    full_bytes, delta_bytes, full_s, delta_s = [], [], [], []
    while len(live.events) < len(run.events):
        live.events.extend(run.events[len(live.events) : len(live.events) + batch])
        t0 = time.perf_counter()
        cols = columns(live)
        full_s.append(time.perf_counter() - t0)
        full_bytes.append(len(json.dumps(cols, separators=(",", ":"))))
        t0 = time.perf_counter()
        view.refresh()
        delta_s.append(time.perf_counter() - t0)
        delta_bytes.append(len(json.dumps(view.delta, separators=(",", ":"))))
    n = len(live.events)
    full, delta = statistics.median(full_bytes), statistics.median(delta_bytes)
    print(f"live batches of {batch} events, the run near {n} events:")
    report("  bytes per batch, whole columns resent (before)", full, "-", " B")
    report("  bytes per batch, delta of new + changed rows (now)", delta, "small", " B")
    report("  bytes per batch, before / now", full / delta, "large", "x")
    report("  Python time per batch, whole columns (before)", statistics.median(full_s) * 1000, "-", " ms")
    report("  Python time per batch, delta (now)", statistics.median(delta_s) * 1000, "small", " ms")


def live_side() -> None:
    from agent_nb import Recorder, Workbench, demo_agent

    prompt = "Weather in Paris and Tokyo, then save a note"
    bare = Recorder(demo_agent())
    watched = Recorder(demo_agent())
    bench = Workbench(watched)
    d_bare, d_watched = [], []
    for _ in range(3):  # warm up both
        bare.run(prompt)
        bench.run(prompt)
    for _ in range(30):
        d_bare.append(bare.run(prompt).duration_ms)
        d_watched.append(bench.run(prompt).duration_ms)
    ratio = statistics.median(d_watched) / statistics.median(d_bare)
    report("recorded run duration, Workbench watching / none (median of 30)", ratio, "~1.0")

    # ~200 events/s for a few seconds: six hooks and an add tool per step, each step paced by a 25 ms hook
    # (standing in for a model's latency). The view receives batches while the run goes, holds every event at
    # the end, and the recorded durations match an unwatched run's.
    from common import six_hook_agent

    class Pace:
        def run(self, state) -> None:
            time.sleep(0.025)

    def make() -> Recorder:
        rec = Recorder(six_hook_agent(max_agent_steps=200))
        rec.add_hook("before_llm", Pace(), "pace")
        return rec

    steps = "Count to 80"
    paced_bare, paced = make(), make()
    live = Workbench(paced)
    sends: list[int] = []
    live.trace.observe(lambda change: sends.append(change["new"].get("n", 0)), names=["data", "delta"])
    ref = paced_bare.run(steps)
    run = live.run(steps)
    rate = len(run.events) / ((run.duration_ms or 1) / 1000)
    report(f"live run: {len(run.events)} events at", rate, "~200", " ev/s")
    report("live run: recorded duration, watched / not", run.duration_ms / ref.duration_ms, "~1.0")
    report("live run: batches the view received while it ran", len(sends) - 1, "> 1, far fewer than events", "")
    report("live run: events in the view at the end / recorded", live.trace.data["n"] / len(run.events), "1.0")
    live.close()
    bench.close()


def main() -> None:
    run = synthetic_run(2000)
    view = python_side(run)
    live_batches(run)
    if Path(CHROMIUM).exists():
        browser_side(view, len(run.events))
    else:
        print(f"(no chromium at {CHROMIUM}: browser figures skipped)")
    live_side()


if __name__ == "__main__":
    main()
