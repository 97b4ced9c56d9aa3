"""`agent-nb` as a user runs it: `python -m agent_nb` in a subprocess with the venv's python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from agent_nb.cli import DEFAULT_PROMPT, PRINT_COLUMNS, format_timeline, main
from agent_nb.recording import TIMELINE_COLUMNS, TIMELINE_SCHEMA, Run


def agent_nb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "agent_nb", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    cwd = tmp_path_factory.mktemp("cli")
    return agent_nb("demo", "--out", "tmp", cwd=cwd), cwd / "tmp"


def test_demo_writes_every_file_and_says_where(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = demo
    assert proc.returncode == 0, proc.stderr
    files = {name: out / name for name in ("timeline.csv", "timeline.png", "run.json", "report.html")}
    for path in files.values():
        assert path.is_file() and path.stat().st_size > 0
        assert str(Path("tmp") / path.name) in proc.stdout  # printed where it went
    assert files["timeline.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = pd.read_csv(files["timeline.csv"])
    assert list(csv.columns) == list(TIMELINE_COLUMNS)
    assert set(csv["kind"]) == {"hook", "llm", "tool"} and csv["flow"].eq("continue_run").any()
    # The printed timeline: a header and one line per event.
    lines = proc.stdout.splitlines()
    labels = {c.name: c.label for c in TIMELINE_SCHEMA}
    expected = [labels[name] for name in PRINT_COLUMNS]  # the header is the schema's labels
    header = next(i for i, line in enumerate(lines) if line.split() == expected)
    rows = lines[header + 1 : header + 1 + len(csv)]
    assert [int(r.split()[0]) for r in rows] == list(csv["seq"])
    widths = {c.name: c.width for c in TIMELINE_SCHEMA}
    assert all(len(r) <= sum(widths[name] + 1 for name in PRINT_COLUMNS) for r in rows)  # cells cut to width
    assert DEFAULT_PROMPT in proc.stdout
    assert "<script" not in files["report.html"].read_text(encoding="utf-8").lower()
    # The saved run loads back as the same run.
    loaded = Run.load(str(files["run.json"]))
    assert len(loaded.events) == len(csv) and loaded.exit_reason == "text"


def test_report_from_saved_run(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = demo
    proc = agent_nb("report", str(out / "run.json"), "-o", "copy.html", cwd=out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "report: copy.html"
    text = (out / "copy.html").read_text(encoding="utf-8")
    assert text.count('<tr class="anb-row ') == len(pd.read_csv(out / "timeline.csv"))
    # Without -o the report goes next to the run file.
    assert main(["report", str(out / "run.json")]) == 0
    assert (out / "run.html").is_file()


TYPE_WRONG_RUN = (
    '{"format": "agent_nb.run", "schema_version": 2, "run": {"run_id": "r1", "kind": "run", "status": "ok", '
    '"events": [{"run_id": "r1", "seq": 0, "step": null, "kind": "hook", "hook_point": "before_run", "name": "h", '
    '"status": "ok", "offset_ms": 0, "duration_ms": "fast", "changed": [], "messages_added": null, '
    '"messages_removed": null, "flow": null, "prompt_tokens": null, "completion_tokens": null, "summary": "", '
    '"error": null}]}}'
)


def test_report_on_corrupt_file_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "run.json"
    bad.write_text(TYPE_WRONG_RUN, encoding="utf-8")  # valid JSON, a string where a duration belongs
    proc = agent_nb("report", str(bad), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agent-nb: error: ")
    assert str(bad) in lines[0] and "duration_ms must be a number" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "run.html").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("[1, 2, 3]", "run.json"),
        ('{"hello": "world"}', "run.json"),
        ("\x00\x01", "run.json"),
        (TYPE_WRONG_RUN, "events[0] (hook 'h').duration_ms must be a number, got str 'fast'"),
        (TYPE_WRONG_RUN.replace('"r1"', '"../r1"'), "run.run_id str '../r1' is not a run id"),
        ('{"format": "agent_nb.run", "schema_version": 2, "run": {"run_id": ' + "1" * 5000 + "}}", "not valid JSON"),
    ],
)
def test_report_errors_in_process(tmp_path: Path, capsys, content: str | None, expected: str) -> None:
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("agent-nb: error: ") and expected in err


def test_report_of_a_directory_and_usage_errors(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_format_timeline_of_an_empty_run() -> None:
    assert format_timeline(Run(run_id="x").timeline) == "(no events)"
