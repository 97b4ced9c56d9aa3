"""Every command block of the README runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)


def blocks(lang: str) -> list[str]:
    return [body for tag, body in BLOCKS if tag == lang]


def test_readme_opens_with_the_two_commands() -> None:
    first = blocks("bash")[0]
    assert [line.split("#")[0].strip() for line in first.strip().splitlines()] == ["make demo", "make test"]


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_blocks_run(index: int, tmp_path: Path) -> None:
    code = blocks("python")[index]
    # The real-model block builds generators only (no request is sent); they need a key to be constructed.
    env = {**os.environ, "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "sk-test-not-used")}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, f"README python block {index} failed:\n{code}\n{out.stderr[-3000:]}"


def test_make_demo_runs_and_says_where_its_output_went(tmp_path: Path) -> None:
    # The venv exists when the tests run (make test made it), so this runs the demo itself. `-o` keeps make from
    # reinstalling into it when pyproject.toml is newer than its stamp (any other checkout sharing the venv):
    # that would point the venv's editable install at the checkout the tests happen to run from.
    venv = Path(sys.executable).parent.parent
    out = subprocess.run(
        ["make", "demo", f"VENV={venv}", "-o", str(venv / ".installed")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    for name in ("timeline.csv", "timeline.png", "run.json", "report.html"):
        assert f"out/demo/{name}" in out.stdout
        assert (ROOT / "out" / "demo" / name).stat().st_size > 0


def test_make_test_runs_every_suite() -> None:
    recipe = subprocess.run(
        ["make", "-n", "test", f"VENV={Path(sys.executable).parent.parent}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert recipe.returncode == 0, recipe.stderr
    commands = recipe.stdout.replace("\\\n", " ").splitlines()  # join make's continuation lines
    pytest_line = next(line for line in commands if "pytest" in line)
    for part in ("--doctest-modules agent_nb", " tests ", " notebooks ", "--nbval-lax"):
        assert part in pytest_line, part
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "chromium" in ci
