"""A standalone page that runs the trace view's ES module without Jupyter (for browser tests and benchmarks).

The page holds a small stand-in for the anywidget model (`get`, `set`, `on`, `save_changes`) filled with the
view's traits; with Playwright, `attach(page, view)` answers the frontend's `selected` with the detail built
in Python, exactly the round trip the kernel makes.

Usage:
    >>> from agent_nb.widgets.trace_view import TraceView
    >>> page = standalone_html(TraceView())   # the module travels as text and is imported from a blob URL
    >>> 'id="esm"' in page and "export default" in page
    True
"""

from __future__ import annotations

import json
from typing import Any

from agent_nb.widgets.trace_view import TraceView

_TRAITS = ("data", "delta", "meta", "palette", "selected", "detail", "mode", "brush", "search", "matches", "kinds",
           "zoom", "height")  # fmt: skip

_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>{css}
body {{ margin: 0; padding: 8px; background: var(--jp-layout-color0, #fff); }}
body.dark {{ --jp-layout-color0: #111; --jp-layout-color1: #1e1e1e; --jp-layout-color2: #2b2b2b;
  --jp-ui-font-color1: #e8e8e8; --jp-ui-font-color2: #a8a8a8; --jp-border-color2: #3a3a3a; }}
</style></head><body class="{theme}"><div id="root"></div>
<script id="state" type="application/json">{state}</script>
<script id="esm" type="text/plain">{esm}</script>
<script type="module">
class Model {{
  constructor(state) {{ this.s = state; this.h = {{}}; }}
  get(k) {{ return this.s[k]; }}
  set(k, v) {{ this.s[k] = v; (this.h["change:" + k] || []).forEach((f) => f()); }}
  on(ev, f) {{ (this.h[ev] = this.h[ev] || []).push(f); }}
  off() {{}}
  save_changes() {{}}
  send(msg) {{ (window.anbSent = window.anbSent || []).push(msg); }}
}}
const state = JSON.parse(document.getElementById("state").textContent);
const model = new Model(state);
window.anbModel = model;
model.on("change:selected", async () => {{
  if (window.pyDetail) model.set("detail", await window.pyDetail(model.get("selected")));
}});
model.on("change:search", async () => {{
  if (window.pySearch) model.set("matches", await window.pySearch(model.get("search")));
}});
const src = document.getElementById("esm").textContent;
const url = URL.createObjectURL(new Blob([src], {{ type: "text/javascript" }}));
const t0 = performance.now();
const mod = await import(url);
mod.default.render({{ model, el: document.getElementById("root") }});
window.anbRenderMs = performance.now() - t0;
window.anbReady = true;
</script></body></html>"""


def state_of(view: TraceView) -> dict[str, Any]:
    """The traits the frontend reads, as plain JSON-able values.

    Usage:
        >>> sorted(state_of(TraceView()))[:3]
        ['brush', 'data', 'delta']
    """
    return {name: getattr(view, name) for name in _TRAITS}


def standalone_html(view: TraceView, *, theme: str = "light") -> str:
    """One HTML page with the view's current state and its ES module and stylesheet.

    Usage:
        >>> "anbReady" in standalone_html(TraceView(), theme="dark")
        True
    """
    esm = TraceView._esm if isinstance(TraceView._esm, str) else str(TraceView._esm)
    css = TraceView._css if isinstance(TraceView._css, str) else str(TraceView._css)
    state = json.dumps(state_of(view)).replace("</", "<\\/")
    return _PAGE.format(css=css, esm=esm.replace("</script", "<\\/script"), state=state,
                        theme="dark" if theme == "dark" else "")  # fmt: skip


def attach(page: Any, view: TraceView, *, theme: str = "light") -> None:
    """Load the view into a Playwright `page`, with `selected` answered by `view` (as the kernel would).

    Usage:
        >>> class Page:   # stands in for a Playwright page here: records what `attach` asks of it
        ...     def expose_function(self, name, fn): self.exposed[name] = fn
        ...     def set_content(self, html): self.html = html
        ...     def wait_for_function(self, expression): self.awaited = expression
        >>> page = Page(); page.exposed = {}; attach(page, TraceView(run))
        >>> sorted(page.exposed), "anbReady" in page.html, page.awaited
        (['pyDetail', 'pySearch'], True, 'window.anbReady === true')
        >>> page.exposed["pyDetail"](3)["title"]   # what the page's pyDetail(3) gets: the detail of event 3
        '#3 llm ScriptedChatGenerator'
    """

    def detail(seq: int) -> dict[str, Any]:
        view.selected = int(seq)
        return view.detail

    def search(text: str) -> dict[str, Any]:
        view.search = str(text)
        return view.matches

    page.expose_function("pyDetail", detail)
    page.expose_function("pySearch", search)
    page.set_content(standalone_html(view, theme=theme))
    page.wait_for_function("window.anbReady === true")


def push(page: Any, view: TraceView, *names: str) -> None:
    """Send traits of `view` to the page's model (as the kernel sends a change), in the order given.

    Usage:
        >>> class Page:
        ...     def evaluate(self, script, arg): self.sent = arg
        >>> page = Page(); push(page, TraceView(), "meta"); page.sent[0][0]
        'meta'
    """
    page.evaluate("(pairs) => { for (const [k, v] of pairs) window.anbModel.set(k, v); }",
                  [[name, getattr(view, name)] for name in names])  # fmt: skip


def synthetic_run(steps: int = 2000, *, run_id: str = "synth") -> Any:
    """A finished Run of `steps` steps (4 events each: before_llm hook, LLM call, tool call, after_tool hook),
    with States, some errors, switched-off hooks, cached replies and run-control flows; built in well under a
    second (a 2,000-step demo-agent run takes far longer to record).

    Usage:
        >>> run = synthetic_run(3)
        >>> len(run.events), run.event(2).kind
        (14, 'llm')
    """
    from haystack.dataclasses import ChatMessage

    from agent_nb.recording import Event, Run

    run = Run(run_id=run_id, status="ok", result={"exit_reason": "text"})
    events = run.events
    messages = [ChatMessage.from_user("Count the sheep, one tool call per step.")]
    t = 0.0

    def add(step: int | None, kind: str, point: str | None, name: str, dur: float, **kw: Any) -> Event:
        nonlocal t
        state = {"messages": messages[-6:], "step_count": step or 0}
        ev = Event(run_id, len(events), step, kind, point, name, kw.pop("status", "ok"), t, dur, **kw)
        ev.before, ev.after = state, {"messages": messages[-6:], "step_count": step or 0}
        events.append(ev)
        t += dur + 0.05
        return ev

    add(None, "hook", "before_run", "memory", 0.3, summary="+system: memories")
    for s in range(steps):
        status = "skipped" if s % 50 == 7 else "ok"
        add(s, "hook", "before_llm", "inject_date", 0.0 if status == "skipped" else 0.2, status=status,
            summary="" if status == "skipped" else "+system: Today is Monday")  # fmt: skip
        ev = add(s, "llm", None, "ScriptedChatGenerator", 1.5 + (s % 7) * 0.3,
                 status="cached" if s % 10 == 3 else "ok", prompt_tokens=40 + s, completion_tokens=8,
                 summary=f"assistant: count(n={s})")  # fmt: skip
        ev.detail = {"replies": [ChatMessage.from_assistant(f"count(n={s})")], "tool_names": ["count"]}
        messages.append(ChatMessage.from_assistant(f"count(n={s})"))
        error = "ValueError: the sheep ran away" if s % 97 == 41 else None
        ev = add(s, "tool", None, "count", 0.4, status="error" if error else "ok", error=error,
                 summary=f"count(n={s}) -> {'raised ' + error if error else s + 1}")  # fmt: skip
        ev.detail = {"arguments": {"n": s}, "result": None if error else s + 1}
        messages.append(ChatMessage.from_user(f"result {s + 1}"))
        add(s, "hook", "after_tool", "budget", 0.1, flow="continue_run" if s < steps - 1 else "stop_run:done",
            summary="continue" if s < steps - 1 else "stop")  # fmt: skip
    add(None, "hook", "after_run", "audit", 0.2, summary="logged")
    run.duration_ms = t
    for s in range(steps):
        run.step_starts[s] = {}
    return run


__all__ = ["attach", "push", "standalone_html", "state_of", "synthetic_run"]
