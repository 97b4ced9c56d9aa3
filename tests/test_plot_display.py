"""`run.plot()` shows itself in a notebook without registering anything in IPython."""

from __future__ import annotations

import subprocess
import sys

CODE = """
from IPython.core.interactiveshell import InteractiveShell
from matplotlib.figure import Figure
from agent_nb import Recorder, demo_agent
shell = InteractiveShell.instance()
png = shell.display_formatter.formatters["image/png"]
before = dict(png.type_printers)
fig = Recorder(demo_agent()).run("What is 2 + 3?").plot()
data, _ = shell.display_formatter.format(fig)
print(data["image/png"][:4] == b"\\x89PNG", png.type_printers == before, Figure not in png.type_printers)
print("image/png" in shell.display_formatter.format(Figure(figsize=(1, 1)))[0])
"""


def test_a_plot_shows_as_png_and_changes_no_formatter_of_the_shell():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout.split()
    # Our figure shows as a PNG; the shell's formatters are as they were, so another Figure still shows nothing.
    assert out == ["True", "True", "True", "False"]
