"""Export a run from the workbench: the timeline as CSV, the whole run as JSON (loadable with `Run.load`).

Files go to `./agent_nb_exports/` unless a path is given. The default file name comes from the run's kind
and id, made safe first: whatever a loaded or hand-made run's id holds (`../`, `/`, NUL, 300 characters),
the file lands inside the export folder.

Usage:
    >>> from agent_nb.recording import Run
    >>> str(default_path(Run(run_id="../../etc/passwd"), ".csv"))
    'agent_nb_exports/run-.._.._etc_passwd.csv'
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from agent_nb.errors import InvalidArgument
from agent_nb.recording import Run
from agent_nb.views.html import esc

EXPORT_DIR = "agent_nb_exports"
#: Above this size the CSV gets no inline download link (a data: URI that big slows the notebook down).
DATA_URI_LIMIT = 300_000
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def safe_name(text: str, limit: int = 64) -> str:
    """`text` as one safe file-name part: letters, digits, `_`, `-` and inner dots only, at most `limit` long.

    Usage:
        >>> safe_name("../a/b"), safe_name(".."), safe_name("")
        ('.._a_b', '_', '_')
    """
    name = _UNSAFE.sub("_", str(text))[:limit]
    if not name.strip("."):  # "", ".", "..": names of folders, not files
        name = "_"
    return name


def default_path(run: Run, suffix: str) -> Path:
    """Where an export of `run` goes by default: `agent_nb_exports/<kind>-<run_id><suffix>`, made safe.

    Usage:
        >>> from agent_nb.recording import Run
        >>> default_path(Run(run_id="ab12"), ".json").name
        'run-ab12.json'
    """
    name = f"{safe_name(run.kind, 16)}-{safe_name(run.run_id)}{suffix}"
    target = Path(EXPORT_DIR) / name
    # Belt and braces: the name has no separator, so it cannot leave the folder; check anyway.
    if target.resolve().parent != Path(EXPORT_DIR).resolve():
        raise InvalidArgument(f"refusing to export {run.run_id!r} outside {EXPORT_DIR}/")
    return target


def _target(run: Run, path: str | Path | None, suffix: str) -> Path:
    target = Path(path) if path is not None else default_path(run, suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def export_csv(run: Run, path: str | Path | None = None) -> Path:
    """Write the run's timeline as CSV; returns the path.

    Usage:
        >>> import os, tempfile
        >>> from agent_nb.recording import Run
        >>> export_csv(Run(run_id="x"), os.path.join(tempfile.mkdtemp(), "timeline.csv")).name
        'timeline.csv'
    """
    target = _target(run, path, ".csv")
    run.to_csv(target)
    return target


def export_json(run: Run, path: str | Path | None = None) -> Path:
    """Save the whole run as JSON (no pickle; `Run.load(path)` reads it back); returns the path.

    Usage:
        >>> import os, tempfile
        >>> from agent_nb.recording import Run
        >>> export_json(Run(run_id="x", status="ok"), os.path.join(tempfile.mkdtemp(), "run.json")).name
        'run.json'
    """
    from agent_nb.replay import save_run

    target = _target(run, path, ".json")
    save_run(run, str(target))
    return target


def download_link(text: str, filename: str, label: str = "download") -> str:
    """An HTML `<a download>` link carrying `text` as a data: URI (empty when it is too large).

    Usage:
        >>> download_link("a,b\\n", "t.csv").startswith('<a download="t.csv"')
        True
    """
    data = text.encode("utf-8", "backslashreplace")
    if len(data) > DATA_URI_LIMIT:
        return ""
    uri = "data:text/csv;base64," + base64.b64encode(data).decode("ascii")
    return f'<a download="{esc(safe_name(filename, 100))}" href="{uri}" target="_blank">{esc(label)}</a>'
