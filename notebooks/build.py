"""Build the notebooks from their sources and execute them in place.

Each `notebooks/src/NN_name.py` is in the "percent" format: a line `# %%` starts a code cell and a line
`# %% [markdown]` starts a markdown cell whose lines are comments (`# ` is stripped). Reference solutions of the
exercises are not cells: GitHub and nbviewer ignore `source_hidden`, so they live in `notebooks/solutions/nbNN.py`
(the notebook points there) and tests/test_course_checkers.py runs each through its checker; a `# %% [solution]`
marker is refused. `# %% [measured]` starts a code cell whose outputs are measurements that differ on every run (a
timing table): it is tagged `nbval-ignore-output`, and notebooks/conftest.py does not compare its outputs with a
fresh run's. Text before the first marker is ignored
(a place for a note to editors); an IPython magic is written commented out in a code cell (`# %matplotlib inline`)
and uncommented in the notebook. The builder writes `notebooks/NN_name.ipynb`, executes it with nbconvert's
ExecutePreprocessor (kernel python3, working directory `notebooks/`, timeout 300 s per cell) and saves it with its
outputs, so the notebooks read well on the repository page. The outputs are scrubbed (meaning.py): the random parts of
temporary paths, uuids and memory addresses become placeholders.

Widget state is not saved: a widget output keeps only its text fallback plus a one-line HTML note, so a committed
notebook does not carry hundreds of KB of stale widget models.

Usage:
    python notebooks/build.py                 # every notebook
    python notebooks/build.py 01 04_patterns  # by number or name prefix
    python notebooks/build.py --no-execute 02 # only convert (no outputs)
    python notebooks/build.py --allow-errors 01   # a draft: record errors as outputs instead of stopping
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

sys.path.insert(0, str(Path(__file__).resolve().parent))  # meaning.py, next to this script, also when imported
from meaning import scrub_outputs

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
MARKER = re.compile(r"^# %%(?P<rest>.*)$")
MAGIC = re.compile(r"^# %(?!%)\w")
IGNORE_OUTPUT = "nbval-ignore-output"


def parse(text: str) -> list[tuple[str, str]]:
    """Split a percent-format source into (cell_type, source) pairs."""
    cells: list[tuple[str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = MARKER.match(line)
        if match:
            rest = match.group("rest")
            if "[solution]" in rest:
                raise ValueError(
                    f"line {number}: solution cells are gone (GitHub shows hidden cells); put the reference solution "
                    "in notebooks/solutions/nbNN.py and test it in tests/test_course_checkers.py"
                )
            kind = "markdown" if "[markdown]" in rest else "measured" if "[measured]" in rest else "code"
            cells.append((kind, []))
        elif cells:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [re.sub(r"^# ?", "", line) if line.startswith("#") else line for line in lines]
        else:  # IPython magics are commented out in the source, as jupytext does: `# %matplotlib inline`
            lines = [line[2:] if MAGIC.match(line) else line for line in lines]
        source = "\n".join(lines).strip("\n")
        if source.strip():
            out.append((kind, source))
    return out


def to_notebook(source: Path) -> nbformat.NotebookNode:
    """The notebook of one source file (no outputs)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, text in parse(source.read_text(encoding="utf-8")):
        cell = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        if kind == "measured":  # outputs that differ on every run (timings): the current-outputs check skips them
            cell.metadata["tags"] = [IGNORE_OUTPUT]
        nb.cells.append(cell)
    # Stable cell ids keep the diffs of a rebuilt notebook small.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{source.stem[:2]}-{i:03d}"
    return nb


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "<p><i>Interactive widget: run this notebook in Jupyter to use it.</i></p>"


def strip_widgets(nb: nbformat.NotebookNode) -> None:
    """Drop saved widget state and widget views. A widget output keeps its own static rendering (the Workbench's
    and the trace view's text/html: chart and table) and its text fallback; one with no text/html gets a
    one-line note. The Workbench's headless static copies (`agent_nb.widgets.static`) repeat that text/html:
    they go."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        outputs[:] = [o for o in outputs if not o.get("metadata", {}).get("agent_nb_static_copy")]
        for output in outputs:
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                data.setdefault("text/html", WIDGET_NOTE)


def build(source: Path, execute: bool = True, allow_errors: bool = False) -> Path:
    """Write (and execute) the notebook of `source`; return its path."""
    nb = to_notebook(source)
    target = HERE / f"{source.stem}.ipynb"
    if execute:
        started = time.perf_counter()
        executor = ExecutePreprocessor(
            timeout=300, kernel_name="python3", allow_errors=allow_errors, store_widget_state=False, record_timing=False
        )  # no per-cell execution timestamps: a rebuild then rewrites only what changed
        executor.preprocess(nb, {"metadata": {"path": str(HERE)}})
        print(f"{target.name}: executed in {time.perf_counter() - started:.1f} s")
        scrub_outputs(nb.cells)  # no random temporary paths, uuids or addresses in a committed notebook
    strip_widgets(nb)
    nbformat.validate(nb)
    nbformat.write(nb, target)
    return target


def select(names: list[str]) -> list[Path]:
    """Source files matching the given numbers / name prefixes (all when none are given)."""
    sources = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if not names:
        return sources
    chosen = []
    for name in names:
        stem = Path(name).stem
        hits = [s for s in sources if s.stem.startswith(stem)]
        if not hits:
            raise SystemExit(f"no notebook source matches {name!r}; sources: {', '.join(s.stem for s in sources)}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook numbers or name prefixes (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    parser.add_argument("--allow-errors", action="store_true", help="keep going past a failing cell (drafts only)")
    args = parser.parse_args(argv)
    for source in select(args.names):
        build(source, execute=not args.no_execute, allow_errors=args.allow_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
