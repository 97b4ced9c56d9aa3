# Source of notebooks/08_async_concurrent.ipynb; build with `python notebooks/build.py 08`.

# %% [markdown]
# # Async and concurrent runs
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
# The same rows as a sync run: hooks, LLM calls (about 50 ms each now), tools. Every demo hook runs in async runs
# too: `@hook` functions through their `run_async`, class hooks without one in a worker thread, as haystack does.
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
# `MemoryRetrievalHook`: a class hook without `run_async` runs in a worker thread in async runs (as haystack does),
# and its time includes the wait for the event loop, busy starting the other runs; hence the staircase.
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
# `rec.runs` holds every run in the order they started, and `rec.tree` summarizes them: one single run, ten from
# `gather`, five from threads.

# %%
print(len(rec.runs), "runs")
rec.tree[["run_id", "kind", "status", "exit_reason", "events", "llm_calls", "tokens"]].tail(6)
