# Source of notebooks/13_developing_a_hook.ipynb; build with `python notebooks/build.py 13`.

# %% [markdown]
# # 13 · Developing a hook
#
# **Goal:** go round the loop a hook author goes round all day: record a run, change the hook, replay the
# recording with the new code, see where it changed the run, check one recorded hook call against the new code,
# and turn the run into a pytest test that catches the next breaking change. **Prerequisites:**
# `02_write_your_own_hook`, `10_ablation`, `12_comparing_runs`. **Time:** about 20 minutes.
#
# Haystack's pages on the hooks being developed: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) and
# the [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api).
#
# The hook under development is the demo's `RequireToolHook`: at `on_exit` it keeps the run going, with the
# reminder "You must call `save_note` before finishing.", until the model has called `save_note`. We try two new
# versions of it: one rewritten without changing what it does, and one that words the reminder differently.

# %%
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from agent_nb import Recorder, compare, demo_agent
from agent_nb.demo.hooks import RequireToolHook
from agent_nb.recording.fingerprint import fingerprint_changes
from agent_nb.testing import hook_case, to_pytest

logging.getLogger("haystack").setLevel(logging.ERROR)
pd.set_option("display.max_colwidth", 90)
pd.set_option("display.width", 200)

CTX = {"today": "2026-11-22"}  # pins the date inject_date reports: a replay on another day sees the same input
COLS = ["seq", "step", "kind", "hook_point", "name", "status", "summary"]

# %% [markdown]
# ## 1. Record a run
#
# One recorded run is the baseline everything below is checked against. Besides its timeline, the run keeps a
# **fingerprint** of the Agent definition it ran with: the generator and its settings, every tool's schema, and
# for every hook its point, name, type and a hash of its source code.

# %%
rec = Recorder(demo_agent())
run = rec.run("What is 2 + 3?", hook_context=CTX)
print(run.describe())
run.timeline[COLS]

# %%
hooks = pd.DataFrame(run.fingerprint["hooks"])[["point", "name", "type", "source_sha256"]]
hooks["source_sha256"] = hooks["source_sha256"].str[:12] + "…"
hooks

# %% [markdown]
# `RequireToolHook` ran twice: at step 1 (no note saved yet: it adds the reminder and sets `continue_run`) and
# at step 3 (the note is saved: it lets the run end).
#
# ## 2. Two new versions of the hook
#
# `TerseRequireTool` is a refactor: it returns early when the tool was called, and otherwise does what the
# original does. `PoliteRequireTool` changes the reminder's wording.

# %%
class TerseRequireTool(RequireToolHook):
    """RequireToolHook, rewritten: return early once the tool was called."""

    def run(self, state):
        if (state.data.get("tool_call_counts") or {}).get(self.tool_name):
            return
        super().run(state)


class PoliteRequireTool(RequireToolHook):
    """RequireToolHook with a politer reminder."""

    @property
    def message(self):
        return f"Please call `{self.tool_name}` first."


# %% [markdown]
# ## 3. Check one recorded hook call: `hook_case(run, seq)`
#
# `hook_case(run, seq)` holds the State the recorded hook saw and the State it left. `case.check(hook)` runs any
# hook on a fresh haystack `State` rebuilt from a copy of the first, and returns how the State it leaves differs
# from the recorded one: falsy when it behaves the same. It runs no model and never touches the run, so it is
# the fastest test of a hook: one call, no agent.

# %%
first_exit = int(run.timeline.query("name == 'RequireToolHook'").seq.iloc[0])
case = hook_case(run, first_exit)
print(case)
print("what the recorded hook did:\n" + str(case.recorded))

# %%
terse = case.check(TerseRequireTool("save_note"))
polite = case.check(PoliteRequireTool("save_note"))
print("TerseRequireTool: ", "same as recorded" if not terse else terse)
print("PoliteRequireTool:\n" + str(polite))
assert not terse and terse.same
assert [new.text for _, new in polite.messages_replaced] == ["Please call `save_note` first."]

# %% [markdown]
# Read the lines from the recorded State to the new one: `~system[6]` is the message the polite hook put where the
# recorded reminder was. `case.check_async(hook)` does the same the way an async run calls a hook.
#
# ## 4. Swap and replay
#
# A hook can also be tried on the whole run. `run.replay(hooks={point: {name: new_hook}})` runs the recorded
# inputs again with `new_hook` in that slot (same point, same position), for this replay only. The LLM replies are
# served from the recording while the model's input matches it; `compare(run, replayed)` shows where the new hook
# changed the run. `on_miss="error"` makes a replay raise instead of calling the model when the input is new.

# %%
same = run.replay(hooks={"on_exit": {"RequireToolHook": TerseRequireTool("save_note")}}, on_miss="error")
print(same.describe())
print("live LLM calls:", same.usage["llm_calls"], "| first divergence:", compare(run, same).attrs["first_divergence"])
assert same.usage["llm_calls"] == 0 and compare(run, same).attrs["first_divergence"] is None

# %%
changed = run.replay(hooks={"on_exit": {"RequireToolHook": PoliteRequireTool("save_note")}}, tools="cached")
df = compare(run, changed)
first = df.attrs["first_divergence"]
print(changed.describe())
print(f"first divergence: step {first['step']}, {first['hook_point']} {first['name']}")
df.loc[first["row"] :, ["step", "kind", "name", "status_a", "status_b", "summary_a", "summary_b"]]

# %% [markdown]
# The replay agrees with the recording up to the first `RequireToolHook` call. From there the model sees another
# reminder, so its replies are no longer in the recording and the live (scripted) model answers: it does not
# take "Please call `save_note` first." as an instruction, and the run ends without saving the note. The wording
# mattered. The replay also says which part of the Agent definition changed:

# %%
for line in fingerprint_changes(run.fingerprint, changed.fingerprint):
    print(line)
assert (first["step"], first["hook_point"], first["name"]) == (1, "on_exit", "RequireToolHook")
assert changed.result["tool_call_counts"].get("save_note", 0) == 0  # the note was never saved

# %% [markdown]
# ## 5. Turn the run into a test
#
# A test needs an Agent that pytest can build, so the Agent lives in a module: here `my_agent.py` in a scratch
# folder, with the hook under development in it. We record a run of that Agent and call
# `to_pytest(run, path, agent_factory="my_agent:build_agent")`: it writes a small test module and the run file
# beside it (JSON, to review and commit like code).

# %%
folder = Path(tempfile.mkdtemp(prefix="agent_nb_13_"))
AGENT_MODULE = '''
from agent_nb.demo import demo_agent
from agent_nb.demo.hooks import RequireToolHook, inject_date


class Reminder(RequireToolHook):
    """The hook under development."""

    @property
    def message(self):
        return "You must call `save_note` before finishing."


def build_agent():
    return demo_agent(hooks={"before_llm": [inject_date], "on_exit": [Reminder("save_note")]})
'''
(folder / "my_agent.py").write_text(AGENT_MODULE, encoding="utf-8")
sys.path.insert(0, str(folder))
import my_agent  # noqa: E402

recorded = Recorder(my_agent.build_agent()).run("What is 2 + 3?", hook_context=CTX)
test_file = Path(to_pytest(recorded, folder / "test_adds.py", agent_factory="my_agent:build_agent"))
print(sorted(p.name for p in folder.iterdir() if p.is_file()))
print(test_file.read_text(encoding="utf-8"))

# %% [markdown]
# The test uses the `agent_replay` fixture of agent_nb's pytest plugin (installed with agent_nb). It replays the
# run file on the Agent the factory builds: LLM replies come from the file with `on_miss="error"` and tool
# results too (`tools="cached"`), so the test calls no model and has no side effects. It fails when the replay
# diverges from the recording.
#
# ## 6. Run pytest
#
# We run pytest on the scratch folder in a subprocess, as CI would. (`-p no:phoenix -p no:nbval` skips two heavy
# plugins installed in this environment that these tests do not use.)

# %%
def pytest_in(folder, *args):
    command = [sys.executable, "-m", "pytest", "-q", "--color=no", "-p", "no:cacheprovider"]
    command += ["-p", "no:phoenix", "-p", "no:nbval"]
    return subprocess.run([*command, *args], cwd=folder, capture_output=True, text=True, timeout=600)


passed = pytest_in(folder)
print(passed.stdout.strip().splitlines()[-1])
assert passed.returncode == 0

# %% [markdown]
# Now the hook author changes the reminder's wording in `my_agent.py`, and runs the tests again:

# %%
(folder / "my_agent.py").write_text(
    AGENT_MODULE.replace("You must call `save_note` before finishing.", "Please call `save_note` first."),
    encoding="utf-8",
)
failed = pytest_in(folder)
out = failed.stdout
message = out[out.index("agent_nb: the replay") : out.index("If the new behaviour")]
print(message)
print(out.strip().splitlines()[-1])
assert failed.returncode == 1
assert "hook on_exit/Reminder: source changed" in message
assert "First divergence: step 1, on_exit hook Reminder" in message

# %% [markdown]
# The failure says, in order: what changed in the Agent definition since the recording (the hook's source), the
# first divergence (step 1, the `on_exit` hook, both summaries), and where the replay stopped (step 2: the
# model's input was not in the recording). If the new behaviour is the intended one, record the run again with
# `--agent-nb-record-mode=rewrite` and review the run file's diff; `once` records only the runs that have no
# file yet, and the default `none` only replays (what CI runs).

# %%
rewritten = pytest_in(folder, "--agent-nb-record-mode=rewrite")
print("\n".join(rewritten.stdout.strip().splitlines()[-3:]))
assert rewritten.returncode == 0
assert pytest_in(folder).returncode == 0  # the new recording replays

sys.path.remove(str(folder))
shutil.rmtree(folder)

# %% [markdown]
# ## Exercise
#
# The reference solution is not on this page: it is in [`solutions/nb13.py`](solutions/nb13.py) (open it once you
# have tried; the checker is in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: the same at every call.** Section 3 checked one recorded call of `RequireToolHook`. Write
# `same_as_recorded(run, hook)`: True when `hook` leaves the State the recorded `RequireToolHook` left at *every* one
# of its recorded calls in `run`, else False. The checker tries the hook itself, the polite version, and a hook that
# matches the first call but not the second.

# %%
from solutions.checks import check_same_as_recorded


def same_as_recorded(run, hook):
    """True when `hook` behaves as the recorded RequireToolHook at each of its calls in `run`."""
    ...  # your code


# check_same_as_recorded(same_as_recorded)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - `hook_case(run, seq).check(new_hook)` tests one recorded hook call against new code in milliseconds: no
#   model, no agent, the run untouched; falsy when the hook behaves as recorded.
# - `run.replay(hooks={point: {name: new_hook}})` swaps the hook for one replay; the recorded replies are served
#   while the input matches, so `compare(run, replayed)` points at the first event the new code changed.
# - Every run keeps a fingerprint of the Agent definition; `fingerprint_changes` says which hooks, tools or
#   generator settings changed since the recording.
# - `to_pytest(run, path, agent_factory="module:function")` writes a test and its run file; the `agent_replay`
#   fixture replays it with no model call and fails with the first divergence. Record modes: `none` (default),
#   `once`, `rewrite`.
#
# ## Next
#
# - `14_sweeps_and_datasets`: hook configurations over prompt sets, at scale.
