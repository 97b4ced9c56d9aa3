"""`HooksPanel`: one switch per hook slot, grouped by hook point in run order, with each hook's first doc line.

Switching calls `Recorder.set_enabled`: the next run, replay or fork uses it; a switched-off hook still shows
in the timeline, as `skipped`. The panel rebuilds itself when the Recorder's slots change (`add_hook`).
With `breaks` (a `BreakpointControls`), a dot beside each switch (as in DevTools' gutter) sets a breakpoint
before that hook (the controls themselves sit above the panel, in the Workbench's sidebar).

CSS classes: `anb-hooks` (panel), `anb-hook-point` (group header), `anb-hook-toggle` (each Checkbox, also
`anb-hook-<point>`), `anb-hook-doc`, `anb-break-dot` (each breakpoint dot, also `anb-break-<point>`; red
`anb-break-on` when set).

Usage:
    >>> from agent_nb import Recorder, demo_agent
    >>> panel = HooksPanel(Recorder(demo_agent()))
    >>> panel.toggles[("before_llm", "inject_date")].value = False   # same as rec.disable(...)
    >>> panel.recorder.hook_config["before_llm"]["inject_date"]
    False
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as W
from haystack.hooks import VALID_HOOK_POINTS

from agent_nb.recording import Recorder
from agent_nb.views.html import esc
from agent_nb.widgets.debugger import BreakpointControls
from agent_nb.widgets.style import css, section_title

POINT_HINTS = {
    "before_run": "once, before step 0",
    "before_llm": "every step, before the LLM call",
    "before_tool": "before the tools of a step run",
    "after_tool": "after the tool results are added",
    "on_exit": "when the Agent is about to stop: a text reply, an exit tool, length or content_filter",
    "after_run": "once, at the end",
}


class HooksPanel(W.VBox):
    """Hook switches grouped by hook point.

    `toggles` maps `(point, name)` to its Checkbox; `on_change(point, name, enabled)` is called after a switch.

    Usage:
        >>> panel = HooksPanel(rec)
        >>> panel.toggles[("on_exit", "RequireToolHook")].value = False
        >>> rec.hook_config["on_exit"]
        {'RequireToolHook': False}
    """

    def __init__(
        self,
        recorder: Recorder,
        on_change: Callable[[str, str, bool], None] | None = None,
        on_swap: Callable[[str, str, Any], Any] | None = None,
        namespace: Callable[[], Mapping[str, Any]] | None = None,
        breaks: BreakpointControls | None = None,
    ) -> None:
        self.recorder = recorder
        self.breaks = breaks
        if breaks is not None:
            breaks.on_change = self._sync_dots
        self.dots: dict[tuple[str, str], W.ToggleButton] = {}
        self.on_change = on_change
        self.on_swap = on_swap
        self._namespace = namespace or _kernel_namespace
        self.swap_slot = W.Dropdown(description="slot", layout=W.Layout(width="98%"))
        self.swap_name = W.Text(placeholder="a hook in the kernel, e.g. new_hook", layout=W.Layout(width="98%"))
        self.swap_button = W.Button(description="Replay with it", tooltip="replay the shown run with this hook there")
        self.swap_status = W.HTML()
        self.swap_button.on_click(lambda _: self.swap())
        self.toggles: dict[tuple[str, str], W.Checkbox] = {}
        self._signature: tuple[tuple[str, str], ...] = ()
        self._syncing = False
        super().__init__(layout=W.Layout(width="100%", overflow="auto", max_height="640px"))
        css(self, "anb-hooks")
        self.sync()

    def _slots_signature(self) -> tuple[tuple[str, str], ...]:
        return tuple((s.point, s.name) for s in self.recorder.hook_slots)

    def sync(self) -> None:
        """Rebuild if the Recorder's slots changed; else set each switch from the slot (no callbacks fired).

        Usage:
            >>> panel = HooksPanel(rec)
            >>> rec.disable("before_llm", "inject_date"); panel.sync()
            >>> panel.toggles[("before_llm", "inject_date")].value
            False
        """
        signature = self._slots_signature()
        if signature != self._signature:
            self._build()
            return
        self._syncing = True
        try:
            for slot in self.recorder.hook_slots:
                box = self.toggles.get((slot.point, slot.name))
                if box is not None and box.value != slot.enabled:
                    box.value = slot.enabled
        finally:
            self._syncing = False
        if self.breaks is not None:
            self.breaks.sync()  # breakpoints cleared from code: the boxes and dots follow
        self._sync_dots()

    def _sync_dots(self) -> None:
        """Each dot as its breakpoint is (also cleared from code: `rec.clear_breakpoints()`)."""
        if self.breaks is None:
            return
        self._syncing = True
        try:
            for (point, name), dot in self.dots.items():
                on = self.breaks.is_set(("hook", point, name))
                if dot.value != on:
                    dot.value = on
                _paint(dot)
        finally:
            self._syncing = False

    def _build(self) -> None:
        self._signature = self._slots_signature()
        hooks = self.recorder.hooks
        children: list[W.Widget] = [
            section_title("Hooks", hint="switches apply to the next run, replay or fork"),
        ]
        self.toggles, self.dots = {}, {}
        for point in VALID_HOOK_POINTS:
            rows = hooks[hooks["point"] == point]
            if rows.empty:
                continue
            header = W.HTML(f'<b>{esc(point)}</b> <span class="anb-muted">{esc(POINT_HINTS.get(point, ""))}</span>')
            children.append(css(header, "anb-hook-point"))
            for row in rows.itertuples(index=False):
                box = W.Checkbox(
                    value=bool(row.enabled),
                    description=str(row.name),
                    indent=False,
                    tooltip=f"{point} / {row.name} ({row.type})",
                    layout=W.Layout(width="auto", margin="0 0 0 6px"),
                )
                css(box, "anb-hook-toggle", f"anb-hook-{point}")
                box.observe(self._switched(point, str(row.name)), names="value")
                self.toggles[(point, str(row.name))] = box
                children.append(self._row(point, str(row.name), box) if self.breaks is not None else box)
                doc = str(row.doc) if isinstance(row.doc, str) else ""
                if doc:
                    children.append(css(W.HTML(f'<div class="anb-hook-doc">{esc(doc)}</div>'), "anb-hook-doc"))
        if not self.toggles:
            children.append(
                W.HTML(
                    '<div class="anb-muted">This Agent has no hooks. Add one with '
                    "<code>wb.add_hook(point, hook)</code>.</div>"
                )
            )
        if self.toggles:
            self.swap_slot.options = [(f"{p} / {n}", (p, n)) for p, n in self.toggles]
            children += [
                section_title("Try new hook code", hint="in one slot, for one replay of the shown run"),
                self.swap_slot,
                self.swap_name,
                self.swap_button,
                self.swap_status,
            ]
        self.children = children

    def swap(self) -> Any:
        """Replay with the kernel object named in the text box in the chosen slot (what "Replay with it" does).

        Usage:
            >>> class NoDate:
            ...     def run(self, state): ...
            >>> panel = HooksPanel(rec, on_swap=lambda p, n, h: (p, n, type(h).__name__),
            ...                    namespace=lambda: {"new_hook": NoDate()})
            >>> panel.swap_slot.value = ("before_llm", "inject_date"); panel.swap_name.value = "new_hook"
            >>> panel.swap()
            ('before_llm', 'inject_date', 'NoDate')
            >>> panel.swap_name.value = "nothing_here"; panel.swap() is None, "not defined" in panel.swap_status.value
            (True, True)
        """
        name = self.swap_name.value.strip()
        hook = self._namespace().get(name) if name.isidentifier() else None
        if hook is None or not callable(getattr(hook, "run", None)):
            what = "is not defined in the kernel" if hook is None else "has no run(state): it is not a hook"
            self.swap_status.value = f'<span class="anb-error">{esc(name or "(empty)")} {what}</span>'
            return None
        point, slot = self.swap_slot.value
        self.swap_status.value = esc(f"replaying with {name} ({type(hook).__name__}) at {point} / {slot}")
        return self.on_swap(point, slot, hook) if self.on_swap is not None else None

    def _row(self, point: str, name: str, box: W.Checkbox) -> W.HBox:
        # Never shrunk by the scrolling sidebar (a flex column): the dot keeps its height and stays clickable.
        layout = W.Layout(flex="0 0 auto", min_height="26px", align_items="center", overflow="visible")
        return W.HBox([self._dot(point, name), box], layout=layout)

    def _dot(self, point: str, name: str) -> W.ToggleButton:
        assert self.breaks is not None
        dot = W.ToggleButton(
            value=self.breaks.is_set(("hook", point, name)),
            description="●",
            tooltip=f"pause before {point} / {name}",
            layout=W.Layout(width="22px", min_width="22px", height="22px", padding="0", margin="0 2px 0 0"),
        )
        css(dot, "anb-break-dot", f"anb-break-{point}")
        _paint(dot)

        def clicked(change: dict) -> None:
            if not self._syncing and self.breaks is not None:
                self.breaks.set(("hook", point, name), bool(change["new"]))
            _paint(dot)

        dot.observe(clicked, names="value")
        self.dots[(point, name)] = dot
        return dot

    def _switched(self, point: str, name: str) -> Callable[[dict], None]:
        def handler(change: dict) -> None:
            if self._syncing:
                return
            self.recorder.set_enabled(point, name, bool(change["new"]))
            if self.on_change is not None:
                self.on_change(point, name, bool(change["new"]))

        return handler


def _paint(dot: W.ToggleButton) -> None:
    # Red when set, faint when not: the gutter dot of a debugger.
    dot.button_style = "danger" if dot.value else ""
    dot.style.text_color = "white" if dot.value else "#bbb"
    if dot.value:
        dot.add_class("anb-break-on")
    else:
        dot.remove_class("anb-break-on")


def _kernel_namespace() -> Mapping[str, Any]:
    """The notebook's variables (IPython's user namespace), or nothing outside IPython."""
    from IPython import get_ipython  # installed with ipywidgets

    shell = get_ipython()
    return shell.user_ns if shell is not None else {}
