"""The workbench's own controls: widths, the scoped stylesheet of its controls, and small ipywidgets helpers.

Colours and the look of the HTML fragments (tables, badges, diffs) come from the one palette,
`agent_nb.views.style`; this module adds only what is specific to ipywidgets controls. Everything is standard
ipywidgets 8: sizes go through `Layout`, the extra look through one `<style>` element in an HTML widget, scoped
to `.anb-workbench` so it never leaks into the rest of the notebook (one rule besides: a rendered Workbench
hides its static copy, see `agent_nb.widgets.static`). If a frontend drops the stylesheet, the
layout still holds (it never depends on the CSS).

Usage:
    >>> title = section_title("Hooks")
    >>> "anb-section-title" in title._dom_classes
    True
"""

from __future__ import annotations

import html
from typing import Any, TypeVar

import ipywidgets as W

from agent_nb.views.html import esc
from agent_nb.views.style import ATTENTION_COLOR, ERROR_COLOR, MONO, fragment_css
from agent_nb.widgets.static import HIDE_COPY_CSS

#: The workbench fills the notebook's width (the trace view uses every pixel; its detail pane stacks under the
#: waterfall when the view is narrower than 900px).
MAX_WIDTH = "none"
SIDEBAR_WIDTH = "210px"

STYLESHEET = f"""
<style>
.anb-workbench {{ font-size: 13px; }}
.anb-workbench .widget-html-content {{ line-height: 1.4; }}
.anb-workbench .widget-html, .anb-workbench .widget-html-content {{ height: auto; }}
.anb-workbench .anb-icon-button {{ padding: 0; }}
.anb-workbench .anb-section-title {{ margin: 6px 0 2px 0; }}
.anb-workbench .anb-section-title h4 {{ margin: 0; font-size: 13px; font-weight: 600; opacity: .85; }}
.anb-workbench .anb-error-text {{ color: {ERROR_COLOR}; font-size: 12px; }}
.anb-workbench table.anb-table {{ width: 100%; }}
.anb-workbench .anb-hook-doc {{ opacity: .7; font-size: 11px; line-height: 1.25; margin: -4px 0 4px 22px; }}
.anb-workbench .anb-confirmation {{ border: 2px solid {ATTENTION_COLOR}; border-radius: 4px; }}
.anb-workbench .anb-state-json textarea, .anb-workbench .anb-reply-text textarea,
.anb-workbench .anb-confirm-args textarea, .anb-workbench .anb-message-text textarea {{ font-family: {MONO};
  font-size: 12px; }}
{fragment_css(".anb-workbench")}
{HIDE_COPY_CSS}
</style>
"""

WidgetT = TypeVar("WidgetT", bound=W.DOMWidget)


def css(widget: WidgetT, *classes: str) -> WidgetT:
    """Add stable CSS classes to a widget and return it (the browser test and user CSS target them).

    Usage:
        >>> css(W.Button(description="Run"), "anb-run-button")._dom_classes
        ('anb-run-button',)
    """
    for name in classes:
        widget.add_class(name)
    return widget


def section_title(text: str, *, hint: str = "") -> W.HTML:
    """A small section header, with an optional muted hint after it.

    Usage:
        >>> section_title("Diff", hint="what the event changed").value.startswith("<h4>")
        True
    """
    extra = f' <span class="anb-muted">{esc(hint)}</span>' if hint else ""
    return css(W.HTML(f"<h4>{esc(text)}{extra}</h4>"), "anb-section-title")


def error_label(cls: str = "") -> W.HTML:
    """An (initially empty) red error text placed next to a field.

    Usage:
        >>> set_error(error_label(), "bad JSON").value
        '<div class="anb-error-text">bad JSON</div>'
    """
    label = css(W.HTML(""), "anb-error")
    if cls:
        label.add_class(cls)
    return label


def set_error(label: W.HTML, message: str | None) -> W.HTML:
    """Show `message` (escaped) in an error label, or clear it with None / "".

    Usage:
        >>> set_error(error_label(), None).value
        ''
    """
    label.value = f'<div class="anb-error-text">{esc(message)}</div>' if message else ""
    return label


def error_text(label: W.HTML) -> str:
    """The plain text an error label shows ("" when none).

    Usage:
        >>> error_text(set_error(error_label(), "a < b"))
        'a < b'
    """
    value = label.value
    if not value:
        return ""
    inner = value.split(">", 1)[1].rsplit("<", 1)[0]
    return html.unescape(inner)


def show(widget: W.DOMWidget, visible: bool) -> None:
    """Show or hide a widget without removing it from the layout tree.

    Usage:
        >>> b = W.Button(); show(b, False); b.layout.display
        'none'
    """
    widget.layout.display = None if visible else "none"


def button(
    description: str, cls: str, *, style: str = "", tooltip: str = "", width: str = "auto", **kw: Any
) -> W.Button:
    """A Button with a CSS class, an optional button_style and tooltip.

    Usage:
        >>> button("Run", "anb-run-button", style="primary").button_style
        'primary'
    """
    b = W.Button(description=description, button_style=style, tooltip=tooltip or description, **kw)
    b.layout.width = width
    if not description:
        b.add_class("anb-icon-button")
    return css(b, cls)


def set_options(select: W.widgets.widget_selection._Selection, options: list[tuple[str, Any]], value: Any) -> None:
    """Replace a selection widget's options and pick `value` (else the first option, else none).

    Clearing the index first keeps ipywidgets from selecting the first option on the way (one spurious change
    less for observers; they should still ignore changes made while a panel updates itself).

    Usage:
        >>> box = W.Dropdown(options=[("a", 1)])
        >>> set_options(box, [("b", 2), ("c", 3)], 3); box.value
        3
    """
    values = [v for _, v in options]
    if value not in values:
        value = values[0] if values else None
    if list(select.options) == list(options) and select.value == value:
        return
    select.index = None
    select.options = options
    select.value = value
