# Source of notebooks/09_real_models.ipynb; build with `python notebooks/build.py 09`.

# %% [markdown]
# # Real models: OpenAI, Ollama, vLLM, llama.cpp
#
# Everything in notebooks 01 to 08 works with any Haystack chat generator that supports tool calling. This notebook
# plugs in a real one:
#
# - **OpenAI**: set `OPENAI_API_KEY` (and optionally `AGENT_NB_MODEL`, default: haystack's default model).
# - **Any OpenAI-compatible server** (Ollama, vLLM, llama.cpp's `llama-server`, LM Studio): set `AGENT_NB_BASE_URL`
#   to its `/v1` URL and `AGENT_NB_MODEL` to a model it serves that can call tools, for example
#   `AGENT_NB_BASE_URL=http://localhost:11434/v1 AGENT_NB_MODEL=qwen2.5:7b` for Ollama.
#
# Start Jupyter with those variables set (or set `os.environ` in the first cell) and run the notebook. With neither
# set, it says so in one line and skips the rest: it never touches the network unless you configured it. When a base
# URL is set, the notebook first checks that a server answers there (2 s timeout). The copy in the repository was
# built offline, so the cells after that check have no output there.

# %%
# %matplotlib inline
import json
import os
import urllib.error
import urllib.request

import pandas as pd
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.utils import Secret

from agent_nb import Recorder, demo_agent

pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 200)
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
# ## Pick a generator from the environment

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
# ## The demo agent on the real model
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
# ## Scripted and real, side by side
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
# ## Switch a hook off, as before
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
# ## The workbench on the real model
#
# The widget runs the Agent off the kernel's main thread, so it stays responsive while the model thinks; Stop ends
# the run at the next step boundary.

# %%
if generator is not None:
    from agent_nb import Workbench

    display(Workbench(rec))
