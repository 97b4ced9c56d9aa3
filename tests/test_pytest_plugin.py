"""The pytest plugin, driven through pytester: record modes, a harmless and a breaking hook change."""

from __future__ import annotations

import sys

import pytest

# Imported here, before pytester's inline runs snapshot sys.modules: each run would otherwise import haystack anew.
import agent_nb.demo
import agent_nb.recording.fingerprint
import agent_nb.replay  # noqa: F401

pytest_plugins = ["pytester"]

AGENT_DEF = '''
from agent_nb.demo import demo_agent
from agent_nb.demo.hooks import RequireToolHook, inject_date


class Reminder(RequireToolHook):
    """The hook under development."""

    @property
    def message(self):
        return {message!r}

    def run(self, state):
        {body}


def build_agent():
    return demo_agent(hooks={{"before_llm": [inject_date], "on_exit": [Reminder("save_note")]}})
'''
ORIGINAL = "super().run(state)"
REFACTORED = "result = super().run(state)  # same behaviour, new code\n        return result"
RECORDED_MESSAGE = "You must call `save_note` before finishing."

TEST_MODULE = """
from agent_def import build_agent


def test_note(agent_replay):
    run = agent_replay(build_agent, "What is 2 + 3?", hook_context={"today": "2025-01-31"})
    assert run.final_answer.startswith("2 + 3 = 5")
"""
RUN_FILE = "recordings/test_agent/test_note.json"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: an agent factory module (edited by the tests) and a test that uses the fixture.

    Each edit of agent_def.py changes its size, so Python never reuses a stale compiled copy of it.
    """
    pytester.syspathinsert()
    # The inner runs skip two plugins that cost seconds per run and check nothing of ours: pytest's
    # unraisable-exception plugin (its gc.collect() passes over this process's whole heap) and hypothesis' (its
    # terminal summary imports hypothesis anew in every inner run, since pytester restores sys.modules).
    pytester.makeini(
        "[pytest]\naddopts = -p no:unraisableexception -p no:hypothesispytest\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    write_agent(pytester, RECORDED_MESSAGE, ORIGINAL)
    pytester.makepyfile(test_agent=TEST_MODULE)
    return pytester


def write_agent(pytester: pytest.Pytester, message: str, body: str) -> None:
    pytester.makepyfile(agent_def=AGENT_DEF.format(message=message, body=body))


def test_record_modes(project: pytest.Pytester):
    run_file = project.path / RUN_FILE
    missing = project.runpytest()  # mode none: replay only
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*agent_nb: no recorded run at *test_note.json*--agent-nb-record-mode=once*"])
    assert not run_file.exists()

    once = project.runpytest("--agent-nb-record-mode=once")
    once.assert_outcomes(passed=1)
    once.stdout.fnmatch_lines(["*agent_nb: recorded 1 run file(s)*", "*test_note.json"])
    recorded = run_file.read_bytes()
    assert b'"format": "agent_nb.run"' in recorded or b'"format":"agent_nb.run"' in recorded

    project.runpytest().assert_outcomes(passed=1)  # replayed from the file, which is left as it was
    again = project.runpytest("--agent-nb-record-mode=once")  # the file exists: once replays
    again.assert_outcomes(passed=1)
    assert "recorded 1 run file" not in again.stdout.str()
    assert run_file.read_bytes() == recorded

    rewrite = project.runpytest("--agent-nb-record-mode=rewrite")
    rewrite.assert_outcomes(passed=1)
    assert "recorded 1 run file" in rewrite.stdout.str()
    assert run_file.read_bytes() != recorded  # a new recording (new run id, new timings)


def test_harmless_change_passes_and_breaking_change_fails_clearly(project: pytest.Pytester):
    project.runpytest("--agent-nb-record-mode=once").assert_outcomes(passed=1)

    write_agent(project, RECORDED_MESSAGE, REFACTORED)
    project.runpytest().assert_outcomes(passed=1)

    project.makepyfile(test_agent=TEST_MODULE.replace("What is 2 + 3?", "What is 3 + 2?"))
    prompt = project.runpytest()
    prompt.assert_outcomes(failed=1)
    prompt.stdout.fnmatch_lines(["*the test's messages differ from those recorded in *test_note.json*rewrite*"])
    project.makepyfile(test_agent=TEST_MODULE)

    write_agent(project, "Please call `save_note` first.", ORIGINAL)
    broken = project.runpytest()
    broken.assert_outcomes(failed=1)
    broken.stdout.fnmatch_lines(
        [
            "*agent_nb: the replay of *test_note.json diverged from the recorded run *",
            "*Changed in the Agent since the recording:",
            "*hook on_exit/Reminder: source changed",
            "*First divergence: step 1, on_exit hook Reminder: State.messages differs: *You must call*Please call*",
            "*The replay stopped: ReplayDivergence: replay diverged from the recording * at step 2 (LLM input): *",
            "*--agent-nb-record-mode=rewrite test_agent.py::test_note*",
        ]
    )
    assert "Traceback" not in broken.stdout.str()  # the message is the failure, not a stack dump


def test_to_pytest_writes_a_module_that_passes(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    import agent_def  # the user's factory module, importable from the project directory

    monkeypatch.delitem(sys.modules, "agent_def")  # the inner pytest runs import it afresh, edits included

    from agent_nb import Recorder
    from agent_nb.testing import to_pytest

    run = Recorder(agent_def.build_agent()).run("What is 2 + 3?", hook_context={"today": "2025-01-31"})
    written = to_pytest(run, project.path / "test_from_notebook.py", agent_factory="agent_def:build_agent")
    source = (project.path / "test_from_notebook.py").read_text(encoding="utf-8")
    assert written == str(project.path / "test_from_notebook.py")
    assert "from agent_def import build_agent\n" in source
    assert "def test_from_notebook(agent_replay):" in source
    assert (project.path / "test_from_notebook.run.json").exists()
    result = project.runpytest("test_from_notebook.py")  # default mode none: a pure replay of the file
    result.assert_outcomes(passed=1)

    write_agent(project, "Please call `save_note` first.", ORIGINAL)
    broken = project.runpytest("test_from_notebook.py")
    broken.assert_outcomes(failed=1)
    broken.stdout.fnmatch_lines(["*First divergence: step 1, on_exit hook Reminder*"])


def test_to_pytest_refuses_what_cannot_work(tmp_path):
    from agent_nb import Recorder, Run
    from agent_nb.demo import demo_agent
    from agent_nb.testing import TestExportError, to_pytest

    run = Recorder(demo_agent()).run("What is 2 + 3?")
    with pytest.raises(TestExportError, match="module:function"):
        to_pytest(run, tmp_path / "test_a.py", agent_factory="agents.build")
    with pytest.raises(TestExportError, match="cannot be imported by a test"):
        to_pytest(run, tmp_path / "test_a.py", agent_factory=lambda: demo_agent())
    with pytest.raises(TestExportError, match="pytest collects test_"):
        to_pytest(run, tmp_path / "notes.py", agent_factory="agents:build")
    with pytest.raises(TestExportError, match="ended with an error"):
        to_pytest(
            Run(run_id="x", status="error", error="RuntimeError: boom"), tmp_path / "test_a.py", agent_factory="a:b"
        )
    to_pytest(run, tmp_path / "test_a.py", agent_factory=demo_agent)
    assert "from agent_nb.demo.agent import demo_agent" in (tmp_path / "test_a.py").read_text(encoding="utf-8")
    with pytest.raises(TestExportError, match="exists; pass overwrite=True"):
        to_pytest(run, tmp_path / "test_a.py", agent_factory=demo_agent)
    to_pytest(run, tmp_path / "test_a.py", agent_factory=demo_agent, overwrite=True)


def test_the_plugin_module_imports_nothing_heavy():
    """pytest loads the plugin in every session: by itself it imports only pytest and the standard library.

    (Importing it through the package also runs `agent_nb/__init__.py`; that part is the package's to keep light.)
    """
    import subprocess
    from pathlib import Path

    import agent_nb.testing.pytest_plugin as plugin

    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('plugin_alone', {str(Path(plugin.__file__))!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in ('haystack', 'pandas', 'agent_nb') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
