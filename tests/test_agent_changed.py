"""`changed` lists what the event itself changed; `agent_changed` what the Agent's own bookkeeping did."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agent_nb import Recorder, Run, demo_agent
from agent_nb.export import read_parquet, to_parquet
from agent_nb.recording import TIMELINE_SCHEMA
from agent_nb.recording.events import AGENT_KEYS, fill_agent_changed

DEMO = "What is 2 + 3, and the weather in Paris?"


@pytest.fixture(scope="module")
def run() -> Run:
    return Recorder(demo_agent()).run(DEMO)


def rows(run: Run) -> list[dict]:
    return run.timeline[["seq", "kind", "name", "summary", "changed", "agent_changed"]].to_dict("records")


def test_the_column_is_declared_in_the_one_schema() -> None:
    names = [c.name for c in TIMELINE_SCHEMA]
    assert names[names.index("changed") + 1] == "agent_changed"


def test_llm_and_tool_rows_list_only_what_the_call_changed(run: Run) -> None:
    for row in rows(run):
        if row["kind"] != "hook":
            assert row["changed"] == ["messages"], row  # the reply, or the tool's result message
            assert set(row["agent_changed"]) <= AGENT_KEYS
    llm = [r for r in rows(run) if r["kind"] == "llm"]
    assert {"token_usage", "context_tokens"} <= set(llm[0]["agent_changed"])
    assert "step_count" not in {k for r in rows(run) for k in r["changed"]}


def test_a_hook_that_touches_nothing_shows_nothing_changed(run: Run) -> None:
    quiet = [r for r in rows(run) if r["kind"] == "hook" and r["summary"] == "no change"]
    assert quiet and all(r["changed"] == [] for r in quiet)
    # The first hook after RequireToolHook kept the Agent running: haystack reset continue_run before it ran.
    after_continue = [r for r in rows(run) if r["kind"] == "hook" and r["agent_changed"]]
    assert [(r["name"], r["changed"], r["agent_changed"]) for r in after_continue] == [
        ("inject_date", [], ["continue_run"])
    ]


def test_no_key_is_credited_to_both_the_event_and_the_agent(run: Run) -> None:
    for event in run.events:
        own, agent = set(event.changed), set(event.agent_changed)
        assert not own & agent


def test_a_saved_run_reads_the_same_and_the_file_has_no_new_field(run: Run, tmp_path) -> None:
    path = run.save(tmp_path / "run.json")
    text = Path(path).read_text(encoding="utf-8")
    assert "agent_changed" not in text  # derived from the snapshots on load: the format is unchanged
    loaded = Run.load(path)
    assert rows(loaded) == rows(run)


def test_a_file_saved_before_the_split_loads_with_the_bookkeeping_apart(run: Run, tmp_path) -> None:
    doc = json.loads(Path(run.save(tmp_path / "run.json")).read_text(encoding="utf-8"))
    for event in doc["run"]["events"]:  # as older versions wrote them: bookkeeping keys in `changed`
        if event["kind"] == "llm":
            event["changed"] = ["messages", "token_usage", "context_tokens"]
    old = tmp_path / "old.json.gz"
    with gzip.open(old, "wt", encoding="utf-8") as fh:
        json.dump(doc, fh)
    loaded = Run.load(old)
    llm = loaded.timeline.query("kind == 'llm'")
    assert llm["changed"].map(list).tolist() == [["messages"]] * len(llm)
    assert all({"token_usage", "context_tokens"} <= set(keys) for keys in llm["agent_changed"])


def test_event_by_event_reads_agree_with_the_timeline() -> None:
    run = Recorder(demo_agent()).run(DEMO)
    fill_agent_changed(run.events)
    assert [e.agent_changed for e in run.events] == run.timeline["agent_changed"].tolist()
    assert [e.row()["agent_changed"] for e in run.events] == run.timeline["agent_changed"].tolist()


def test_datasets_and_opentelemetry_carry_both_columns(run: Run, tmp_path) -> None:
    to_parquet(run, tmp_path)
    frame = read_parquet(tmp_path)
    assert frame["agent_changed"].map(list).tolist() == run.timeline["agent_changed"].tolist()

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    run.to_otel(provider)
    spans = {s.attributes.get("agent_nb.event.seq"): s for s in exporter.get_finished_spans()}
    llm_seq = int(run.timeline.query("kind == 'llm'")["seq"].iloc[0])
    attrs = spans[llm_seq].attributes
    assert list(attrs["agent_nb.event.changed"]) == ["messages"]
    assert {"token_usage", "context_tokens"} <= set(attrs["agent_nb.event.agent_changed"])


def test_the_trace_views_rows_carry_both_columns(run: Run) -> None:
    from agent_nb.widgets.trace_data import columns

    data = columns(run)
    frame = run.timeline
    assert data["changed"] == [", ".join(keys) for keys in frame["changed"]]
    assert data["agent_changed"] == [", ".join(keys) for keys in frame["agent_changed"]]


def test_a_live_view_gets_the_same_rows_as_the_finished_run() -> None:
    from agent_nb.widgets.trace_view import TraceView

    rec = Recorder(demo_agent())
    view = TraceView()
    seen: list[int] = []

    def listener(run: Run, event) -> None:  # the view refreshed at each event, as a live Workbench does
        if view.run is not run:
            view.show_run(run)
        view.refresh()
        seen.append(len(run.events))

    rec.subscribe(listener)
    run = rec.run(DEMO)
    view.refresh()
    assert seen and view.data["agent_changed"] == [", ".join(k) for k in run.timeline["agent_changed"]]


def test_the_report_shows_both_columns_and_the_event_block_says_what_the_agent_changed(run: Run) -> None:
    import html
    import re

    from agent_nb.views.report import run_report

    page = run_report(run)
    table = page[page.index("<h2>Timeline</h2>") :]
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", table[: table.index("</tr>")])
    assert heads[heads.index("changed") + 1] == "agent changed"
    llm = run.timeline.query("kind == 'llm'").iloc[0]
    row = re.search(rf'<tr [^>]*data-seq="{llm.seq}">.*?</tr>', table, re.S).group(0)
    cells = [html.unescape(c) for c in re.findall(r'<td class="anb-text">([^<]*)</td>', row)]
    assert cells == [", ".join(llm.changed), ", ".join(llm.agent_changed)]
    assert cells == ["messages", "token_usage, context_tokens"]
    # The event's own block in the report: the Agent's bookkeeping on its own line.
    block = page[page.index(f'<details id="ev-{llm.seq}">') :]
    assert "<th>agent changed</th><td>token_usage, context_tokens</td>" in block[: block.index("</details>")]


def test_the_widgets_detail_pane_shows_both(run: Run) -> None:
    from agent_nb.widgets.trace_data import event_detail

    llm = run.timeline.query("kind == 'llm'").iloc[0]
    fields = dict(event_detail(run, int(llm.seq))["fields"])
    assert fields["changed"] == "messages"
    assert fields["agent changed"] == ", ".join(llm.agent_changed)
    quiet = next(e for e in run.events if e.kind == "hook" and not e.changed and not e.agent_changed)
    assert not {"changed", "agent changed"} & set(dict(event_detail(run, quiet.seq)["fields"]))
