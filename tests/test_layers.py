"""The layers hold: each layer imports only the ones below it.

Checked twice: in the source (every import statement, module-level or inside a function, `TYPE_CHECKING`
blocks aside) and in a fresh interpreter (what importing a layer actually loads).
"""

from __future__ import annotations

import ast
import graphlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import agent_nb
from agent_nb import Recorder, Run, demo_agent
from agent_nb.recording.verbs import Verb

PACKAGE = Path(agent_nb.__file__).parent
#: Each part of agent_nb (a subpackage or a top-level module) and the parts it may import. `verbs` are the core's
#: way to reach the layers above: descriptors that name their function as a string, resolved when first used.
BELOW = {
    "errors": set(),
    "files": set(),
    "version": set(),
    "recording": {"errors", "files", "version"},
    "replay": {"errors", "files", "version", "recording"},
    "export": {"errors", "files", "version", "recording"},
    "views": {"errors", "files", "version", "recording"},
    "demo": {"errors", "files", "version", "recording"},
    "widgets": {"errors", "files", "version", "recording", "replay", "export", "views", "demo"},
    "testing": {"errors", "files", "version", "recording", "replay", "export", "views", "demo"},
    "cli": {"errors", "files", "version", "recording", "replay", "export", "views", "demo", "testing"},
    "__main__": {"cli"},
    "__init__": {"version"},
}

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


def part_of(path: Path, root: Path = PACKAGE) -> str:
    relative = path.relative_to(root)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_parts(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, part of agent_nb) for every import statement outside `if TYPE_CHECKING:` blocks."""
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] if node.module == "agent_nb" else []
            modules = names or [node.module]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "agent_nb":
                found.append((node.lineno, parts[1] if len(parts) > 1 else "__init__"))
    return found


def up_imports(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        part = part_of(path, root)
        for line, target in imported_parts(ast.parse(path.read_text(), str(path))):
            if target != part and target not in BELOW.get(part, set()):
                problems.append(f"{path.relative_to(root.parent)}:{line} imports agent_nb.{target}")
    return problems


def test_no_module_imports_a_layer_above_its_own_at_any_level():
    assert sorted(BELOW) == sorted({part_of(p) for p in PACKAGE.rglob("*.py")})  # every part has its rule
    assert up_imports(PACKAGE) == []


def test_the_source_check_finds_a_function_level_up_import(tmp_path):
    fake = tmp_path / "agent_nb"
    (fake / "recording").mkdir(parents=True)
    (fake / "recording" / "run.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from agent_nb.testing import HookCase\n"
        "def plot(run):\n    from agent_nb.views.plot import plot_run\n    return plot_run(run)\n"
    )
    assert up_imports(fake) == ["agent_nb/recording/run.py:5 imports agent_nb.views"]


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


def agent_nb_modules(tree: ast.Module) -> set[str]:
    """Every agent_nb name imported anywhere in `tree` (function bodies too; `TYPE_CHECKING` blocks aside, as
    they never run): for `from a.b import c` both `a.b` and `a.b.c`, since `c` may be a module."""
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "agent_nb"}


def import_cycle(root: Path) -> list[str] | None:
    """A cycle of modules importing each other (at any level) under `root`, or None."""
    modules = {
        ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in root.rglob("*.py")
    }
    graph = {
        name: agent_nb_modules(ast.parse(path.read_text())) & modules.keys() - {name} for name, path in modules.items()
    }
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return exc.args[1]
    return None


def test_no_two_modules_import_each_other_even_inside_a_function():
    # A cycle inside one layer is legal for the layer rules but makes import order matter and modules
    # inseparable: e.g. breaks and interception once imported each other at function level.
    assert import_cycle(PACKAGE) is None


def test_the_cycle_check_sees_a_function_level_import_back(tmp_path):
    fake = tmp_path / "agent_nb"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "interception.py").write_text("from agent_nb.breaks import Boundary\n")
    (fake / "breaks.py").write_text("def f():\n    from agent_nb.interception import _HookCall\n")
    assert sorted(set(import_cycle(fake))) == ["agent_nb.breaks", "agent_nb.interception"]


def verbs_of(owner: type) -> dict[str, Verb]:
    return {name: value for name, value in vars(owner).items() if isinstance(value, Verb)}


@pytest.mark.parametrize("owner", [Run, Recorder])
def test_each_verb_shows_the_signature_and_docs_written_once_in_its_own_layer(owner: type) -> None:
    # `run.replay` is `agent_nb.replay.resume.replay` bound to the run: help() and tab completion show its own
    # signature (the Recorder's copy drops the `recorder` keyword it fills in), and no copy lives in the core.
    rec = Recorder(demo_agent())
    instance = rec.run("What is 2 + 3?") if owner is Run else rec
    assert len(verbs_of(owner)) >= (12 if owner is Run else 5)
    for name, verb in verbs_of(owner).items():
        function = verb.function()
        assert not function.__module__.startswith("agent_nb.recording") or name in ("save", "load"), name
        assert name in dir(instance)
        bound = getattr(instance, name)
        expected = inspect.signature(function).parameters
        if verb.bind is not None:
            expected = {k: v for k, v in expected.items() if k != verb.bind}
        elif not verb.static:
            expected = dict(list(expected.items())[1:])  # the record itself
        assert list(inspect.signature(bound).parameters) == list(expected), name
        assert inspect.getdoc(bound) == inspect.getdoc(function), name


def test_no_module_over_800_lines_and_a_workbench_of_at_most_30_methods() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 800} == {}
    workbench = next(
        node
        for node in ast.walk(ast.parse((PACKAGE / "widgets" / "workbench.py").read_text()))
        if isinstance(node, ast.ClassDef) and node.name == "Workbench"
    )
    assert sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in workbench.body) <= 30


def test_the_replay_option_types_and_the_live_keys_are_declared_once() -> None:
    # recording/options.py declares them; everyone else imports them (a second `OnMiss = Literal[...]` or a
    # set literal of the live keys would drift).
    declared = {"OnMiss", "ToolsMode", "ON_MISS", "TOOL_MODES", "LIVE_STATE_KEYS", "LIVE_KWARGS", "ReplayOptions"}
    places = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            names = {getattr(t, "id", None) for t in targets}
            if isinstance(node, ast.ClassDef):
                names.add(node.name)
            places += [f"{path.relative_to(PACKAGE)}:{node.lineno} {n}" for n in names & declared]
            if isinstance(node, (ast.Set, ast.Tuple, ast.List)) and {"tools", "hook_context"} <= {
                getattr(e, "value", None) for e in node.elts
            }:
                places.append(f"{path.relative_to(PACKAGE)}:{node.lineno} live keys")
    assert sorted(p.split(":")[0] for p in places) == ["recording/options.py"] * 8, places
