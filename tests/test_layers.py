"""The layers of DESIGN.md hold: each layer imports only the ones below it, checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "ipywidgets",
    "anywidget",
    "matplotlib",
    "opentelemetry",
    "duckdb",
    "distributed",
)  # pandas 3 loads pyarrow itself
LAYERS = ("agent_nb.replay", "agent_nb.views", "agent_nb.widgets", "agent_nb.export", "agent_nb.testing")


def loaded_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def roots(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {n for n in names if any(m == n or m.startswith(n + ".") for m in modules)}


@pytest.mark.parametrize(
    "statement",
    [
        "import agent_nb",
        "import agent_nb.recording",
        "from agent_nb import Recorder, Run, demo_agent; Recorder(demo_agent()).run('What is 2 + 3?')",
        "from agent_nb.recording.persist import load_run, save_run",
        "from agent_nb.recording.types import EventKind, EventStatus, HookPoint, RunStatus",
        "from agent_nb.recording.digest import InputDigests, event_digest, llm_digest",
    ],
)
def test_the_core_imports_no_view_widget_or_upper_layer(statement):
    modules = loaded_after(statement)
    assert roots(modules, HEAVY) == set()
    assert roots(modules, LAYERS) == set()


def test_views_never_import_replay_or_widgets():
    modules = loaded_after("import agent_nb.views, agent_nb.views.plot, agent_nb.views.report, agent_nb.views.html")
    assert roots(modules, ("agent_nb.replay", "agent_nb.widgets", "agent_nb.export", "ipywidgets")) == set()


def test_the_html_vocabulary_and_palette_need_no_matplotlib_until_a_chart_is_drawn():
    # The report's module and the HTML helpers load matplotlib only when a figure is rendered.
    modules = loaded_after("import agent_nb.views.html, agent_nb.views.style, agent_nb.views.report")
    assert roots(modules, ("matplotlib", "ipywidgets", "anywidget")) == set()


def test_export_imports_only_the_core_until_used():
    modules = loaded_after("import agent_nb.export")
    assert roots(modules, ("agent_nb.replay", "agent_nb.views", "agent_nb.widgets", *HEAVY)) == set()


def test_importing_agent_nb_changes_no_environment():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, json; e = dict(os.environ); import agent_nb.recording; print(e == dict(os.environ))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "True"
