# Source of notebooks/14_sweeps_and_datasets.ipynb; build with `python notebooks/build.py 14`.

# %% [markdown]
# # 14 · Sweeps, datasets and traces
#
# **Goal:** run every prompt under every hook configuration in one call, keep all the runs as one Parquet dataset,
# answer questions across runs with DuckDB, and export a run as OpenTelemetry spans for the trace tools you
# already use. **Prerequisites:** `10_ablation`, `12_comparing_runs`. **Time:** about 15 minutes, all offline.
#
# One run tells you what a hook did once. Whether a hook is worth its tokens, or whether a reminder hook loops,
# is a question over many runs. `agent_nb.export` has three tools for that:
#
# - `sweep(agent_factory, prompts, hook_configs, executor=...)`: records every (prompt x configuration) on any
#   `concurrent.futures.Executor` (threads, processes, a Dask cluster, Ray) and returns one row per run;
# - `to_parquet(runs, folder)`: the timeline rows of many runs plus run-level columns, one file per batch;
# - `to_otel(run, provider)` / `to_otlp_json(runs, path)`: runs as OpenTelemetry spans (GenAI conventions, the
#   tags haystack's own tracing uses, OpenInference attributes for Phoenix) with their recorded timestamps.

# %%
import json
import logging
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from agent_nb import demo_agent
from agent_nb.demo.agent import default_hooks
from agent_nb.demo.hooks import RequireToolHook
from agent_nb.demo.tools import add, get_weather, multiply, search
from agent_nb.export import read_parquet, sweep, to_otlp_json

logging.getLogger("haystack").setLevel(logging.ERROR)
logging.getLogger("agent_nb").setLevel(logging.ERROR)  # the stubborn sweep below warns once per run, on purpose
pd.set_option("display.max_colwidth", 60)
pd.set_option("display.width", 200)

CTX = {"today": "2026-11-22"}  # pins the date inject_date reports, so this page reads the same on every build
WORK = Path(tempfile.mkdtemp(prefix="agent_nb_14_"))

# %% [markdown]
# ## 1. A sweep: prompts x hook configurations
#
# A hook configuration is what `rec.run(..., hooks=...)` takes: `{point: {hook name: enabled}}`, `{}` for the
# Agent's own hooks. Name them with a dict. `agent_factory` builds a fresh Agent for every run (so runs share
# nothing); for processes or Dask it must be a module-level function, like `demo_agent`.

# %%
PROMPTS = [
    "What is 2 + 3?",
    "What is the weather in Paris?",
    "What is the weather in Tokyo and Lima?",
    "What do the docs say about on_exit?",
    "Save a note that the demo works.",
]
CONFIGS = {
    "all on": {},
    "no memory": {"before_run": {"MemoryRetrievalHook": False}},
    "no date": {"before_llm": {"inject_date": False}},
    "no reminder": {"on_exit": {"RequireToolHook": False}},
}
result = sweep(demo_agent, PROMPTS, CONFIGS, hook_context=CTX)
print(len(result.runs), "runs,", len(result.failed), "failed")
result.table[["prompt", "config", "status", "exit_reason", "steps", "tokens", "answer"]]

# %% [markdown]
# In a notebook the sweep shows a progress bar; elsewhere pass `progress=lambda done, total, row: ...` (or
# `False`). Every row is a recorded run, in `result.runs` in the same order: open any of them as usual.

# %%
assert len(result.table) == len(PROMPTS) * len(CONFIGS) == len(result.runs)
assert result.failed.empty and (result.table["status"] == "ok").all()
assert [r.label for r in result.runs] == list(result.table["config"])
tokens = result.table.pivot(index="prompt", columns="config", values="tokens")
tokens

# %% [markdown]
# The reminder hook (`RequireToolHook` at `on_exit`) asks the model to call `save_note` before it finishes: with
# it switched off, runs are shorter and cheaper for every prompt that did not ask for a note.

# %%
assert (tokens["no reminder"] <= tokens["all on"]).all()
assert (tokens["no reminder"] < tokens["all on"]).sum() == len(PROMPTS) - 1
(tokens["all on"] - tokens["no reminder"]).rename("tokens the reminder costs")

# %% [markdown]
# ## 2. The same sweep on a Dask cluster
#
# Workers send back saved-run documents (JSON text, the format of `Run.save`), never live objects, so any
# executor works. Here a Dask `LocalCluster` in this process stands in for a real cluster: pass
# `client.get_executor()`. With Ray, pass its `concurrent.futures`-compatible executor the same way.

# %%
from distributed import Client, LocalCluster

with (
    LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
    Client(cluster) as client,
):
    on_dask = sweep(demo_agent, PROMPTS, CONFIGS, executor=client.get_executor(), progress=False, hook_context=CTX)
print(len(on_dask.runs), "runs on Dask,", len(on_dask.failed), "failed")
assert list(on_dask.table["answer"]) == list(result.table["answer"])
assert list(on_dask.table["tokens"]) == list(result.table["tokens"])

# %% [markdown]
# ## 3. Many runs, one Parquet dataset
#
# `result.to_parquet(folder)` (or `to_parquet(runs, folder)`) appends one file under a new `batch=...` folder:
# the timeline rows of every run, plus run-level columns (`run_prompt`, `run_label`, `run_hooks_disabled`,
# `run_status`, `run_exit_reason`, `run_prompt_tokens`, ...). The schema is versioned (the version is in each
# file's metadata); `read_parquet` gives it back with the declared dtypes.
#
# A second sweep goes into the same dataset: an Agent whose model cannot call `save_note` (the tool is missing)
# under a reminder hook allowed three reminders, once per prompt.


# %%
def stubborn_agent():
    hooks = default_hooks()
    hooks["on_exit"] = [RequireToolHook("save_note", max_reminders=3)]
    return demo_agent(hooks=hooks, tools=[add, multiply, get_weather, search])


dataset = WORK / "runs"
result.to_parquet(dataset)
stubborn = sweep(stubborn_agent, PROMPTS[:2], {"stubborn": {}}, progress=False, hook_context=CTX)
stubborn.to_parquet(dataset)

frame = read_parquet(dataset)
batches = sorted(dataset.glob("batch=*/*.parquet"))
print(len(batches), "batch files;", frame.shape[0], "rows x", frame.shape[1], "columns")
assert len(batches) == 2
assert frame["run_id"].nunique() == len(result.runs) + len(stubborn.runs)
frame[["run_id", "seq", "kind", "hook_point", "name", "status", "run_label", "run_hooks_disabled"]].head(8)

# %% [markdown]
# ## 4. Questions across runs, in SQL
#
# DuckDB reads the folder in place (`hive_partitioning` adds the `batch` column). Which hook adds the most
# prompt tokens? Compare, per prompt, the run with every hook on against the run with one hook off:

# %%
SOURCE = f"read_parquet('{dataset}/**/*.parquet', hive_partitioning = true)"
added = duckdb.sql(f"""
    WITH runs AS (SELECT DISTINCT run_id, run_prompt, run_label, run_prompt_tokens, run_hooks_disabled
                  FROM {SOURCE} WHERE run_label <> 'stubborn'),
         base AS (SELECT run_prompt, run_prompt_tokens AS all_on FROM runs WHERE run_label = 'all on')
    SELECT run_hooks_disabled[1] AS hook, sum(all_on - run_prompt_tokens) AS prompt_tokens_added
    FROM runs JOIN base USING (run_prompt)
    WHERE len(run_hooks_disabled) = 1
    GROUP BY hook ORDER BY prompt_tokens_added DESC
""").df()
added

# %%
by_config = result.table.pivot(index="prompt", columns="config", values="prompt_tokens")
expected = {
    "on_exit/RequireToolHook": (by_config["all on"] - by_config["no reminder"]).sum(),
    "before_run/MemoryRetrievalHook": (by_config["all on"] - by_config["no memory"]).sum(),
    "before_llm/inject_date": (by_config["all on"] - by_config["no date"]).sum(),
}
assert dict(zip(added["hook"], added["prompt_tokens_added"], strict=True)) == expected
assert added["hook"].iloc[0] == "on_exit/RequireToolHook"

# %% [markdown]
# Which runs did `on_exit` send back more than twice? Each time an `on_exit` hook sets `continue_run`, the
# timeline row's `flow` says so:

# %%
loops = duckdb.sql(f"""
    SELECT run_id, run_label, run_prompt, count(*) AS continues
    FROM {SOURCE} WHERE hook_point = 'on_exit' AND flow = 'continue_run'
    GROUP BY ALL HAVING count(*) > 2 ORDER BY run_prompt
""").df()
loops

# %%
assert set(loops["run_label"]) == {"stubborn"} and list(loops["continues"]) == [3, 3]
# The same question in pandas:
on_exit = frame[(frame["hook_point"] == "on_exit") & (frame["flow"] == "continue_run")]
assert set(on_exit.groupby("run_id").size().loc[lambda s: s > 2].index) == set(loops["run_id"])

# %% [markdown]
# ## 5. A run as OpenTelemetry spans
#
# `to_otlp_json(runs, path)` writes OTLP/JSON lines, the OpenTelemetry Collector's file format: one
# `ExportTraceServiceRequest` per run, built by the OpenTelemetry SDK's own encoder. The span tree has the *shape* of
# haystack's own tracing (run > hooks and steps > hooks, LLM call, tools), all at their recorded times. Two kinds of
# names meet in it:
#
# | span | name here | name in haystack's tracer | whose name |
# |---|---|---|---|
# | the run | `invoke_agent {agent}` | `haystack.agent.run` | OpenTelemetry GenAI conventions |
# | a step | `haystack.agent.step` | `haystack.agent.step` | haystack's |
# | a hook call | `haystack.agent.hook` (tags `haystack.agent.hook.point` / `.name` / `.type`) | the same | haystack's |
# | an LLM call | `chat {model}` | `haystack.agent.step.llm` | GenAI conventions |
# | a tool call | `execute_tool {tool}` | `haystack.agent.step.tool` | GenAI conventions |
#
# The run, LLM and tool spans take the GenAI names so that GenAI-aware backends (Phoenix, Langfuse) recognise them;
# a trace of a live Agent by haystack's tracer and an export of its recording therefore differ in those three names.
# `content=True` adds messages, tool arguments and results, and the State diff of every hook as a span event.

# %%
run = result.runs[list(result.table["prompt"]).index("What is the weather in Tokyo and Lima?")]
path = to_otlp_json(run, WORK / "run.otlp.jsonl", content=True)
request = json.loads(Path(path).read_text().splitlines()[0])
spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
ids = {s["spanId"]: s for s in spans}


def depth(span):
    return 0 if "parentSpanId" not in span else 1 + depth(ids[span["parentSpanId"]])


start = int(min(s["startTimeUnixNano"] for s in spans))
for span in sorted(spans, key=lambda s: (int(s["startTimeUnixNano"]), depth(s))):
    attrs = {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
    extra = attrs.get("haystack.agent.hook.point") or attrs.get("gen_ai.tool.call.id") or ""
    print(f"{(int(span['startTimeUnixNano']) - start) / 1e6:7.2f} ms  {'  ' * depth(span)}{span['name']}  {extra}")

# %%
assert len(spans) == len(run.events) + run.steps + 1
names = {s["name"].split(" ")[0] for s in spans}
assert names == {"invoke_agent", "haystack.agent.step", "haystack.agent.hook", "chat", "execute_tool"}
assert int(min(s["startTimeUnixNano"] for s in spans)) == run.started_unix_ns
memory = next(s for s in spans if s["name"] == "haystack.agent.hook" and s.get("events"))
diff = {a["key"]: a["value"].get("stringValue") for a in memory["events"][0]["attributes"]}["diff"]
print(memory["events"][0]["name"], "->", diff)
assert "Relevant memories" in diff

# %% [markdown]
# To send runs to a live backend instead, give `to_otel` a tracer provider with an OTLP exporter (the `otel`
# extra). Phoenix listens on `http://127.0.0.1:6006/v1/traces`, Jaeger (with OTLP on) on
# `http://127.0.0.1:4318/v1/traces`, Langfuse on `<your host>/api/public/otel/v1/traces` with a Basic
# authorization header; `rec.subscribe(OtelListener(provider))` exports every run as it ends:
#
# ```python
# from opentelemetry.sdk.trace import TracerProvider
# from opentelemetry.sdk.trace.export import BatchSpanProcessor
# from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
# from agent_nb.export import OtelListener, to_otel
#
# provider = TracerProvider()
# provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint="http://127.0.0.1:6006/v1/traces")))
# to_otel(run, provider, content=True)   # one recorded run
# rec.subscribe(OtelListener(provider))  # every run from now on
# ```

# %% [markdown]
# ## Exercise
#
# The reference solution is not on this page: it is in [`solutions/nb14.py`](solutions/nb14.py) (open it once you
# have tried; the checker is in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: which switches change the answer?** Write `changed_answers(table)`: given a sweep's `result.table`
# with an `"all on"` configuration, the set of `(prompt, config)` pairs whose answer differs from the `"all on"` answer
# to the same prompt. The checker runs its own small sweep and hands you its table in shuffled order.

# %%
from solutions.checks import check_changed_answers


def changed_answers(table):
    """The (prompt, config) pairs whose answer differs from the "all on" answer to the same prompt."""
    ...  # your code


# print(changed_answers(result.table))
# check_changed_answers(changed_answers)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - `sweep(agent_factory, prompts, hook_configs)` records every combination and returns one row per run (status,
#   exit reason, steps, tokens, answer, error) plus the runs; a failing run is a row with its error, never a lost
#   sweep.
# - The executor is yours: threads by default, processes, `client.get_executor()` on Dask, Ray. Workers return
#   saved-run JSON, so the runs you get back are ordinary `Run`s.
# - `to_parquet` appends batches to one versioned dataset: timeline rows plus run-level columns. pandas
#   (`read_parquet`) and DuckDB read it in place, so "what does this hook cost?" is one query.
# - `to_otel` / `to_otlp_json` put recorded runs into OpenTelemetry tools with their real timestamps, the tags
#   haystack's own tracing uses, and (on request) the State diff of every hook.
