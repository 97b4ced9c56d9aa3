"""The Workbench's static rendering where no widget manager runs: nbconvert's HTML, a repository page, Voila's
first paint.

The Workbench's display bundle holds the widget view and, as text/html, its static rendering (chart image and
escaped table of the shown run). nbconvert's HTML export picks the widget view over the text/html whenever
the notebook holds the widget's state, which `jupyter nbconvert --execute` saves: the page then shows an
empty box offline. So when the notebook runs headless (the client gives the kernel no stdin: nbconvert,
papermill, Voila), the Workbench also displays the static rendering as an output of its own (`copy_html`).
That copy is hidden by CSS where it would repeat something: after a widget that rendered (the Workbench's
stylesheet, `HIDE_COPY_CSS`) and after a text/html fallback that shows the same rendering (the copy's own
style). `notebooks/build.py` drops the copies (`STATIC_COPY` in an output's metadata) from committed notebooks.

Usage:
    >>> "anb-static-copy" in copy_html("<p>table</p>")
    True
    >>> headless()   # no kernel here
    False
"""

from __future__ import annotations

#: Output metadata key marking the static copy (`notebooks/build.py` drops those outputs).
STATIC_COPY = "agent_nb_static_copy"
_CHILD = ".jp-OutputArea-child"
#: In the Workbench's stylesheet: a rendered Workbench hides the static copy displayed after it.
HIDE_COPY_CSS = f"{_CHILD}:has(.anb-workbench) + {_CHILD}:has(.anb-static-copy) {{ display: none; }}"
#: In the copy: a text/html fallback before it (no widget state saved) already shows the same rendering.
_HIDE_AFTER_FALLBACK = f"{_CHILD}:has(.anb-static) + {_CHILD}:has(.anb-static-copy) {{ display: none; }}"


def headless() -> bool:
    """True while the kernel runs a cell for a client that gives it no stdin (nbconvert, papermill, Voila).

    JupyterLab, Notebook 7 and editors that render widgets send `allow_stdin: true` with each cell.
    """
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent() if kernel is not None else None
    except Exception:  # an unusual kernel: show the widget as usual
        return False
    content = (parent or {}).get("content") or {}
    return content.get("allow_stdin") is False


def copy_html(static_html: str) -> str:
    """The static rendering as an output of its own, with the rule that hides it after its text/html fallback.

    Usage:
        >>> copy_html("<p>x</p>").endswith("<p>x</p></div>")
        True
    """
    return f'<div class="anb-static-copy"><style>{_HIDE_AFTER_FALLBACK}</style>{static_html}</div>'
