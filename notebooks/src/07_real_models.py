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
# server, `temperature=0`, `max_tokens=48`, 2 CPU cores) with the demo agent and all its hooks (memories, date,
# profile, `RequireToolHook("save_note")`), and saved with `run.save`. `Run.load` reads them back (JSON only: loading
# never executes code). `notebooks/data/record_real_run.py` is how they were made.

# %%
import pandas as pd

from agent_nb import Run

pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 200)
COLS = ["seq", "step", "kind", "hook_point", "name", "flow", "summary"]

auto = Run.load("data/real_smollm2_run.json.gz")
print(auto.describe(), "| generator:", auto.generator)
print("answer:", auto.final_answer)
auto.timeline[COLS]

# %% [markdown]
# The model was offered five tools and told to use them; it called none (`tool_choice` was `auto`). What it did with
# each injected instruction:
#
# - **The memories and the date** were in its input (first LLM call, below). It answered the weather question from
#   nowhere: "mostly hot and sunny", with no `get_weather` call; a wrong answer with no tool row to show for it.
# - **`RequireToolHook`** reminded it twice ("You must call `save_note` before finishing."): both times it *talked
#   about* the note instead of calling the tool, and the hook's loop guard let the run end after the second reminder.
#   Without that guard this run would have gone on until `max_agent_steps`, one slow LLM call per step.

# %%
first_llm = int(auto.timeline.query("kind == 'llm'")["seq"].iloc[0])
for m in auto.state_at(first_llm)["messages"]:
    print(f"{m.role.value:9s} {m.text}")

counts = auto.result["tool_call_counts"]
reminders = auto.timeline.query("name == 'RequireToolHook' and flow == 'continue_run'")
assert not any(counts.values())  # not a single tool call
assert len(reminders) == 2 and auto.exit_reason == "text"  # two reminders ignored, then the guard let it end
assert "Today is 2026-11-22" in " ".join(m.text or "" for m in auto.state_at(first_llm)["messages"])

# %% [markdown]
# The second run used the same model, but with `tool_choice` forced at two points, as an application can do: the
# weather tool on the user's turn, and `save_note` right after the reminder (`ForcedToolGenerator` in the recording
# script). Everything else was the model's own choice.

# %%
forced = Run.load("data/real_smollm2_forced_run.json.gz")
print(forced.describe())
forced.timeline[COLS]

# %% [markdown]
# - Forced, the model produced a well-formed call, `get_weather(city='Paris')`, and the tool returned "18°C, cloudy".
# - Left to itself at step 1, it did not answer from the result: its text mimics a function call and echoes the
#   chat template's HTML escaping (`&#34;`). A text reply ends a run, so `RequireToolHook` took over at `on_exit`.
# - Forced again after the reminder, it called `save_note`, with the text of the parameter's *description*
#   ("The note to save, e.g. on_exit") instead of a note: the hook's rule was satisfied to the letter, not in spirit.
#   A hook that requires a tool can check that the call happened, not that it made sense.
# - Cost: prompts that carry five tool schemas are about 1,300-1,800 tokens, and each such call took minutes on two
#   CPU cores; the hooks themselves took well under a millisecond each.

# %%
llm = forced.timeline.query("kind == 'llm'")[["seq", "step", "duration_ms", "prompt_tokens", "completion_tokens"]]
hooks_ms = forced.timeline.query("kind == 'hook'")["duration_ms"]
print(f"LLM calls: {llm['duration_ms'].sum() / 1000:.0f} s in all; hooks: {hooks_ms.sum():.2f} ms in all")
saved = forced.result["messages"][-3].tool_calls[0].arguments["text"]
assert {k: v for k, v in forced.result["tool_call_counts"].items() if v} == {"get_weather": 1, "save_note": 1}
assert saved == "The note to save, e.g. on_exit"  # the parameter description, copied
assert "&#34;" in forced.timeline.query("kind == 'llm'")["summary"].iloc[1]  # template escaping, echoed
assert hooks_ms.max() < 5 and llm["duration_ms"].min() > 1000
llm.round(0)

# %% [markdown]
# What to take from a 135M-parameter model: hooks run the same whatever the model, and the timeline shows exactly
# which instruction was ignored. Larger models follow the reminders; the guard is what keeps a model that does not
# from looping. The same recordings can be replayed, forked and compared like any other (notebooks 10 to 12).
#
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
# `generation_kwargs={"max_tokens": 48, "temperature": 0.0}` keeps each call bounded.

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
# - A tiny model ignores tool instructions and reminders: loop guards are not optional.
# - "Required" is not "useful": a hook can force a call, not its sense; check the arguments too if they matter.
# - Save real runs with `run.save` and study them offline with `Run.load`.
#
# ## Next
#
# - `10_ablation`: replay a run with hooks switched off, at no LLM cost where nothing changed.
# - `13_developing_a_hook`: a workflow for developing a hook against recorded runs.
