"""Export a run from the workbench: the timeline as CSV, the whole run as JSON (loadable with `Run.load`).

Files go to `./agent_nb_exports/` unless a path is given.

Usage:
    >>> path = export_csv(run)            # ./agent_nb_exports/run-1a2b3c4d.csv   # doctest: +SKIP
    >>> path = export_json(run, "r.json")                                       # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from agent_nb.recording import Run

EXPORT_DIR = "agent_nb_exports"
#: Above this size the CSV gets no inline download link (a data: URI that big slows the notebook down).
DATA_URI_LIMIT = 300_000


def _target(run: Run, path: str | Path | None, suffix: str) -> Path:
    target = Path(path) if path is not None else Path(EXPORT_DIR) / f"{run.kind}-{run.run_id}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def export_csv(run: Run, path: str | Path | None = None) -> Path:
    """Write the run's timeline as CSV; returns the path.

    Usage:
        >>> export_csv(run, "timeline.csv")   # doctest: +SKIP
        PosixPath('timeline.csv')
    """
    target = _target(run, path, ".csv")
    run.to_csv(target)
    return target


def export_json(run: Run, path: str | Path | None = None) -> Path:
    """Save the whole run as JSON (no pickle; `Run.load(path)` reads it back); returns the path.

    Usage:
        >>> export_json(run, "run.json")   # doctest: +SKIP
        PosixPath('run.json')
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
    data = text.encode("utf-8")
    if len(data) > DATA_URI_LIMIT:
        return ""
    uri = "data:text/csv;base64," + base64.b64encode(data).decode("ascii")
    return f'<a download="{html.escape(filename)}" href="{uri}" target="_blank">{html.escape(label)}</a>'


__all__ = ["EXPORT_DIR", "download_link", "export_csv", "export_json"]
