"""The HTML report: self-contained, offline, every recorded string escaped; through the public API."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.tools import tool

from agent_nb import Recorder, Run
from agent_nb.demo import demo_agent
from agent_nb.views import run_report

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
BOLD_HOOK = "<b>bold</b>"


@tool
def evil(query: str) -> str:
    """Returns hostile markup, as a compromised web page might."""
    return f"{SCRIPT} and {IMG}"


class Marker:
    """A hook that leaves a hostile string in the conversation."""

    def run(self, state: State) -> None:
        msgs = state.data["messages"]
        if not any(m.text == f"note {IMG}" for m in msgs):
            state.data["messages"] = [*msgs, ChatMessage.from_system(f"note {IMG}")]


@pytest.fixture(scope="module")
def hostile() -> tuple[Recorder, Run]:
    gen = MockChatGenerator(
        responses=[
            ChatMessage.from_assistant(tool_calls=[ToolCall(tool_name="evil", arguments={"query": SCRIPT})]),
            f"Done. {SCRIPT}",
        ]
    )
    rec = Recorder(Agent(chat_generator=gen, tools=[evil]))
    rec.add_hook("before_llm", Marker(), name=BOLD_HOOK)
    return rec, rec.run(f"Search for {SCRIPT}")


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def tags_of(text: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = TagCollector()
    parser.feed(text)
    return parser.tags


def test_hostile_content_is_escaped_never_live(hostile: tuple[Recorder, Run]) -> None:
    _, run = hostile
    text = run_report(run)
    # The content is there, as text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text
    # ... and never as markup.
    assert "<script" not in text.lower()
    assert BOLD_HOOK not in text and IMG not in text
    tags = tags_of(text)
    assert not [t for t, _ in tags if t in {"script", "iframe", "object", "embed", "link", "base", "form"}]
    assert not [(t, a) for t, attrs in tags for a, _ in attrs if a.lower().startswith("on")]
    imgs = [dict(attrs) for t, attrs in tags if t == "img"]
    assert len(imgs) == 1 and imgs[0]["src"].startswith("data:image/png;base64,")
    bold_texts = re.findall(r"<b>([^<]*)</b>", text)
    assert "bold" not in bold_texts


def test_report_is_self_contained_and_offline(hostile: tuple[Recorder, Run], tmp_path) -> None:
    _, run = hostile
    path = tmp_path / "report.html"
    text = run_report(run, path)
    assert path.read_text(encoding="utf-8") == text
    lowered = text.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "<script" not in lowered and "@import" not in lowered and "url(" not in lowered
    assert "content-security-policy" in lowered and "default-src 'none'" in lowered
    for tag, attrs in tags_of(text):
        for name, value in attrs:
            if name in {"src", "href"}:
                assert value.startswith(("data:image/png;base64,", "#")), (tag, name, value[:40])
    src = next(dict(a)["src"] for t, a in tags_of(text) if t == "img")
    png = base64.b64decode(src.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert not [p for p in tmp_path.iterdir() if p.name != "report.html"]  # the temp file was moved into place


def test_report_has_every_timeline_row_and_its_diff() -> None:
    rec = Recorder(demo_agent())
    rec.disable("before_llm", "inject_user_profile")
    run = rec.run("What is 2 + 3, and the weather in Paris and Tokyo?")
    text = run.to_html()
    table = text[text.index("<h2>Timeline</h2>") : text.index("<h2>State changes per event</h2>")]
    assert table.count('<tr class="anb-row ') == len(run.events)
    assert table.count("anb-status-skipped") == int((run.timeline["status"] == "skipped").sum()) > 0
    for event in run.events:
        assert f'<a href="#ev-{event.seq}">{event.seq}</a>' in table
    # One foldable diff per event, with what the event changed.
    diffs = text[text.index("<h2>State changes per event</h2>") : text.index("<h2>Lineage</h2>")]
    blocks = re.findall(r'<details id="ev-(\d+)"[^>]*>(.*?)</details>', diffs, flags=re.S)
    assert [int(seq) for seq, _ in blocks] == [e.seq for e in run.events]
    by_seq = dict((int(seq), body) for seq, body in blocks)
    date_seq = int(run.timeline.query("name == 'inject_date'")["seq"].iloc[0])
    assert "+ system[" in by_seq[date_seq] and "Today is" in by_seq[date_seq]
    llm_seq = int(run.timeline.query("kind == 'llm'")["seq"].iloc[0])
    assert "token_usage" in by_seq[llm_seq] and "+ assistant[" in by_seq[llm_seq]
    flow_seq = int(run.timeline.dropna(subset=["flow"])["seq"].iloc[0])
    assert "run control: continue_run" in by_seq[flow_seq]
    # Summary header.
    head = text[: text.index("<h2>Hooks</h2>")]
    for needle in (run.run_id, "exit reason", "text", "tokens", str(run.usage["prompt_tokens"]), "duration"):
        assert needle in head


def test_lineage_lists_the_recorders_runs() -> None:
    rec = Recorder(demo_agent())
    run = rec.run("What is 2 + 3?")
    fork = run.fork(step=1, edit={"user_profile": {"name": "Ada"}})
    text = run_report(fork)
    lineage = text[text.index("<h2>Lineage</h2>") :]
    assert run.run_id in lineage and fork.run_id in lineage
    assert '<tr class="anb-current">' in lineage and "└ " in lineage
    assert f"fork of {run.run_id} at step 1" in text
    # An explicit `runs` wins over the recorder's, and a run without either says it is an original.
    only = run_report(run, runs=[run])
    assert fork.run_id not in only[only.index("<h2>Lineage</h2>") :]
    alone = Run(run_id="solo", status="ok")
    assert "An original run" in run_report(alone)


def test_lineage_shows_unknown_tokens_as_unknown_and_agrees_with_the_recorders_tree() -> None:
    rec = Recorder(demo_agent())
    run = rec.run("What is 2 + 3?")
    fork = run.fork(step=1, edit={"user_profile": {"name": "Ada"}})
    for event in run.events:  # a server that sent no usage: the parent's tokens are unknown
        if event.kind == "llm":
            event.prompt_tokens = event.completion_tokens = None
    text = run_report(fork)
    rows = re.findall(r"<tr[^>]*><td>(.*?)</td></tr>", text[text.index("<h2>Lineage</h2>") :])
    cells = [row.split("</td><td>") for row in rows]
    tree = rec.tree
    assert [c[-2] for c in cells] == ["" if pd.isna(t) else str(t) for t in tree["tokens"]]
    assert cells[0][-2] == "" and int(cells[1][-2]) == fork.usage["prompt_tokens"] + fork.usage["completion_tokens"]
    assert [int(c[4]) for c in cells] == tree["depth"].tolist() == [0, 1]


def test_error_run_report_shows_error_and_partial_timeline(tmp_path) -> None:
    class Boom:
        def run(self, state: State) -> None:
            raise RuntimeError("hook failed <i>badly</i>")

    rec = Recorder(demo_agent())
    rec.add_hook("on_exit", Boom(), name="boom")
    with pytest.raises(RuntimeError):
        rec.run("What is 2 + 3?")
    run = rec.runs[-1]
    text = run_report(run, tmp_path / "sub" / "dir" / "r.html")
    assert (tmp_path / "sub" / "dir" / "r.html").exists()
    assert "hook failed &lt;i&gt;badly&lt;/i&gt;" in text and "<i>badly" not in text
    assert '<details id="ev-' in text and " open>" in text  # the failing event is unfolded
