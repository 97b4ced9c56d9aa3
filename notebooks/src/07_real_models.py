# Source of notebooks/07_real_models.ipynb; build with `python notebooks/build.py 07`.

# %% [markdown]
# # 07 · Real models: what a real model does with your hooks
#
# **Goal:** see the demo hooks on a real model: which injected instructions it follows, which it ignores, and what
# that does to the run; then run the same on your own model.
# **Prerequisites:** `02_write_your_own_hook`, `04_patterns` (the demo hooks). **Time:** about 15 minutes offline.
#
# Haystack's pages: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api). `OpenAIChatGenerator` (with
# `api_base_url`) talks to any OpenAI-compatible server.
#
# ## 1. Two runs recorded on a real model, loaded offline
#
# The scripted model of the other notebooks obeys every instruction a hook injects. A real model may not. These two
# runs were recorded on a real, very small model, **SmolLM2-135M-Instruct** (Q4_1, llama.cpp's OpenAI-compatible
# server with the `chatml-function-calling` chat format, `temperature=0`, `max_tokens=48`, 2 shared CPU cores) with
# the demo agent and all its hooks (memories, date, profile, `RequireToolHook("save_note")`), and saved with
# `run.save`. `Run.load` reads them back (JSON only: loading never executes code).
# `notebooks/data/record_real_run.py` is how they were made (re-recorded 2026-12-07).
#
# **The tool schemas were sent.** Every call passed `tool_choice="auto"`: haystack's `OpenAIChatGenerator` sends the
# tools but no `tool_choice`, and this chat format writes the tools into the prompt only when a `tool_choice` is
# given. An earlier recording of these runs left it out, so the model never saw a tool (its prompts were 75 to 137
# tokens); the prompt sizes below, 1,277 tokens and up, are the five schemas.

# %%
import pandas as pd

from agent_nb import Run

pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 200)
COLS = ["seq", "step", "kind", "hook_point", "name", "status", "summary"]

auto = Run.load("data/real_smollm2_run.json.gz")
print(auto.describe(), "| generator:", auto.generator)
print("answer:", auto.final_answer, "| tool calls:", {k: v for k, v in auto.result["tool_call_counts"].items() if v})
llm = auto.timeline.query("kind == 'llm'")
print("prompt tokens per LLM call:", llm["prompt_tokens"].tolist())
assert llm["prompt_tokens"].min() > 1000  # the schemas were in every prompt
assert auto.timeline["summary"].iloc[0].startswith("+system")  # summaries of today's recorder: the hooks add system
auto.timeline.query("kind != 'hook' or summary != 'no change'")[COLS]

# %% [markdown]
# Asked "What is the weather in Paris?" with five tools on offer, the model chose one, the wrong one: `add(a=20,
# b=35)`. Then it called `add(a=5, b=3)` at every step, eleven times, never answering in text, until the Agent's
# `max_agent_steps` (12 in the demo agent) ended the run with no answer. So:
#
# - **The memories and the date** were in its input at every call (the first call below); it called `add` all the
#   same. (Whether they changed anything, these runs cannot tell: none was recorded without them.)
# - **`RequireToolHook` never ran.** It runs at `on_exit`, and no exit came: only a text reply (or a listed tool)
#   leads there. A hook at `on_exit` cannot stop a model that never stops calling tools.
# - **`max_agent_steps` was the only way out.** Twelve slow LLM calls for a wrong answer that never came; a
#   `before_tool` guard that refuses a call repeating an earlier one, or a budget at `before_llm`, would have ended
#   it sooner (exercise 1 counts those repeats).

# %%
first_llm = int(llm["seq"].iloc[0])
for m in auto.state_at(first_llm)["messages"]:
    print(f"{m.role.value:9s} {m.text}")

counts = {k: v for k, v in auto.result["tool_call_counts"].items() if v}
assert counts == {"add": 12} and auto.exit_reason == "max_agent_steps" and auto.final_answer is None
assert "RequireToolHook" not in set(auto.timeline["name"])  # no exit, so no on_exit hook
assert "Today is 2026-11-22" in " ".join(m.text or "" for m in auto.state_at(first_llm)["messages"])

# %% [markdown]
# The second run used the same model and settings, with one change: the first call was forced to `get_weather`
# (`tool_choice` naming the tool, as an application can do; `ForcedToolGenerator` in the recording script). Every
# later call was the model's own choice.

# %%
forced = Run.load("data/real_smollm2_forced_run.json.gz")
print(forced.describe())
forced.timeline.query("kind != 'hook' or summary != 'no change'")[COLS]

# %% [markdown]
# - Forced, the model produced a well-formed call, `get_weather(city='Paris')`, and the tool returned "18°C, cloudy".
# - Left to itself from step 1 on, it never answered from that result: it called `get_weather` again at every step,
#   eleven times: with an empty city (an error), four more times with "Paris", then with "Paris, France" and with
#   strings that copy the chat template's HTML escaping of its own earlier calls (`&#39;`, then `&amp;#39;`). The
#   error results it was sent did not make it stop either.
# - Again `max_agent_steps` ended the run, with no answer, and `RequireToolHook` never ran.
# - Cost: every prompt carried the five tool schemas, 1,279 tokens at the first call and growing with each step;
#   under load on two shared CPU cores the calls took from seconds to minutes each, while the hooks took well under
#   a millisecond each.

# %%
llm_rows = forced.timeline.query("kind == 'llm'")[["seq", "step", "duration_ms", "prompt_tokens", "completion_tokens"]]
hooks_ms = forced.timeline.query("kind == 'hook'")["duration_ms"]
weather = forced.timeline.query("name == 'get_weather'")
print(f"LLM calls: {llm_rows['duration_ms'].sum() / 1000:.0f} s in all; hooks: {hooks_ms.sum():.2f} ms in all")
print("get_weather:", weather["status"].value_counts().to_dict())
assert {k: v for k, v in forced.result["tool_call_counts"].items() if v} == {"get_weather": 12}
assert weather["summary"].iloc[0] == "get_weather(city='Paris') -> 18°C, cloudy"
assert forced.exit_reason == "max_agent_steps" and "RequireToolHook" not in set(forced.timeline["name"])
assert weather["summary"].str.contains("&amp;#39;", regex=False).any()  # template escaping, copied and escaped again
assert hooks_ms.max() < 5 and llm_rows["duration_ms"].min() > 1000
llm_rows.round(0)

# %% [markdown]
# What to take from a 135M-parameter model: hooks run the same whatever the model, and the timeline shows exactly
# what the model did with what they injected. These two runs do not tell how a larger model would behave; they show
# that a hook which waits for the model to finish (`on_exit`) has nothing to act on when it never does, and that a
# bound on steps, calls or tokens is what ends such a run. The same recordings can be replayed, forked and compared
# like any other (notebooks 10 to 12).
#
# ## Exercise
#
# The reference solution is not on this page: it is in [`solutions/nb07.py`](solutions/nb07.py) (open it once you
# have tried; the checker is in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: count the repeats.** Write `repeated_calls(run)`, the number of tool calls in `run` that repeat an
# earlier call of the same run: the same tool *and* the same arguments (the first call is not a repeat). It is what a
# loop guard would look at. The checker runs it on both recordings, a scripted run and a looping mock model. (Hint:
# the calls are in `run.result["messages"]`, `message.tool_calls`; arguments are dicts, which are not hashable.)

# %%
from solutions.checks import check_repeated_calls


def repeated_calls(run: Run) -> int:
    """How many tool calls repeat an earlier one (same name, same arguments)."""
    ...  # your code


# check_repeated_calls(repeated_calls)   # <- uncomment to check

# %% [markdown]
# ## 2. Your model, live
#
# Everything in notebooks 01 to 06 works with any Haystack chat generator that supports tool calling:
#
# - **OpenAI**: set `OPENAI_API_KEY` (and optionally `AGENT_NB_MODEL`, default: haystack's default model).
# - **Any OpenAI-compatible server** (Ollama, vLLM, llama.cpp's `llama-server`, LM Studio): set `AGENT_NB_BASE_URL`
#   to its `/v1` URL and `AGENT_NB_MODEL` to a model it serves that can call tools, for example
#   `AGENT_NB_BASE_URL=http://localhost:11434/v1 AGENT_NB_MODEL=qwen2.5:7b` for Ollama.
#
# Start Jupyter with those variables set (or set `os.environ` in a cell) and run the notebook. With neither set, it
# says so in one line and skips the rest: it never touches the network unless you configured it. When a base URL is
# set, the notebook first checks that a server answers there (2 s timeout). The copy in the repository was built
# offline, so the cells after that check have no output there. A small model needs small settings: for llama.cpp,
# `generation_kwargs={"max_tokens": 48, "temperature": 0.0}` keeps each call bounded; llama-cpp-python's server with
# `--chat_format chatml-function-calling` also needs `"tool_choice": "auto"` there, or the model never sees the tools
# (the prompt sizes in the timeline tell: a few hundred tokens means no schemas).

# %%
# %matplotlib inline
import json
import os
import urllib.error
import urllib.request

from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.utils import Secret

from agent_nb import Recorder, demo_agent

TODAY = {"today": "2026-11-22"}


def probe(base_url: str, timeout: float = 2.0) -> list[str] | None:
    """The model ids an OpenAI-compatible server lists at `<base_url>/models`; None if nothing answers."""
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + "/models", timeout=timeout) as response:
            return [m.get("id", "") for m in json.load(response).get("data", [])]
    except urllib.error.HTTPError:
        return []  # a server answered (perhaps 401 or 404): try it anyway
    except (OSError, ValueError):
        return None


# %% [markdown]
# ### Pick a generator from the environment

# %%
base_url = os.environ.get("AGENT_NB_BASE_URL", "").strip()
model = os.environ.get("AGENT_NB_MODEL", "").strip()
generator = None

if base_url:
    served = probe(base_url)
    if served is None:
        print(f"No server answers at AGENT_NB_BASE_URL={base_url}: skipping the real-model cells.")
    else:
        model = model or (served[0] if served else "")
        generator = OpenAIChatGenerator(
            api_base_url=base_url,
            model=model,
            api_key=Secret.from_token(os.environ.get("OPENAI_API_KEY") or "none"),  # local servers ignore the key
            timeout=120,
        )
        print(f"Using {model!r} at {base_url}")
elif os.environ.get("OPENAI_API_KEY"):
    generator = OpenAIChatGenerator(model=model) if model else OpenAIChatGenerator()
    print(f"Using OpenAI, model {generator.model!r}")
else:
    print("No OPENAI_API_KEY or AGENT_NB_BASE_URL set: the real-model cells below are skipped.")

# %% [markdown]
# ### The demo agent on the real model
#
# `demo_agent(chat_generator=generator)` is the same Agent as in the other notebooks (same tools, same hooks:
# memories, date, profile, and `RequireToolHook` asking for a saved note) with your model in place of the scripted
# one. The Recorder does not care which generator it wraps.

# %%
if generator is not None:
    rec = Recorder(demo_agent(chat_generator=generator))
    run = rec.run("What is 2 + 3, and the weather in Paris?", hook_context=TODAY)
    print(run.describe())
    print("answer:", run.final_answer)

# %% [markdown]
# The timeline reads as before. With a real model, look at: how many steps it took (did it call both tools in one
# reply, as the scripted model does, or one per step?), whether it obeyed the `RequireToolHook` reminder (a
# `continue_run` in `flow`, then a `save_note` row), and the token columns, now the provider's own counts.

# %%
if generator is not None:
    display(run.timeline[["seq", "step", "kind", "hook_point", "name", "status", "flow", "summary"]])
    llm_cols = ["seq", "step", "duration_ms", "prompt_tokens", "completion_tokens"]
    display(run.timeline.query("kind == 'llm'")[llm_cols].round(0))

# %%
if generator is not None:
    display(run.plot())

# %% [markdown]
# ### Scripted and real, side by side
#
# The same prompt on the scripted model, for comparison: steps, LLM calls, tokens, time.

# %%
if generator is not None:
    scripted = Recorder(demo_agent()).run("What is 2 + 3, and the weather in Paris?", hook_context=TODAY)
    rows = [
        {"model": r.generator, "steps": r.steps, **r.usage, "ms": round(r.duration_ms or 0), "answer": r.final_answer}
        for r in (scripted, run)
    ]
    display(pd.DataFrame(rows).drop(columns=["cached_llm_calls"]))

# %% [markdown]
# ### Switch a hook off, as before
#
# Without `RequireToolHook`, does your model still save a note? The `skipped` row shows where the hook would have run.

# %%
if generator is not None:
    free = rec.run(
        "What is 2 + 3, and the weather in Paris?", hook_context=TODAY, hooks={"on_exit": {"RequireToolHook": False}}
    )
    print(free.describe())
    display(free.timeline[["seq", "step", "kind", "hook_point", "name", "status", "summary"]])

# %% [markdown]
# ### The workbench on the real model
#
# The widget runs the Agent off the kernel's main thread, so it stays responsive while the model thinks; Stop ends
# the run at the next step boundary.

# %%
if generator is not None:
    from agent_nb import Workbench

    display(Workbench(rec))

# %% [markdown]
# ## Key takeaways
#
# - Hooks behave the same on every model; what changes is whether the model follows what they inject. The timeline
#   shows each instruction and what the model did next.
# - Check that the model was sent the tools (prompt tokens): some servers drop them without `tool_choice`.
# - A tiny model given tools called wrong ones, or the right one again and again, and never finished: an `on_exit`
#   hook never ran, and only `max_agent_steps` ended the runs. Bound steps, calls or tokens; guard against repeats.
# - A forced call can be well-formed and still be followed by nonsense: check what the model does after it.
# - Save real runs with `run.save` and study them offline with `Run.load`.
#
# ## Next
#
# - `10_ablation`: replay a run with hooks switched off, at no LLM cost where nothing changed.
# - `13_developing_a_hook`: a workflow for developing a hook against recorded runs.
