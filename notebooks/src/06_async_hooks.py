# Source of notebooks/06_async_hooks.ipynb; build with `python notebooks/build.py 06`.

# %% [markdown]
# # 06 · Async hooks and concurrent runs
#
# **Goal:** write hooks that behave in `agent.run_async`: which hooks run on the event loop and which in a thread, how
# to keep a slow hook from freezing every other run, and how to record many runs at once.
# **Prerequisites:** `02_write_your_own_hook` (section 9: async hooks), `03_hook_points`; `asyncio` basics.
# **Time:** about 25 minutes.
#
# Haystack's pages: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api) (`FunctionHook`: `function`,
# `async_function`, `run_async`).
#
# `rec.run_async(...)` records a run through `Agent.run_async`, with the same timeline as `rec.run`. One Recorder
# can record many runs at once, from `asyncio.gather` or from threads: each run keeps its own events, because the
# Recorder tells runs apart with a context variable that follows each run into its hooks and tool threads.
#
# The scripted model answers instantly, so we give it a simulated latency (`demo_agent(latency_s=0.05)`: 50 ms per
# LLM call, an `asyncio.sleep` in async runs and a `time.sleep` in sync ones) to make the concurrency visible.

# %%
# %matplotlib inline
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from agent_nb import Recorder, demo_agent
from agent_nb.views import COLORS

pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 200)
TODAY = {"today": "2026-11-22"}

# %% [markdown]
# ## One async run
#
# ipykernel runs the notebook inside an event loop, so `await` works at the top level of a cell:

# %%
rec = Recorder(demo_agent(latency_s=0.05))
run = await rec.run_async("What is the weather in Paris?", hook_context=TODAY)
print(run.describe())
print("answer:", run.final_answer)
run.timeline[["seq", "step", "kind", "hook_point", "name", "duration_ms", "summary"]].round(1)

# %% [markdown]
# The same rows as a sync run: hooks, LLM calls (about 50 ms each now), tools. Every demo hook runs in async runs too,
# but not all in the same place, which is the next section.
#
# ## Where a hook runs in an async run, measured
#
# In `run_async` haystack awaits `hook.run_async(state)` when the hook has one, and otherwise runs `hook.run` in a
# worker thread (`haystack/utils/async_utils.py`). A `@hook` function always has `run_async`
# (`haystack/hooks/from_function.py`): for a **sync** function it simply calls the function, **on the event loop**.
# So a blocking call in a sync `@hook` function (a `requests.get`, a `time.sleep`, a slow database driver) freezes
# every other coroutine of the process for its duration, while the same code in a class hook without `run_async`
# does not.
#
# We measure it: a ticker coroutine wakes every 10 ms while one async run executes a hook that blocks for 200 ms; the
# longest gap between ticks is how long the loop was frozen.

# %% [measured]
import threading

from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage
from haystack.hooks import hook

BLOCK_S = 0.2


@hook
def sync_function_hook(state: State) -> None:
    """A sync @hook function that blocks (stands for a blocking client call)."""
    time.sleep(BLOCK_S)


class SyncClassHook:
    """The same blocking call in a class hook without run_async."""

    def run(self, state: State) -> None:
        time.sleep(BLOCK_S)


@hook
async def async_function_hook(state: State) -> None:
    """The async version: awaits instead of blocking."""
    await asyncio.sleep(BLOCK_S)


async def longest_loop_pause(hook_object) -> tuple[float, float]:
    """Run one async run with `hook_object` at before_run; return (longest loop pause, run time) in ms."""
    ticks, done = [], asyncio.Event()

    async def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)  # let the ticker start
    started = time.perf_counter()
    await demo_agent(hooks={"before_run": [hook_object]}).run_async([ChatMessage.from_user("Hello!")])
    run_ms = (time.perf_counter() - started) * 1000
    await asyncio.sleep(0.03)  # one more tick, so a pause at the end of the run is measured too
    done.set()
    await task
    return max(b - a for a, b in zip(ticks, ticks[1:])) * 1000, run_ms


rows = []
for label, h in [("sync @hook function", sync_function_hook), ("class hook, no run_async", SyncClassHook()),
                 ("async @hook function", async_function_hook)]:  # fmt: skip
    pause, run_ms = await longest_loop_pause(h)
    rows.append({"hook": label, "runs in": "", "run ms": round(run_ms), "longest loop pause ms": round(pause)})
rows[0]["runs in"], rows[1]["runs in"], rows[2]["runs in"] = "the event loop", "a worker thread", "the event loop (awaits)"
pauses = pd.DataFrame(rows)
assert pauses.loc[0, "longest loop pause ms"] >= BLOCK_S * 1000 * 0.9  # the loop was frozen for the whole call
assert pauses.loc[1, "longest loop pause ms"] < BLOCK_S * 1000 / 2
assert pauses.loc[2, "longest loop pause ms"] < BLOCK_S * 1000 / 2
pauses

# %% [markdown]
# All three runs take about 200 ms longer than a run without the hook; only the first freezes the loop meanwhile.
# Where each ran, asked directly (the thread a hook sees):

# %%
where = {}


@hook
def where_function(state: State) -> None:
    where["sync @hook function"] = threading.current_thread() is threading.main_thread()


class WhereClass:
    def run(self, state: State) -> None:
        where["class hook, no run_async"] = threading.current_thread() is threading.main_thread()


await demo_agent(hooks={"before_run": [WhereClass()], "before_llm": [where_function]}).run_async(
    [ChatMessage.from_user("Hello!")]
)
print({k: "event loop thread" if v else "worker thread" for k, v in where.items()})
assert where == {"sync @hook function": True, "class hook, no run_async": False}

# %% [markdown]
# Rules of thumb: in an async app, write I/O hooks as `async def` with `@hook` (or a class with `run_async`); keep
# sync `@hook` functions for quick, non-blocking work; a blocking library you cannot make async belongs in a class hook
# without `run_async` (haystack threads it for you), or behind `asyncio.to_thread` in an async hook. A class hook that
# runs in a thread must not touch loop-bound objects.
#
# ## Ten runs at once with `asyncio.gather`
#
# Ten questions, one city each, all on the same Recorder. A listener (`rec.subscribe`) notes when each run starts,
# on one clock, so we can draw the runs against each other afterwards.

# %%
CITIES = ["Paris", "Tokyo", "London", "Berlin", "New York", "Sydney", "Cairo", "Lima", "Paris", "Tokyo"]
starts: dict[str, float] = {}


def note_start(r, event):
    """A Recorder listener: called with event None when a run starts and ends."""
    if event is None:
        starts.setdefault(r.run_id, time.perf_counter())


unsubscribe = rec.subscribe(note_start)
t0 = time.perf_counter()
prompts = [f"What is {i} + {i}, and the weather in {city}?" for i, city in enumerate(CITIES)]
runs = await asyncio.gather(*(rec.run_async(prompt, hook_context=TODAY) for prompt in prompts))
wall_ms = (time.perf_counter() - t0) * 1000
unsubscribe()

llm_ms = sum(r.timeline.query("kind == 'llm'")["duration_ms"].sum() for r in runs)
print(f"{len(runs)} runs, {sum(r.usage['llm_calls'] for r in runs)} LLM calls")
print(f"wall time {wall_ms:.0f} ms; the LLM calls alone add up to {llm_ms:.0f} ms ({llm_ms / wall_ms:.1f} x)")
assert llm_ms > 2 * wall_ms  # the runs overlapped

# %% [markdown]
# The LLM calls add up to several times the wall time: the runs waited on the model at the same time.
#
# ## Each run keeps its own events
#
# Concatenate the ten timelines into one frame (`run_id` is the first column for this) and group by run. Every run has
# its own 0-based `seq`, and its tool rows name its own city and numbers, though all ten were interleaved in time:

# %%
all_events = pd.concat([r.timeline for r in runs], ignore_index=True)
tools = all_events.query("kind == 'tool'")
per_run = all_events.groupby("run_id", sort=False).agg(
    events=("seq", "size"),
    last_seq=("seq", "max"),
    steps=("step", "nunique"),
    llm_calls=("kind", lambda k: int((k == "llm").sum())),
)
per_run["tool calls"] = tools.groupby("run_id", sort=False)["summary"].agg(" | ".join)
per_run["asked for"] = [f"{i} + {i}, {city}" for i, city in enumerate(CITIES)]
per_run

# %%
for r, city in zip(runs, CITIES):
    cities = {s.split("'")[1] for s in r.timeline.query("name == 'get_weather'")["summary"]}
    assert cities == {city}, (r.run_id, cities)
print("every run called get_weather for its own city only")

# %% [markdown]
# ## The concurrency, drawn
#
# One row per run; each bar is an event placed at the run's start (from the listener) plus its `offset_ms`. LLM calls
# are blue, tools green (instant here: thin lines), hooks grey. The ten runs overlap almost completely: while one
# run waits for the model, the others wait too.

# %%
from matplotlib.figure import Figure
from matplotlib.patches import Patch

KIND_COLORS = {"hook": "#B0B0B0", "llm": COLORS["llm"], "tool": COLORS["tool"]}


def plot_concurrency(runs, starts, title):
    """Events of several runs on one clock: one row per run, bars at the run's start + offset_ms."""
    first = min(starts[r.run_id] for r in runs)
    fig = Figure(figsize=(10, 0.35 * len(runs) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    for row, r in enumerate(runs):
        base = (starts[r.run_id] - first) * 1000
        t = r.timeline
        for kind, color in KIND_COLORS.items():
            ev = t[t["kind"] == kind]
            bars = list(zip(base + ev["offset_ms"], ev["duration_ms"].clip(lower=0.4)))
            ax.broken_barh(bars, (row - 0.35, 0.7), facecolor=color, edgecolor="white", linewidth=0.6)
    ax.set_yticks(range(len(runs)), [r.run_id for r in runs], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ms since the first run started")
    ax.set_title(title, loc="left", fontsize=10)
    ax.grid(axis="x", color="#E5E5E5")
    ax.set_axisbelow(True)
    handles = [Patch(color=c, label=label) for c, label in zip(KIND_COLORS.values(), ["hook", "LLM call", "tool call"])]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


plot_concurrency(runs, starts, f"10 runs with asyncio.gather on one Recorder ({wall_ms:.0f} ms wall time)")

# %% [markdown]
# Each run has four steps (the demo's `RequireToolHook` asks for a note before the end), so four LLM calls of 50 ms:
# about 200 ms per run, and not much more for all ten. The grey bar at the start of each run is its first hook,
# `MemoryRetrievalHook`: a class hook without `run_async`, so haystack runs it in a worker thread, and its time
# includes the wait for the event loop, busy starting the other runs; hence the staircase.
#
# ## Threads
#
# `rec.run` is safe to call from several threads at once. The scripted model's latency is a `time.sleep` there, which
# releases the GIL as a network call would:

# %%
starts.clear()
unsubscribe = rec.subscribe(note_start)
t0 = time.perf_counter()
with ThreadPoolExecutor(max_workers=5) as pool:
    prompts = [f"What is the weather in {city}?" for city in CITIES[:5]]
    threaded = list(pool.map(lambda prompt: rec.run(prompt, hook_context=TODAY), prompts))
thread_ms = (time.perf_counter() - t0) * 1000
unsubscribe()

for r in threaded:
    print(f"{r.describe()} | {r.final_answer}")
plot_concurrency(threaded, starts, f"5 runs in 5 threads ({thread_ms:.0f} ms wall time)")

# %% [markdown]
# ## All runs of the Recorder
#
# `rec.runs` holds every run in the order they started, and `rec.tree` summarizes them, one row each: one single
# run, ten from `gather`, five from threads. Concurrent runs start in no fixed order, so here the rows are sorted by
# size (the six largest runs below).

# %%
cols = ["kind", "status", "exit_reason", "events", "llm_calls", "tokens"]
print(len(rec.runs), "runs,", int(rec.tree["llm_calls"].sum()), "LLM calls,", int(rec.tree["tokens"].sum()), "tokens")
assert len(rec.runs) == 16 and (rec.tree["status"] == "ok").all()
rec.tree[cols].sort_values(["tokens", "events"]).tail(6)

# %% [markdown]
# ## Exercises
#
# The reference solutions are not on this page: they are in [`solutions/nb06.py`](solutions/nb06.py) (open it once
# you have tried; the checkers are in [`solutions/checks.py`](solutions/checks.py)).
#
# The async checkers are coroutines: call them with `await`.
#
# **Exercise 1: an async context hook.** Write `inject_city_async`, an async `before_llm` hook (`@hook` on an
# `async def`) that awaits `lookup_city()` below and adds the system message `"The user is in Lima."` once per run.

# %%
from solutions.checks import check_async_hook, check_non_blocking_hook


async def lookup_city() -> str:
    """Stands for an async call to a user service."""
    await asyncio.sleep(0.01)
    return "Lima"


@hook
async def inject_city_async(state: State) -> None:
    """before_llm, async: add the user's city once."""
    ...  # your code


# await check_async_hook(inject_city_async)   # <- uncomment to check

# %% [markdown]
# **Exercise 2: a slow hook that does not freeze the loop.** `legacy_lookup()` blocks for 0.2 s and has no async
# version. Wrap it in a hook that takes those 0.2 s in an async run *without* pausing the event loop for more than
# 0.1 s. (A sync `@hook` function fails this check: try it.)

# %%
def legacy_lookup() -> None:
    """A blocking library call you cannot change."""
    time.sleep(0.2)


my_slow_hook = None  # your hook object
# await check_non_blocking_hook(my_slow_hook)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - In `run_async`, a hook with `run_async` is awaited on the event loop; a hook without one runs in a worker thread.
# - Every `@hook` function has `run_async`: a sync function therefore runs **on the loop** and blocks it; an async
#   function is awaited. An async-only `@hook` cannot run in a sync `agent.run`.
# - `warm_up_async` / `close_async` are awaited by `agent.warm_up_async()` (every `run_async`) and
#   `agent.close_async()`.
# - One Recorder records many concurrent runs (gather or threads), each with its own events.
#
# ## Next
#
# - `07_real_models`: the same hooks on a real model, recorded, and what a small model does with them.
# - `13_developing_a_hook`: a workflow for developing a hook against recorded runs.
