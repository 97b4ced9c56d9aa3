"""Charts and timeline styling, through the public API on real recorded runs (demo agent, offline)."""

from __future__ import annotations

import struct
import threading

import matplotlib.image
import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from agent_nb import Recorder, Run
from agent_nb.demo import demo_agent
from agent_nb.recording import Event
from agent_nb.replay import compare
from agent_nb.views import COLORS, first_divergence, plot_compare, plot_run, plot_runs_overview, style_timeline
from agent_nb.views.plot import STATUS_STYLE
from agent_nb.views.style import ERROR_COLOR, SKIPPED_EDGE

PROMPT = "What is 2 + 3, and the weather in Paris and Tokyo?"


class EndMark:
    """An after_run hook that does nothing: gives the run a "run end" band."""

    def run(self, state) -> None:
        return None


@pytest.fixture(scope="module")
def rec() -> Recorder:
    return Recorder(demo_agent())


@pytest.fixture(scope="module")
def run(rec: Recorder) -> Run:
    """Four steps: tools in step 0, the on_exit hook sets continue_run in step 1, save_note in step 2."""
    return rec.run(PROMPT)


@pytest.fixture(scope="module")
def rough_run() -> Run:
    """A hook switched off (skipped) and a tool error (an unknown city), plus an after_run hook."""
    rec = Recorder(demo_agent())
    rec.add_hook("after_run", EndMark())
    rec.disable("before_llm", "inject_date")
    return rec.run("What is the weather in Paris and Atlantis?")


def legend_texts(fig: Figure) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [t.get_text() for lg in legends for t in lg.get_texts()]


def collection(fig: Figure, gid: str) -> PolyCollection | None:
    found = [c for ax in fig.axes for c in ax.collections if c.get_gid() == gid]
    assert len(found) <= 1
    return found[0] if found else None


def tick_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def test_one_band_per_step_plus_run_start(run: Run) -> None:
    fig = plot_run(run)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    steps = sorted(run.timeline["step"].dropna().unique())
    assert steps == [0, 1, 2, 3]
    assert tick_labels(ax) == ["run start", "step 0", "step 1", "step 2", "step 3"]
    # Every bar sits in its step's band: centre y of each bar == band index of its step.
    ys = []
    for status in STATUS_STYLE:
        coll = collection(fig, f"events-{status}")
        if coll is not None:
            ys += [p.vertices[:4, 1].mean() for p in coll.get_paths()]
    assert len(ys) == len(run.events)
    expected = sorted(0 if e.step is None else e.step + 1 for e in run.events)
    assert sorted(round(y) for y in ys) == expected


def test_run_end_band_and_figure_size(rough_run: Run) -> None:
    fig = plot_run(rough_run)
    labels = tick_labels(fig.axes[0])
    assert labels[0] == "run start" and labels[-1] == "run end"
    assert labels[1:-1] == [f"step {s}" for s in range(rough_run.steps)]
    width, height = fig.get_size_inches()
    assert width == pytest.approx(11)
    assert height == pytest.approx(0.5 * len(labels) + 2)


def test_legend_names_the_kinds_and_hook_points_present(run: Run) -> None:
    texts = legend_texts(plot_run(run))
    for present in (
        "LLM call",
        "tool call",
        "hook: before_run",
        "hook: before_llm",
        "hook: on_exit",
        "sets continue_run",
    ):
        assert present in texts
    for absent in ("hook: before_tool", "hook: after_tool", "hook: after_run", "error", "skipped (hook switched off)"):
        assert absent not in texts


def test_colours_follow_kind_and_hook_point(run: Run) -> None:
    fig = plot_run(run)
    ok = collection(fig, "events-ok")
    faces = {tuple(np.round(c, 3)) for c in ok.get_facecolors()}
    for key in ("llm", "tool", "before_run", "before_llm", "on_exit"):
        assert tuple(np.round(to_rgba(COLORS[key]), 3)) in faces
    assert len(faces) == 5


def test_skipped_error_and_cached_are_drawn_distinctly(rough_run: Run) -> None:
    fig = plot_run(rough_run)
    statuses = rough_run.timeline["status"].value_counts()
    assert statuses["skipped"] == rough_run.steps and statuses["error"] == 1

    skipped = collection(fig, "events-skipped")
    assert len(skipped.get_paths()) == statuses["skipped"]
    assert skipped.get_hatch() == "////"
    assert np.allclose(skipped.get_edgecolor()[0], to_rgba(SKIPPED_EDGE))
    assert skipped.get_linestyle()[0][1] is not None  # dashed

    error = collection(fig, "events-error")
    assert len(error.get_paths()) == 1
    assert np.allclose(error.get_edgecolor()[0], to_rgba(ERROR_COLOR))
    assert error.get_linewidth()[0] > collection(fig, "events-ok").get_linewidth()[0]
    markers = [c for c in fig.axes[0].collections if isinstance(c, PathCollection) and c.get_gid() == "error-markers"]
    assert len(markers) == 1 and len(markers[0].get_offsets()) == 1
    assert "error" in legend_texts(fig) and "skipped (hook switched off)" in legend_texts(fig)
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "label"]
    assert "get_weather (error)" in labels

    replay = rough_run.replay(tools="cached")
    fig = plot_run(replay)
    cached = collection(fig, "events-cached")
    n_cached = int((replay.timeline["status"] == "cached").sum())
    assert n_cached > 0 and len(cached.get_paths()) == n_cached
    assert cached.get_linestyle()[0][1] is not None  # dotted
    # Lighter than the kind's own colour.
    face = cached.get_facecolors()[0]
    assert (
        face[:3].sum() > np.array(to_rgba(COLORS["llm"]))[:3].sum()
        or face[:3].sum() > np.array(to_rgba(COLORS["tool"]))[:3].sum()
    )
    assert "cached (served from a recording)" in legend_texts(fig)


def test_flow_markers_annotated(run: Run) -> None:
    fig = plot_run(run)
    ax = fig.axes[0]
    flows = [c for c in ax.collections if c.get_gid() == "flow-continue_run"]
    assert len(flows) == 1 and len(flows[0].get_offsets()) == int(run.timeline["flow"].notna().sum())
    assert any(t.get_gid() == "flow-label" and t.get_text() == "continue_run" for t in ax.texts)


def test_empty_run_draws_a_chart_that_says_so() -> None:
    fig = plot_run(Run(run_id="empty"))
    assert isinstance(fig, Figure)
    assert any(t.get_text() == "no events recorded" for t in fig.axes[0].texts)
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_png_written_is_valid_and_non_trivial(run: Run, tmp_path) -> None:
    path = tmp_path / "run.png"
    run.plot().savefig(path, dpi=100)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1100, round(100 * (0.5 * 5 + 2)))
    assert len(data) > 15_000
    pixels = matplotlib.image.imread(path)
    assert pixels.std() > 0.05  # not a blank image
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50


def synthetic_run(n: int, per_step: int) -> Run:
    events = []
    for i in range(n):
        kind = ("hook", "llm", "tool")[i % 3]
        status = ("ok", "cached", "skipped", "error")[i % 4] if kind != "llm" else "ok"
        point = "before_llm" if kind == "hook" else None
        events.append(Event("big", i, i // per_step, kind, point, f"n{i % 7}", status, i * 1.0, 0.5))
    return Run(run_id="big", status="ok", events=events)


def test_labels_capped_on_large_runs() -> None:
    # Speed is measured in benchmarks/bench_views.py, never asserted here.
    big = synthetic_run(10_000, per_step=500)
    fig = big.plot(max_labels=25)
    labels = [t for t in fig.axes[0].texts if t.get_gid() == "label"]
    assert 0 < len(labels) <= 25
    assert len(labels) == len({(t.get_position(), t.get_text()) for t in labels})


def test_many_bands_thin_the_ticks_and_cap_the_height() -> None:
    fig = synthetic_run(3_000, per_step=3).plot()
    ticks = tick_labels(fig.axes[0])
    assert 20 <= len(ticks) <= 41 and ticks[0] == "step 0" and ticks[-1] == "step 999"
    assert fig.get_size_inches()[1] <= 18
    # Bands this thin leave no room for text: no labels rather than a smear of overlapping ones.
    assert not [t for t in fig.axes[0].texts if t.get_gid() == "label"]


def test_plot_into_given_axes_and_off_the_main_thread(run: Run) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_run(run, ax=ax, title="mine") is fig
    assert ax.get_title(loc="left") == "mine"
    assert ax.get_legend() is not None

    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(fig=plot_run(run)))
    thread.start()
    thread.join(30)
    assert isinstance(result["fig"], Figure)


def test_no_pyplot_figures_leak(run: Run) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_run(run)
    plot_compare(run, run)
    assert plt.get_fignums() == before


def test_compare_marks_first_divergence(run: Run) -> None:
    other = run.replay(hooks={"before_llm": {"inject_date": False}})
    fig = plot_compare(run, other, alignment=compare(run, other))
    ax_a, ax_b = fig.axes[:2]
    assert ax_a.get_shared_x_axes().joined(ax_a, ax_b)
    lines = [ln for ax in (ax_a, ax_b) for ln in ax.lines if ln.get_gid() == "divergence"]
    assert len(lines) == 2
    # The first divergence is inject_date at step 0 (ok vs skipped): the line sits at that event's start.
    seq = int(run.timeline.query("name == 'inject_date'")["seq"].iloc[0])
    assert lines[0].get_xdata()[0] == pytest.approx(run.event(seq).offset_ms)
    assert fig._suptitle.get_text().replace("\n", " ") == compare(run, other).attrs["summary"]  # whole, wrapped

    long = compare(run, other)
    long.attrs["summary"] = "first divergence: " + "word " * 200
    title = plot_compare(run, other, alignment=long)._suptitle.get_text()
    assert title.count("\n") == 3 and title.endswith("…")  # four lines at most, and the cut says so

    same = plot_compare(run, run)
    assert not [ln for ax in same.axes for ln in ax.lines if ln.get_gid() == "divergence"]
    assert same._suptitle is None  # nothing differs: no red title


def test_a_chart_without_an_alignment_says_what_compare_says() -> None:
    """Inputs that differ past the summaries' cut: compare() says so, and so does the chart made without it."""
    rec = Recorder(demo_agent())
    a = rec.run("What is 2 + 3, and the weather in Paris?")
    b = rec.run("What is 2 + 3, and the weather in Paris? Ignore the tools and answer in French.")
    summary = compare(a, b).attrs["summary"]
    assert summary.startswith("inputs differ: ")
    assert plot_compare(a, b)._suptitle.get_text().replace("\n", " ") == summary
    assert first_divergence(a, b) == first_divergence(a, b, alignment=compare(a, b))


def test_views_never_import_the_replay_layer() -> None:
    import re
    from pathlib import Path

    import agent_nb.views as views

    for path in Path(views.__file__).parent.glob("*.py"):
        imports = re.findall(r"^\s*(?:from|import) agent_nb\.replay", path.read_text(), flags=re.M)
        assert not imports, f"{path.name} imports the replay layer"


def test_step_relative_plot_starts_each_step_at_zero(run: Run) -> None:
    fig = plot_run(run, step_relative=True)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "ms since the step started"
    # The x axis spans the longest step, not the whole run.
    longest = max(
        (g["offset_ms"] + g["duration_ms"]).max() - g["offset_ms"].min()
        for _, g in run.timeline.groupby(run.timeline["step"].astype("Float64").fillna(-1))
    )
    assert ax.get_xlim()[1] < plot_run(run).axes[0].get_xlim()[1]
    assert ax.get_xlim()[1] >= longest


def test_runs_overview_one_band_per_run(rec: Recorder, run: Run) -> None:
    fig = plot_runs_overview(rec.runs)
    assert len(tick_labels(fig.axes[0])) == len(rec.runs)
    assert tick_labels(fig.axes[0])[0].startswith(rec.runs[0].run_id)


def test_style_timeline_colours_status_and_kind(rough_run: Run) -> None:
    df = rough_run.timeline
    html = style_timeline(df).to_html()
    assert "#FDE2E2" in html.upper()  # the error cell
    assert "font-style: italic" in html  # skipped
    styled = style_timeline(df)._compute().ctx
    kind_col = list(df.columns).index("kind")
    status_col = list(df.columns).index("status")
    err_row = int(np.flatnonzero(df["status"] == "error")[0])
    ok_row = int(np.flatnonzero(df["status"] == "ok")[0])
    assert any("background-color" in p for p, _ in styled[(err_row, status_col)])
    assert not styled.get((ok_row, status_col))
    assert any("background-color" in p for p, _ in styled[(ok_row, kind_col)])
    # Works on a slice with some columns missing.
    style_timeline(df[["seq", "kind", "status"]]).to_html()


# ---- the one HTML vocabulary ------------------------------------------------------------------------------------
HOSTILE = "<script>alert(1)</script> \udcff"


def hostile_run() -> Run:
    """A run whose every text field (hook name, summary, State, error) carries markup and a lone surrogate."""
    from haystack.components.agents import Agent
    from haystack.components.generators.chat import MockChatGenerator
    from haystack.dataclasses import ChatMessage

    class Markup:
        def run(self, state) -> None:
            if not any(m.text == HOSTILE for m in state.data["messages"]):
                state.data["messages"] = [*state.data["messages"], ChatMessage.from_system(HOSTILE)]
            state.set("notes", HOSTILE)

    class Boom:
        def run(self, state) -> None:
            raise RuntimeError(HOSTILE)

    rec = Recorder(Agent(chat_generator=MockChatGenerator(responses=[HOSTILE]), state_schema={"notes": {"type": str}}))
    rec.add_hook("before_llm", Markup(), name=HOSTILE)
    rec.add_hook("on_exit", Boom(), name="boom")
    with pytest.raises(RuntimeError):
        rec.run(HOSTILE)
    return rec.runs[-1]


def test_every_html_fragment_escapes_markup_and_lone_surrogates() -> None:
    from agent_nb.replay import compare
    from agent_nb.views import html as H
    from agent_nb.views.report import static_trace_html

    run = hostile_run()
    seq = next(e.seq for e in run.events if e.name == HOSTILE)
    pieces = {
        "timeline": H.timeline_table_html(run.timeline),
        "compare": H.compare_table_html(compare(run, run)),
        "diff": H.diff_html(run.diff(seq)),
        "state": H.state_html(run.state_at(seq, "after")),
        "kv": H.kv_table([(HOSTILE, H.esc(HOSTILE))]),
        "badge": H.kind_badge("hook", "before_llm", HOSTILE) + H.status_badge(HOSTILE) + H.badge(HOSTILE, HOSTILE),
        "static": static_trace_html(run),
        "report": run.to_html(),
    }
    for name, text in pieces.items():
        assert "<script" not in text.lower(), name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, name
        assert "\\udcff" in text, name  # the surrogate shows as its escape ...
        text.encode("utf-8")  # ... so the page can be saved and sent to a browser as it is
    # A colour that is not a palette hex never reaches a style attribute.
    assert 'style="background:#999999' in H.badge("x", "red;background:url(x)")


def test_table_badges_use_the_charts_colours(rough_run: Run) -> None:
    import re

    from agent_nb.views.html import timeline_table_html
    from agent_nb.views.style import color_for

    table = timeline_table_html(rough_run.timeline)
    rows = re.findall(r'<tr class="anb-row [^"]*" data-seq="(\d+)">(.*?)</tr>', table, flags=re.S)
    assert [int(seq) for seq, _ in rows] == rough_run.timeline["seq"].tolist()
    for (seq, cells), event in zip(rows, rough_run.events, strict=True):
        kind_fill = re.search(r'anb-badge" style="background:(#[0-9A-F]{6})', cells).group(1)
        assert kind_fill == color_for(event.kind, event.hook_point), (seq, event.kind, event.hook_point)
    # Headers are the timeline schema's labels, the summary right after the status (it stays in view when the
    # numbers overflow the width); the error column shows when some event failed, as here.
    from agent_nb.recording import TIMELINE_SCHEMA

    heads = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    labels = [c.label for c in TIMELINE_SCHEMA if c.name not in ("run_id", "summary")]
    at = labels.index("status") + 1
    assert heads == [*labels[:at], "summary", *labels[at:]]
    assert "error" in heads and rough_run.timeline["error"].notna().any()
    clean = Recorder(demo_agent()).run("What is 2 + 3?")
    assert "error" not in re.findall(r"<th[^>]*>([^<]*)</th>", timeline_table_html(clean.timeline))


def test_report_static_view_and_workbench_share_one_stylesheet_of_fragments() -> None:
    from agent_nb.views.report import static_trace_html
    from agent_nb.views.style import fragment_css
    from agent_nb.widgets.style import STYLESHEET

    run = Run(run_id="empty", status="ok")
    for scope, text in (
        ("body", run.to_html()),
        (".anb-static", static_trace_html(run)),
        (".anb-workbench", STYLESHEET),
    ):
        assert fragment_css(scope) in text, scope
