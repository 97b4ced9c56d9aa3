"""`agent-nb`: the demo agent from a terminal, and HTML reports of saved runs.

Commands:
    agent-nb demo [--out DIR] [--prompt TEXT]   run demo_agent() offline (scripted model) through a Recorder;
                                                print the timeline; write timeline.csv, timeline.png, run.json
                                                and report.html to DIR (default ./out/demo)
    agent-nb report RUN.json [-o OUT.html]      write the HTML report of a saved run (JSON only: loading a run
                                                never executes code)
    agent-nb compare A.json B.json [-o OUT.html]
                                                what differs between two saved runs: inputs, then the first
                                                event that did something else (exit 1 when they differ)

Errors the user can fix (a missing or unreadable file) print one line and exit with status 2.

Usage:
    $ agent-nb demo --out out/demo
    $ agent-nb report out/demo/run.json -o run.html
    $ python -m agent_nb demo --prompt "Weather in Tokyo?"
    >>> from agent_nb.cli import main
    >>> main(["report", "missing.json"])   # prints "agent-nb: error: no such file: missing.json" to stderr
    2
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from agent_nb.errors import AgentNbError

if TYPE_CHECKING:
    from agent_nb.recording.run import Run

DEFAULT_OUT = os.path.join("out", "demo")
#: Shows the hooks at work: the memory and date hooks add context, and the on_exit hook makes the model save a
#: note before it may finish (continue_run), so the run has four steps.
DEFAULT_PROMPT = "What is 2 + 3, and the weather in Paris and Tokyo?"
EXIT_USAGE = 2

#: Timeline columns printed by `agent-nb demo`; their header labels and widths come from TIMELINE_SCHEMA.
PRINT_COLUMNS: tuple[str, ...] = ("seq", "step", "kind", "hook_point", "name", "status", "duration_ms", "summary")


class CliError(AgentNbError):
    """A problem the user can fix; printed as one line, exit status 2.

    Usage:
        >>> raise CliError("no such file: run.json")
        Traceback (most recent call last):
        ...
        agent_nb.cli.CliError: no such file: run.json
    """


def _one_line(text: str, limit: int = 240) -> str:
    from agent_nb.recording.text import cut

    return cut(" ".join(str(text).split()), limit)


def _numeric(dtype: Any) -> bool:
    return str(dtype).lower() in ("int64", "float64")


def format_timeline(df: pd.DataFrame) -> str:
    """A compact, readable text table of a timeline: the PRINT_COLUMNS, labelled and cut as TIMELINE_SCHEMA says.

    Usage:
        >>> from agent_nb.recording.events import build_timeline, Event
        >>> print(format_timeline(build_timeline([Event("r", 0, 0, "tool", None, "add", "ok", 1.0, 0.25,
        ...                                                summary="add(a=2, b=3) -> 5")])))
        # step kind point name status   ms summary
        0    0 tool       add  ok     0.25 add(a=2, b=3) -> 5
    """
    if df.empty:
        return "(no events)"
    from agent_nb.recording.events import TIMELINE_SCHEMA

    cols = [c for c in TIMELINE_SCHEMA if c.name in PRINT_COLUMNS and c.name in df.columns]
    cols.sort(key=lambda c: PRINT_COLUMNS.index(c.name))
    cells: list[list[str]] = []
    for rec in df[[c.name for c in cols]].astype(object).to_dict("records"):
        row = []
        for col in cols:
            value = rec[col.name]
            if pd.isna(value):
                text = "-" if col.name == "step" else ""
            elif str(col.dtype) == "float64":
                text = f"{float(value):.2f}"
            else:
                text = _one_line(str(value))
            if len(text) > col.width:
                text = _one_line(text, col.width)
            row.append(text)
        cells.append(row)
    widths = [max(len(c.label), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]

    def fmt(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if _numeric(c.dtype) else v.ljust(w) for v, w, c in zip(values, widths, cols, strict=True)]
        return " ".join(parts).rstrip()

    return "\n".join([fmt([c.label for c in cols]), *(fmt(r) for r in cells)])


def cmd_demo(args: argparse.Namespace) -> int:
    """`agent-nb demo`: run the demo agent offline, print its timeline, write the artefacts.

    Usage:
        >>> build_parser().parse_args(["demo", "--out", "out/demo"]).func is cmd_demo
        True
    """
    from agent_nb.demo import demo_agent
    from agent_nb.files import atomic_write
    from agent_nb.recording import Recorder
    from agent_nb.views.report import run_report

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} exists and is not a directory")
    rec = Recorder(demo_agent())
    failure: BaseException | None = None
    try:
        run = rec.run(args.prompt)
    except Exception as exc:  # the partial run is kept: still show and write what was recorded
        failure = exc
        run = rec.runs[-1]
    print(f"prompt: {args.prompt}")
    print(run.describe())
    if run.final_answer:
        print(f"answer: {_one_line(run.final_answer, 400)}")
    print()
    print(format_timeline(run.timeline))
    print("(a text cut with … is whole in report.html: its tooltip and the event's details)")
    print()

    fig = run.plot()
    run_report(run, out / "report.html", runs=rec.runs)
    written = [
        ("timeline", run.to_csv(out / "timeline.csv")),
        ("chart", atomic_write(out / "timeline.png", lambda p: fig.savefig(p, dpi=120, format="png"))),
        ("run", run.save(str(out / "run.json"))),
        ("report", str(out / "report.html")),
    ]
    for what, where in written:
        print(f"{what:>8}: {where}")
    if failure is not None:
        print(f"agent-nb: the run failed: {_one_line(f'{type(failure).__name__}: {failure}')}", file=sys.stderr)
        return 1
    return 0


def _default_report_path(src: Path) -> Path:
    name = src.name
    for suffix in (".json.gz", ".json", ".gz"):
        if name.endswith(suffix):
            return src.with_name(name[: -len(suffix)] + ".html")
    return src.with_name(name + ".html")


def load_saved_run(path: str | os.PathLike[str]) -> Run:
    """Load a saved run for the CLI, turning every failure into a one-line `CliError`.

    Usage:
        >>> load_saved_run("missing.json")
        Traceback (most recent call last):
        ...
        agent_nb.cli.CliError: no such file: missing.json
    """
    src = Path(path)
    if not src.exists():
        raise CliError(f"no such file: {src}")
    if src.is_dir():
        raise CliError(f"{src} is a directory, not a saved run")
    from agent_nb.recording.persist import RunFileError, load_run

    try:
        return load_run(str(src))
    except RunFileError as exc:  # already names the file and what is wrong with it
        raise CliError(_one_line(str(exc))) from exc
    except Exception as exc:  # any other parse / schema failure: the file is not a run we can read
        raise CliError(
            f"cannot read {src} as a saved agent_nb run: {_one_line(f'{type(exc).__name__}: {exc}')}"
        ) from exc


def cmd_report(args: argparse.Namespace) -> int:
    """`agent-nb report`: write the HTML report of a saved run.

    Usage:
        >>> import os, tempfile
        >>> from agent_nb.recording import Run
        >>> folder = tempfile.mkdtemp()
        >>> saved = Run(run_id="x", status="ok").save(os.path.join(folder, "run.json"))
        >>> main(["report", saved, "-o", os.path.join(folder, "report.html")])   # doctest: +ELLIPSIS
        report: .../report.html
        0
    """
    from agent_nb.views.report import run_report

    src = Path(args.run)
    run = load_saved_run(src)
    out = Path(args.output) if args.output else _default_report_path(src)
    if out.exists() and out.is_dir():
        raise CliError(f"-o {out} is a directory; give a file name")
    try:
        run_report(run, out)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from exc
    except Exception as exc:  # a run that loaded but cannot be shown: still one line, never a traceback
        raise CliError(f"cannot report on {src}: {_one_line(f'{type(exc).__name__}: {exc}')}") from exc
    print(f"report: {out}")
    return 0


def format_comparison(frame: pd.DataFrame, *, limit: int = 20) -> str:
    """A `compare(a, b)` frame as text: compare's own line, then the rows that differ (what they differ in).

    Usage:
        >>> from agent_nb import compare
        >>> print(format_comparison(compare(run, run.replay())))
        no divergence: the runs agree
    """
    lines = [str(frame.attrs.get("summary") or "")]
    differing = frame[~frame["same"].astype(bool)]
    if len(differing):
        lines.append(f"{len(differing)} of {len(frame)} aligned events differ:")
    for row in differing.head(limit).astype(object).to_dict("records"):
        step = "-" if pd.isna(row["step"]) else str(row["step"])
        where = row["hook_point"] if isinstance(row["hook_point"], str) else row["kind"]
        seqs = "/".join("-" if pd.isna(row[k]) else str(row[k]) for k in ("seq_a", "seq_b"))
        lines.append(f"  step {step:>2}  #{seqs:<7} {where} {row['name']}: {row['differs']}")
    if len(differing) > limit:
        lines.append(f"  ... and {len(differing) - limit} more")
    divergence = frame.attrs.get("divergence")
    if divergence:  # both values in full: nothing of what differs is cut here
        lines += [f"{divergence['field']} of A (#{divergence['seq_a']}):", f"  {divergence['a']}"]
        lines += [f"{divergence['field']} of B (#{divergence['seq_b']}):", f"  {divergence['b']}"]
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> int:
    """`agent-nb compare A.json B.json`: what differs between two saved runs (inputs, then the first divergence).

    Exit status 0 when the runs agree, 1 when they differ (like `diff`); `-o` writes B's report with the
    comparison.

    Usage:
        >>> build_parser().parse_args(["compare", "a.json", "b.json"]).func is cmd_compare
        True
    """
    from agent_nb.replay import compare
    from agent_nb.views.report import run_report

    a, b = load_saved_run(args.a), load_saved_run(args.b)
    frame = compare(a, b)
    print(format_comparison(frame))
    if args.output:
        out = Path(args.output)
        try:
            run_report(b, out, runs=[a, b], comparison=frame)
        except OSError as exc:
            raise CliError(f"cannot write {out}: {exc.strerror or exc}") from exc
        print(f"report: {out}")
    agree = not frame.attrs.get("inputs") and frame.attrs.get("first_divergence") is None
    return 0 if agree else 1


def build_parser() -> argparse.ArgumentParser:
    """The `agent-nb` argument parser (subcommands demo, report and compare).

    Usage:
        >>> build_parser().parse_args(["demo", "--out", "tmp"]).out
        'tmp'
    """
    from agent_nb import __version__

    parser = argparse.ArgumentParser(
        prog="agent-nb", description="See inside a Haystack Agent: record a demo run, or report on a saved run."
    )
    parser.add_argument("--version", action="version", version=f"agent-nb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,report,compare}")
    demo = sub.add_parser(
        "demo",
        help="run the demo agent offline and write timeline.csv, timeline.png, run.json, report.html",
        description="Run demo_agent() on the offline scripted model through a Recorder, print the timeline and "
        "write timeline.csv, timeline.png, run.json and report.html.",
    )
    demo.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default: {DEFAULT_OUT})")
    demo.add_argument(
        "--prompt", default=DEFAULT_PROMPT, metavar="TEXT", help=f'the user message (default: "{DEFAULT_PROMPT}")'
    )
    demo.set_defaults(func=cmd_demo)
    report = sub.add_parser(
        "report",
        help="write the HTML report of a saved run",
        description="Write the self-contained HTML report of a run saved with run.save (JSON; never executes code).",
    )
    report.add_argument("run", metavar="RUN.json", help="a run saved with run.save (.json or .json.gz)")
    report.add_argument("-o", "--output", metavar="OUT.html", help="where to write (default: next to RUN, .html)")
    report.set_defaults(func=cmd_report)
    comp = sub.add_parser(
        "compare",
        help="what differs between two saved runs: inputs, then the first event that did something else",
        description="Compare two runs saved with run.save: their inputs, then each aligned event on what it did. "
        "Exit status 0 when they agree, 1 when they differ.",
    )
    comp.add_argument("a", metavar="A.json", help="the first run")
    comp.add_argument("b", metavar="B.json", help="the second run")
    comp.add_argument("-o", "--output", metavar="OUT.html", help="also write B's HTML report with the comparison")
    comp.set_defaults(func=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `agent-nb` console script; returns the exit status.

    Usage:
        >>> main(["report", "missing.json"])   # the error goes to stderr
        2
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"agent-nb: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("agent-nb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
