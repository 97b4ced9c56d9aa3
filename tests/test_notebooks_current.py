"""Committed notebooks stay current: their cells are their sources' cells, their outputs hold no random temporary
paths, uuids or addresses, and (in `make test`, where nbval executes every notebook) a cell whose committed outputs
say something else than a fresh run of it fails, through notebooks/conftest.py and notebooks/meaning.py."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
COMMITTED = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def tools():
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        return importlib.import_module("meaning"), importlib.import_module("build")
    finally:
        sys.path.remove(str(NOTEBOOKS))


def stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def table(text: str) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "data": {"text/plain": text}, "metadata": {}}


def test_every_source_has_its_committed_notebook_with_the_same_cells(tools):
    _, build = tools
    sources = sorted((NOTEBOOKS / "src").glob("[0-9][0-9]_*.py"))
    assert [s.stem for s in sources] == [n.stem for n in COMMITTED]
    for source in sources:
        fresh = [(c.cell_type, c.source) for c in build.to_notebook(source).cells]
        committed = [
            (c.cell_type, c.source) for c in nbformat.read(NOTEBOOKS / f"{source.stem}.ipynb", as_version=4).cells
        ]
        assert committed == fresh, f"{source.stem}: rebuild it (python notebooks/build.py {source.stem[:2]})"


def test_a_solution_cell_is_refused_with_where_solutions_go(tools):
    """GitHub and nbviewer show `source_hidden` cells, so a reference solution never becomes a cell."""
    _, build = tools
    with pytest.raises(ValueError, match=r"line 3: .*notebooks/solutions/nbNN\.py"):
        build.parse("# %%\nmy_seq = None\n# %% [solution]\nmy_seq = 9\n")
    assert build.parse("# %%\nmy_seq = None\n") == [("code", "my_seq = None")]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_committed_outputs_hold_no_temporary_paths_uuids_or_addresses(tools, path):
    meaning, _ = tools
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")] + [v for k, v in output.get("data", {}).items() if k.startswith("text/")]
            for text in texts:
                text = text if isinstance(text, str) else "".join(text)
                assert meaning.scrub(text) == text, f"cell {i} of {path.name} holds a random path, uuid or address"
    assert "solution" not in json.dumps([c.get("metadata", {}) for c in nb["cells"]]), "a solution cell is on the page"


def test_outputs_that_differ_only_in_noise_mean_the_same(tools):
    meaning, _ = tools
    tmp = tempfile.gettempdir()
    committed = [
        stdout(
            f"run 0eb5facd: ok (text), 9 events, 2 steps in 12.5 ms\nwritten to {tmp}/agent_nb_13_4tji_dqy/x.html\n"
        ),
        table("   seq  duration_ms status\n0    3     1234.567     ok\n1   14        0.021     ok"),
        {"output_type": "display_data", "data": {"image/png": "AAAA", "text/plain": "<Figure size 640x480>"}},
        {"output_type": "stream", "name": "stderr", "text": "a warning at 0x7f2a1c3e5b90\n"},
    ]
    fresh = [
        stdout("run 46423771: ok (text), "),  # streams arrive in pieces
        stdout(f"9 events, 2 steps in 3.1 ms\nwritten to {tmp}/agent_nb_zz81kq2m/x.html\n"),
        table("   seq  duration_ms status\n0    3        98.1     ok\n1   14       0.3     ok"),
        {"output_type": "display_data", "data": {"image/png": "BBBB", "text/plain": "<Figure size 640x480>"}},
    ]
    assert meaning.difference(committed, fresh) is None


@pytest.mark.parametrize(
    ("fresh", "shows"),
    [
        (stdout("run 0eb5facd: ok (max_agent_steps), 9 events, 2 steps in 12.5 ms\n"), "max_agent_steps"),
        (stdout("run 0eb5facd: ok (text), 11 events, 2 steps in 12.5 ms\n"), "11 events"),
        (table("   seq  duration_ms status\n0    3     1234.567  error"), "error"),
        ({"output_type": "error", "ename": "AssertionError", "evalue": "", "traceback": []}, "AssertionError"),
    ],
)
def test_a_change_in_meaning_is_named_with_both_lines(tools, fresh, shows):
    meaning, _ = tools
    committed = [
        stdout("run 0eb5facd: ok (text), 9 events, 2 steps in 12.5 ms\n"),
        table("   seq  duration_ms status\n0    3     1234.567     ok"),
    ]
    changed = [fresh, committed[1]] if fresh.get("name") == "stdout" else [committed[0], fresh]
    difference = meaning.difference(committed, changed)
    assert difference is not None and shows in difference


def _notebook(cells: list[tuple]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, (source, outputs, *tags) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=i)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


@pytest.mark.slow
def test_nbval_fails_a_cell_whose_committed_outputs_are_stale(tmp_path):
    """End to end: the conftest under notebooks/ turns nbval's fresh outputs into a failure where they changed."""
    for name in ("conftest.py", "meaning.py"):
        shutil.copy(NOTEBOOKS / name, tmp_path / name)
    cells = [
        ("print('3 steps in', 0.5, 's')", [stdout("3 steps in 9.1 s\n")]),  # only a timing differs: passes
        ("print('exit:', 'text')", [stdout("exit: max_agent_steps\n")]),  # stale: fails
        ("print(7)", [stdout("6\n")], "nbval-ignore-output"),  # a `# %% [measured]` cell: not compared
    ]
    nbformat.write(_notebook(cells), tmp_path / "stale.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-q",
         "stale.ipynb"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 2 passed" in done.stdout, done.stdout
    assert "committed: stdout: exit: max_agent_steps" in done.stdout and "fresh:     stdout: exit: text" in done.stdout


@pytest.mark.parametrize("path", sorted((NOTEBOOKS / "data").glob("real_*.json.gz")), ids=lambda p: p.name)
def test_saved_real_runs_carry_todays_summaries(path):
    """07 shows the summaries stored in its saved runs: they must be what today's recorder writes (the runs recorded
    on 2026-11-30 read `+user` where a hook had inserted a system message)."""
    from agent_nb import Run
    from agent_nb.recording.summary import summarize

    run = Run.load(str(path))
    stale = [(e.seq, e.summary, summarize(e)) for e in run.events if e.summary != summarize(e)]
    assert not stale, f"refresh them: python notebooks/data/record_real_run.py --refresh-summaries; {stale[:2]}"
    assert run.events[0].summary.startswith("+system")  # MemoryRetrievalHook inserts a system message
