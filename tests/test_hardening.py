"""Hardened edges of saved runs: bounded, strict loading; any text saved; values stored once; safe export names;
no stray temporary files. Each test tries the edge the way a user (or an attacker's file) would."""

from __future__ import annotations

import base64
import gzip
import json
import os
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.tools import tool

from agent_nb import Recorder, Run, Uncopyable
from agent_nb.cli import main
from agent_nb.errors import AgentNbError
from agent_nb.files import TEMP_PREFIX, atomic_write
from agent_nb.recording.encode import run_to_document
from agent_nb.replay import RunFileError, load_run
from agent_nb.widgets.export import EXPORT_DIR, export_csv, export_json
from scenarios import TOOLS, Mark, note, plan_prompt, respond

SCHEMA = {"user_profile": {"type": dict}, "notes": {"type": str}, "blob": {"type": str}}


def agent(hooks: dict[str, list[Any]] | None = None, tools: list[Any] | None = None, **kwargs: Any) -> Agent:
    return Agent(
        chat_generator=MockChatGenerator(response_fn=respond),
        tools=list(tools or TOOLS),
        hooks=hooks,
        state_schema=SCHEMA,
        **kwargs,
    )


@pytest.fixture(scope="module")
def run() -> Run:
    rec = Recorder(agent({"before_run": [Mark()], "before_llm": [note], "after_tool": [Mark()]}))
    return rec.run(plan_prompt("add", "mul,fail", "text"), user_profile={"name": "Bob"})


def doc_of(run: Run) -> dict[str, Any]:
    return json.loads(json.dumps(run_to_document(run)))


def write_doc(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# ---- errors -------------------------------------------------------------------------------------------------
def test_run_file_error_is_an_agent_nb_error_and_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(AgentNbError) as info:
        load_run(path)
    assert isinstance(info.value, RunFileError) and isinstance(info.value, ValueError)


# ---- bounded loading ----------------------------------------------------------------------------------------
def _bomb(path: Path) -> Path:
    """About 1 MB of gzip that inflates to 1 GiB of JSON (a label of spaces)."""
    head = b'{"format": "agent_nb.run", "schema_version": 2, "run": {"label": "'
    block = gzip.compress(b" " * (1 << 24), compresslevel=9, mtime=0)  # a gzip member per 16 MiB of spaces
    path.write_bytes(gzip.compress(head) + block * 64 + gzip.compress(b'"}}'))
    assert path.stat().st_size < 2_000_000
    return path


def test_a_gzip_bomb_fails_fast_with_bounded_memory(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bomb.json.gz")
    limit = 32 * 2**20
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(RunFileError, match=r"decompresses to more than the limit of 33,554,432 bytes .*max_bytes"):
            load_run(bomb, max_bytes=limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * limit  # stops at the limit: never the whole GiB
    assert time.perf_counter() - started < 20


@pytest.mark.slow
def test_the_default_limit_stops_a_gzip_bomb_at_512_mib(tmp_path: Path) -> None:
    with pytest.raises(RunFileError, match=r"decompresses to more than the limit of 536,870,912 bytes"):
        load_run(_bomb(tmp_path / "bomb.json.gz"))


def test_the_size_limit_applies_to_plain_files_and_can_be_raised(tmp_path: Path, run: Run) -> None:
    path = Path(run.save(tmp_path / "r.json"))
    size = path.stat().st_size
    with pytest.raises(RunFileError, match=rf"{size:,} bytes, more than the limit of 1,000 bytes"):
        load_run(path, max_bytes=1000)
    assert len(load_run(path, max_bytes=size).events) == len(run.events)
    with pytest.raises(ValueError, match="max_bytes must be a positive int"):
        load_run(path, max_bytes=0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "run.json"
    os.mkfifo(fifo)
    result: dict[str, BaseException] = {}

    def load() -> None:
        try:
            load_run(fifo)
        except BaseException as exc:
            result["exc"] = exc

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():  # it blocked: unblock it by opening the write end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("load_run blocked on a FIFO")
    assert isinstance(result["exc"], RunFileError) and "a FIFO, not a regular file" in str(result["exc"])
    assert main(["report", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a FIFO, not a regular file" in err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_are_refused_before_reading() -> None:
    with pytest.raises(RunFileError, match="/dev/zero: a device, not a regular file"):
        load_run("/dev/zero")


def test_huge_integers_are_refused(tmp_path: Path, run: Run) -> None:
    text = json.dumps(doc_of(run)).replace('"seq": 0,', '"seq": ' + "9" * 5000 + ",", 1)
    path = tmp_path / "big.json"
    path.write_text(text)
    with pytest.raises(RunFileError, match=r"big\.json: not valid JSON .*(digits|integer)"):
        load_run(path)


def _event_index(doc: dict[str, Any], kind: str) -> int:
    return next(i for i, e in enumerate(doc["run"]["events"]) if e["kind"] == kind)


def _set_event(kind: str, **changes: Any) -> Any:
    def corrupt(doc: dict[str, Any]) -> str:
        i = _event_index(doc, kind)
        doc["run"]["events"][i].update(changes)
        return f"events[{i}]"

    return corrupt


def _set_detail(kind: str, key: str, value: Any) -> Any:
    def corrupt(doc: dict[str, Any]) -> str:
        i = _event_index(doc, kind)
        doc["run"]["events"][i]["detail"][key] = value
        return f"events[{i}]"

    return corrupt


def _set_message(content: list[Any]) -> Any:
    def corrupt(doc: dict[str, Any]) -> str:
        doc["messages"][0]["content"] = content
        return "messages[0]"

    return corrupt


def _set_run(**changes: Any) -> Any:
    def corrupt(doc: dict[str, Any]) -> str:
        doc["run"].update(changes)
        return "run."

    return corrupt


TYPE_WRONG = {
    "string duration": (_set_event("tool", duration_ms="fast"), "duration_ms must be a number"),
    "negative duration": (_set_event("tool", duration_ms=-5), "duration_ms is -5, not a usable duration"),
    "absurd token count": (_set_event("llm", prompt_tokens=2**70), "prompt_tokens is 1180591620717411303424"),
    "bool step": (_set_event("llm", step=True), "step must be an integer"),
    "seq not matching": (_set_event("tool", seq=9999), "seq numbers are not 0.."),
    "bad status": (_set_event("tool", status="great"), "status is 'great'"),
    "bad hook point": (_set_event("hook", hook_point="whenever"), "hook_point is 'whenever'"),
    "llm row with a hook point": (_set_event("llm", hook_point="before_llm"), "a llm row with hook_point"),
    "other run's event": (_set_event("tool", run_id="other"), "run_id is 'other', not the run's id"),
    "summary not text": (_set_event("tool", summary=["x"]), "summary must be a string"),
    "non-dict tool arguments": (_set_detail("tool", "arguments", "a=1"), "arguments .*must be an object"),
    "replies not messages": (_set_detail("llm", "replies", ["hi"]), "replies\\[0\\] is not a message"),
    "non-string message text": (_set_message([{"text": 5}]), "content\\[0\\].text must be a string"),
    "non-dict tool-call arguments": (
        _set_message([{"tool_call": {"tool_name": "add", "arguments": [1], "id": None}}]),
        "arguments must be an object",
    ),
    "hook config not a dict": (_set_run(hook_config={"before_llm": 5}), "hook_config\\['before_llm'\\] must be"),
    "unknown hook point in config": (_set_run(hook_config={"sometimes": {}}), "hook point 'sometimes'"),
    "non-bool hook switch": (_set_run(hook_config={"before_llm": {"note": "yes"}}), "must be true or false"),
    "string run duration": (_set_run(duration_ms="12"), "run.duration_ms must be a number"),
    "path in run id": (_set_run(run_id="../../etc/x"), "is not a run id"),
    "bad run status": (_set_run(status="running"), "run.status is 'running'"),
    "absurd start clock": (_set_run(started_unix_ns=10**30), "started_unix_ns is"),
    "bad snapshot mode": (_set_run(snapshots="sometimes"), "run.snapshots"),
    "string fork step": (_set_run(fork_step="1"), "fork_step must be an integer"),
}


@pytest.mark.parametrize("case", sorted(TYPE_WRONG))
def test_type_wrong_fields_are_rejected_at_load_naming_field_and_event(tmp_path: Path, run: Run, case: str) -> None:
    corrupt, message = TYPE_WRONG[case]
    doc = doc_of(run)
    where = corrupt(doc)
    path = write_doc(tmp_path / "bad.json", doc)
    with pytest.raises(RunFileError, match=message) as info:
        load_run(path)
    assert str(path) in str(info.value) and where.split("[")[0] in str(info.value)


def test_the_cli_reports_type_wrong_files_in_one_line(
    tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = doc_of(run)
    i = _event_index(doc, "tool")
    doc["run"]["events"][i]["duration_ms"] = "slow"
    doc["run"]["events"][i]["detail"]["arguments"] = "a=2"
    path = write_doc(tmp_path / "run.json", doc)
    assert main(["report", str(path)]) == 2  # `agent-nb report run.json`; a subprocess run is in test_cli.py
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == ""
    assert f"events[{i}]" in lines[0] and "duration_ms must be a number" in lines[0]
    assert not (tmp_path / "run.html").exists()


def test_loading_a_run_id_that_is_a_path_is_refused_and_saving_one_too(tmp_path: Path) -> None:
    bad = Run(run_id="../escape", status="ok")
    with pytest.raises(ValueError, match=r"run.run_id '../escape' cannot be saved"):
        bad.save(tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


# ---- any text can be saved, reported, exported ---------------------------------------------------------------
@tool
def list_files(folder: str) -> str:
    """List a folder (returns a file name that is not valid UTF-8, as os.listdir does)."""
    return f"{folder}/report\udcff.txt"


def surrogate_respond(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
    if any(m.tool_call_result is not None for m in messages):
        return ChatMessage.from_assistant(f"found {messages[-1].tool_call_result.result}")
    return ChatMessage.from_assistant(tool_calls=[ToolCall("list_files", {"folder": "/data"}, id="c1")])


def surrogate_run() -> Run:
    rec = Recorder(Agent(chat_generator=MockChatGenerator(response_fn=surrogate_respond), tools=[list_files]))
    run = rec.run("what is in /data?")
    assert "\udcff" in run.final_answer
    return run


def test_text_with_lone_surrogates_saves_and_loads_back_the_same(tmp_path: Path) -> None:
    run = surrogate_run()
    for name in ("run.json", "run.json.gz"):
        path = Path(run.save(tmp_path / name))
        loaded = load_run(path)
        assert loaded.final_answer == run.final_answer  # the same string, surrogate included
        assert loaded.result["messages"] == run.result["messages"]
        assert [e.detail.get("result") for e in loaded.events] == [e.detail.get("result") for e in run.events]
        assert [e.after for e in loaded.events] == [e.after for e in run.events]
    raw = (tmp_path / "run.json").read_bytes()
    raw.decode("utf-8")  # the file itself is valid UTF-8 JSON
    assert b"report\\udcff.txt" in raw


def test_atomic_write_writes_any_text_as_utf8(tmp_path: Path) -> None:
    path = atomic_write(tmp_path / "t.csv", "name\nreport\udcff.txt\n")
    assert Path(path).read_bytes().decode("utf-8") == "name\nreport\\udcff.txt\n"
    assert pd.read_csv(path)["name"].tolist() == ["report\\udcff.txt"]


def test_text_with_lone_surrogates_reports_and_exports(tmp_path: Path) -> None:
    run = surrogate_run()
    csv = Path(run.to_csv(tmp_path / "t.csv")).read_bytes().decode("utf-8")
    assert "report\\udcff.txt" in csv
    run.to_html(str(tmp_path / "r.html"))
    assert "report\\udcff.txt" in (tmp_path / "r.html").read_text(encoding="utf-8")


# ---- values stored once, linear growth ----------------------------------------------------------------------
class Refresh:
    """before_llm: sets `notes` to a new string object equal to the last one."""

    def run(self, state: State) -> None:
        state.set("notes", "".join(["n"] * 200_000))


def test_large_state_values_are_stored_once(tmp_path: Path) -> None:
    big = "x" * 2_000_000
    run = Recorder(agent({"before_llm": [Refresh()]})).run(plan_prompt(*(["add"] * 8), "text"), blob=big)
    assert run.steps == 9
    path = Path(run.save(tmp_path / "big.json"))
    # Each value once (plus JSON overhead), however many snapshots hold it, identical object or equal copy.
    assert path.stat().st_size < len(big) + 200_000 + 200_000
    loaded = load_run(path)
    assert loaded.final_state["blob"] == big and loaded.final_state["notes"] == "n" * 200_000
    assert all(e.after["blob"] == big for e in loaded.events if e.after is not None)


def test_a_saved_run_grows_linearly_with_its_events(tmp_path: Path) -> None:
    sizes = {}
    for steps in (10, 80):
        rec = Recorder(agent({"before_llm": [Mark()], "after_tool": [Mark()]}, max_agent_steps=steps + 5))
        run = rec.run(plan_prompt(*(["add"] * steps), "text"))
        path = Path(run.save(tmp_path / f"r{steps}.json"))
        sizes[steps] = path.stat().st_size / len(run.events)
        loaded = load_run(path)
        assert [e.before == f.before for e, f in zip(run.events, loaded.events, strict=True)] == [True] * len(
            run.events
        )
    # Quadratic growth would make the 80-step run's bytes per event several times the 10-step run's.
    assert sizes[80] < 1.5 * sizes[10], sizes


def test_message_lists_keep_their_sharing_and_types_after_loading(tmp_path: Path, run: Run) -> None:
    loaded = load_run(run.save(tmp_path / "r.json"))
    for a, b in zip(run.events, loaded.events, strict=True):
        for snap_a, snap_b in ((a.before, b.before), (a.after, b.after)):
            if snap_a is not None:
                assert type(snap_a["messages"]) is type(snap_b["messages"])
                assert list(snap_a["messages"]) == list(snap_b["messages"])
    assert type(loaded.inputs["messages"]) is list and type(loaded.result["messages"]) is list


# ---- schema version 1 files still load ----------------------------------------------------------------------
# Saved by agent_nb before this change (schema_version 1): a run with markers, tuples, int keys, bytes and
# inf in State, and a fork of it. gzip + base64 of the files as written.
V1_FILES = {
    "run": (
        "H4sIAAAAAAACA+1c646jyBV+Fbb+eFZLW3WhKPCoI01Wm0hRdmeV7L8eiy2bohsZgwO4pyctS3maPNg+SU4VGN/Abfd4pnuz9I8ZG8qHqu87"
        "l6/wwY8oyvK5LNEIyVuVlkE6GebLFNmomN6puQzuVV7EWYpGxG5GbA4iPCRDrEfLexUGxg7F1L0i5IrhX4g3YnyExXcYj7AeNldFAVYKNLp5"
        "RHmWKBi/LFRuTpUSjR5XNkrlHI6nyySx0TRLS7ioGV+qB23/57+/+8mSYfh2vkzsSMbJW3NiNV7Zjc3iU1Gq+TlW06xUuzZkUcRFKWFYYwbN"
        "s1AlcG6eTWdX1RsbxWmoHtAI2yiK07i4C3IlC4NOmWVJMJVJUsCwpV65NrLIs/miDMpsplJAgrh6QvNFokrAtDnMV8cmvTas7Zk31UgEuMCl"
        "ZH67nMPYQp+GiVMbTdCIgcE4hEH6gwEONCGw+FxWV1jtrF4bPQ2/9VRg2cUyKfUl168QBxNZHt/G6SUnCu/yPMvRKJJJoVa/W+YpvyDzEA0t"
        "gDoGUL4DKDlk3j5iWIfYvuVmnZMsm6M96+TL+xXFnY71OTgcc6zLTPwvAKYKrTKz4vQe+LZ+gdHWrxrjX62PcXlnLWQOhkvIsNbjoMJ5MLIG"
        "GujBamj9oCc4sgzuXRB8NmMNDmW+fJ3xVZTZ4khkMfGMyKqmK9Pio8otGQEFFrVgtYtiZN0M+MC2BhTDvx8uyuIHNNbojG10L5NlXRprIv+c"
        "TWCRiUxvDYdBUC5hSUEAY5DSRTrK0dhEbxDMi9vCnMEaan1Mp1iNnY4Ig6F2iw2Y8HL/kzYZV4fCeFqaQzdIA4BsPLZv0ELGUKl35wHmHpCe"
        "/g3TfJXWTH1CerCxC0NsVMrbqyQGlNanJpWRyadSmQujd+9+uEbaBoqqU1GSSTMBMBnBGZjWTV0yqviuXbxeyXh3HXR8uDC7Onhq7bV3y9Gh"
        "NZuNG4zJeRjrD9tOF9KkC2nyCpHm467l2bwNb4e04k1wDXiTpruM2m6VSPayWfdwWxzyRNY8kRN4qozYXhdftIsv+gr58sdPLdP223gTXjtv"
        "XOctSOVlnbe0lg/gs1GcqCpj5SrSFwJ4t8T/1gmysg2QwTRb6kQMoWOsB01qb4bSVZ2wHzYTM8PX9daY2DWvpaR6iMumcmzyfpwuVaD3OnW1"
        "t58zfaef/kWm3+iPrU9rtTZJoATWBxe58fv3YfjmW/BwiLVPCxNq2qFlnAbB8L0JhKC+njkH8sP62z/f/3QF4MQyif8tJ4l6a5kNqyULKy4L"
        "S9tGqx7CF4LQOx1CvwVCSnoMewwvgCEhXxhEQnsUexR7FF8ORdKj+AwUWY9ij2KP4ikoEqeH8Q8EozgdRuK14Mhwj2OP48VwpLjH8SI40i+N"
        "I2U9jj2OPY4vjCPtcXwWjk6PY49jj+PJOFLe4/hHwnH/6xh25FvBtv21Q8/GsWpg6pHskezvhfcK8iviOLaRmdKj/i8wfaU+xa7vCApWZ3Gq"
        "j1QPFSxkrh8h0GOqRUVZPgtMI1V9IJET0wcKg29VqnJZ6j5U9GM2nX1/J8u/NseAhVQuirtMw4ciWeiILUqZl6c8iBAuwYpuZZrrNiY6ZMwT"
        "zPXhj7lMsKqpaaktZzPUtMNWU4zTxbLibNdDdjow0eyjzKu2zX0nO6+5U7es3mXZDFwljeJbPXSiALbaDx7RjzKf1Z269vpUkszNlXTrrTll"
        "o++1p6m8GWkaXAPT1bxrBM5tGpc/b+52J0KtbWdP5PmTe9LaA+yUFsD2OrAVZK+w/e+rBrsmvSiDmtaG1apm6K7y9A5MQAhWreGAbAkGA9Mi"
        "uO6L3bynbs25iVvdQgieoVuNwTsE/Edt6o0hvaj7qo39pj3FFOpfxvZ2HqnTjo4cVAfQIou1Y22Hz7obvPL//ajPoqhQZZUihgK7DJs/yhzB"
        "yV4OwUPMiU+EHuA6zPE9/XDHHUSIxuJmvAmFABxR1Z3Z60O5mmf39UGg+ON6FXsuvy4EB05fnSiW87nMPxlCrera+7krVKVx+8cmV5hrmmRQ"
        "N8F2IkzWCONT4NUpqIHXJKKj8PrEx8TT6HmYO4QewutS4ZgMjYkgPvO34d3kmRagyRcE+rvqeYiR9cGs8QM6D3ByFHD6fMDX2f4I5nSIPdch"
        "uCp63G3xaMaooEAJDBLEc3c8us6Kdfr5yv5trn39ONDwDEYWtq2BzsHw8o1+/TD41rbYyBqYvPvbf/5rW3qW1+u0+CRDpGGIHmWIHTJU0bBN"
        "UHWZdaJpEzLdFFHhEeGbsHAZOaSI+I7vOJpCwV1GOWuPit1aeiBKu0l8Rux0PVOxzR9YfyOvKdByzboJ2TzUtKuQ3VUtwoLOjlyoVkm8d1w0"
        "Hwtj+IwJnUlIpaeoCvnU4e5ERMrxCQn9KZFMcuH6biQIF46QoTuhYuqHExJFU0dK5bpTjrZ8hjU+4xz1GefQZ+pnyzqdpurv73QTPtSVh3MT"
        "yQQ74jCSiUOxqU2OTz1KCe/2kz3ldFHfODnAdxzEuvqTxbu9ZOc5t80+CG8JWb7FE294co/yxE/Lvls6+mQ1IYYE/qiJWyZc3JJ6XU48YuIe"
        "4p8RscPXS6Tc8xKoaED2joLsrkEmF9cUYghVzcPE1C/u0DaQfYI9TQJlLoSF3xUULxEBB8ri3Brmb1TGcV0nns/BCTJDDDnjmFfJB3SE30ID"
        "nKBG2bmCgre/VplBtmQGuYjM2OgMclxoeIccXVJoCNjeeLje3zCH6M3LvtLgILyN/vYE1A9fvLzS6Hp+fptC2O1DIXF0IeHAlt70v6l2vtfV"
        "07jnyw9zh+GI/jC9dW0ChLiHCsThPo8iqaAcUOJMPaIwdf2ITKTgkxDAxhHmUylp5ABF7tTHE4F9zCPpS+q7zrYCIRsJQo5rEP/QnZ7SINXT"
        "hd07ODzUjuGb7YRPiccO4xwLwZx6gywch7BXsYXb8RAtNcyPC5ynNfwtrWF6sBpKNmqDHJcbBJ/PSf2sZ0NKNeldXsiQYU/A9lrnVw92ES3i"
        "EDvE7DFA+jIGufqVi8OWILa++cb6B0wpnqvdX0ioeUStJ5/ilZLVNpfuhktxnEtyWkl9jnYEQoXrYt+kYpcx5h0SSnUpNbnc8zim+iuw35V6"
        "JN4Gaf840s09Enr5m1Jk6PmeX8l01+MtRRFD+iYGaYgfwYTv/F9JSLq5U0WP36oi7Pk8nCAigQotPEz1IFjwtvuDjLhEi3mPg9j09a3l16ki"
        "6ZaKpJdQkZRuWGLHWXIOWbqkjCT6nqJXFxO9gz28E6H3vUJomhyfMU46a83Wd0FPasrtb20uGmpdvyOzc6viK/xgDHjF2TKVPnGbjHbdJ6Mt"
        "N8o8SkIydaWUylPEm1DXwYKQkCmtTkMlYesWcjeUE86pUiBmvQkLwxBPiCen0Y5Mpc7GX/lqvFr9D7ElTxKFTgAA"
    ),
    "fork": (
        "H4sIAAAAAAACA+1a627juBV+FS3/eBarGCQl6uJBCkwX2wLF7s6i3X8ZQ0tbVCJEllxJzqWBgT7NPlifpOdQF8u25DhZz2SK2j8SS6QPD7/v"
        "3KTDJxJl+UKWZELktUrLIJ2N81VKTFLMb9RCBncqL+IsJRNmtjM2NwkdszHF2fJOhYGWwyl3Lhi7sOivzJtYYkLd7yidUJy2UEUBUgoyuXoi"
        "eZYomL8qVK6HSkkmT2uTpHIB99NVkphknqUlLKrnl+oB5f/y44efDRmG7xerxIxknLzXA+vp2mxlFo9FqRYvkZpmpdqWIYsiLkoJ01oxZJGF"
        "KoGxRTa/vaguTBKnoXogE2qSKE7j4ibIlSw0OmWWJcFcJkkB01a4cxSyzLPFsgzK7FalgARzUKHFMlElYNreFutDSjeCUZ6+qGYSwAWWkvn1"
        "agFzCxwGxblJZmRigcA4hEn4w4AGSAhsPpfVCuut3aPQ4/BrVIFtF6ukxCWbb0SAiCyPr+P0lIrCVZ5nOZlEMinU+n+WeS5OyDx4Qw+gtgZU"
        "bAHK9pk3DwhGF9uV3O5zlmULsiOdfX674nTQsP4IDocM6zSK/wXAVKFRZkac3gHfxq8w2/gNMf7NuI/LG2MpcxBcQoQ1nkYVzqOJMUKgR+ux"
        "8QMqODE07kMQ/GHGWhzKfPV1+ldRZssDnmW5r/CsSl2ZFvcqN2QEFBjcgN0ui4lxNRIj0xhxCn8/nZTFT2SK6ExNcieTVZ0aayI/hJIgbkGw"
        "KK6LIIAxajKTm5aG89hEAlMx3GIKR+/QeKKJbICFr9U6YTwv9TpXBHdOTDo1r8hSxpCicbxcgfhaEfJAUO8rC4kqjVv1SHCyVhammKSU1xdJ"
        "DPA0Q7NKyOyxVHo35MOHHy4JyiBRNRQlmdQKgMgIRqb92zft6YC+bEhf9qX0vapzWxWIal+sYZ5u70YMbs8UfQzbrJdhpsnrRrkhoaZT+eFO"
        "MBiebrrTPfNhjfmwPfMZEmJ6Q3zxIb74V8iXP31um6bfx5vr9fMm0O0hEpa122MpHMBvozjRUS2AgBfhQgBvp3buDLC1qYEM5tkK4xhQoqUH"
        "bWRsp/J1He8eOhWInt/kKy1jWz6WYuohLtvIu4mbcbpSAT4rVNmyzSCdX9vw61mSzTAnxanSlvbyPYrzHt94j067x+rmMtcu9DEM330LzgJu"
        "+7jUXou+IeM0CMYftU8F9Xp6DAoB42//+PjzBaATyyT+l5wl6r2hHx0NWRhxWRgom6zPGL4Vhv7xGGLW2QPRomcQzyCeAkTGzyieAEX7c6PI"
        "xBnGM4xnGN8SRn6G8TUwOmcYzzCeYTwSRuaecfw/wpHTHRytA4/TrAdHm78Yx+od/BnJM5Lnwuc4GKcm0Ro94b9A9/TseWjbVM5A6m2c4p0o"
        "y2/hailzPL+hJ/mcOr7tcnzVDaOBfhmP5XgiZ7oPBwPXKlW5LLEPSH7K5rff38jyr+09ICKVy+ImQwRJJAs0t6KUeXnMQZBwBVLwXfgCWRFj"
        "l/mu7/jwEQ71q5fiKxScoeZ1N7KiIk6Xq4q1bRvpaZGR23uZX+vxXWOrO2x/zhCnRKbXtZRNA4IoPAYT5WS6XmPf8CbLbsFk0ii+xqkzBcDV"
        "9vBEfpIAcd02NpuxJFnopbABqlupJvkeTU41nVWT6DZjoHvLrZSq6WqSTft4QPmqPfgMDDu9iWcC0dGNi34/OqZP1B+oOr70FfaIvqhToz0W"
        "ZVDT2rJavVnEzn16AyLAzXCoddzDRA73hp/nsb9drBWJS9hKoDtYzfDmGtfU1qajAna4rpjuJ3OTuVOIXOquOp1w1R+9CvVPLbTaYuX8dURD"
        "XyS1Sy6zGG2565BNk79yqE40KW7j5VIhN1kUFarU4Ye5Y+pzziwKH8en3NqJT3QMWsxvIEgg5lfTjcsFABTeo51buVpkd/VNMKX7RvUdRpq8"
        "ssdJNVCsFguZP6LO93E5vwEjAZV3Y2GoSs3MUxt09LI6qtRN2UFkmbkxnudhxVjWwqoj2m6Q3kYU4rngGM/hv8fsfURtzpjnVzO4L9wuwpuQ"
        "1oM1+4xYf1cdb5kYn/QeP5GXAc4OAs5fD3iTNg5jzn2Pei4i6jBL9Fgx4izQyn3Ppdy1tjCvInAd6r6wjeu1L59GiM9oYjDTGGG8h6/v8PvD"
        "6FvTsCbGSMf4//z7d9NALS+bEPwsRayliB+kyNqnqOKhy1C1TBNh+gqjhqO5RMfd48lmPndt5MF1OFr+Dk/cs3yf6WgEJZQnnH7f2I75e8Xu"
        "MJOv8KCho4pdEiFZvJOXNnBzKYAvzBnvqgR4WR18GqZqc3xtuxx313W9Fwx2fKvhMIYx9B5b+CKKpGIMIro995gCCP2IzaQrZqEPHhJRMZeS"
        "R7ZLPWfu05lLfSoi6UvuOzbBumuZxDsreeuONVmtNdkHrcnet6b6FOGgOVWHUAadnIux9m7txLbDqLPv5My2qK6kKeMWWM9XEVi3bMO4+JOh"
        "T3AOGMPWwcXNoxnr1MT6mbrhQ7R8OAf5EC/noz4O1BJSabzFiWWPmeUJj+pU5vOeXAd06OKCYXh2HX/Yn3dKsZP68NFk9Xiu8c03xt9BpXih"
        "tk+g1hSS3sFnKbW6buW0NLoHaXSOy6OdR6vBenDXv4BLj3uei8GXuVywfS4thzuYYz1qAeu2Y2+R+RbJ82Wp0GtR9g+i7DYo85OXh4AyOARz"
        "PPQJ7rGeIGZ7XCdIcB3m+8IfTIFv4R97VeKLy5FOyXi4ZvRez8IRNaMlxoxC8NJIM8gnos/ebUgl8PE8X3DKnK+1aOSdopGfpGjkG5asgyz5"
        "+yydumwEqjj1fJsjFcLy+qpGeOKqXqHZvmUPekznBdCzFWT3Vc1JfW3ogH6X3y9xEh/M4sVFKfMOV6W6A7VTlnqchWzuSCmVp5g3445NXcZC"
        "S2E1GipJHTcUTihnQnCloHj1ZlYYhnTGPDmPhspS5ncTKD5mNwYr1tP1+r9ECwHv3jcAAA=="
    ),
}


def _v1(kind: str) -> bytes:
    return gzip.decompress(base64.b64decode(V1_FILES[kind]))


def test_schema_1_files_still_load(tmp_path: Path) -> None:
    path = tmp_path / "v1.json"
    path.write_bytes(_v1("run"))
    assert json.loads(path.read_text())["schema_version"] == 1
    run = load_run(path)
    assert run.status == "ok" and run.steps == 3 and len(run.events) == 15
    assert run.final_answer.startswith("answer after 2 steps")
    extra = run.final_state["extra"]
    assert extra["pair"] == (2, "x") and extra[3] == "int key" and extra["__msg__"] == "tag-like key"
    assert extra["b"] == b"\x00\x01" and extra["f"] == float("inf")
    assert isinstance(run.final_state["blob"], Uncopyable)
    assert run.started_unix_ns // 10**9 > 1_700_000_000  # from started_at, to the second
    # a schema 1 run saves as schema 2 and loads back the same
    again = load_run(run.save(tmp_path / "v2.json"))
    pd.testing.assert_frame_equal(again.timeline, run.timeline)
    assert [e.after for e in again.events] == [e.after for e in run.events]
    fork_path = tmp_path / "fork.json"
    fork_path.write_bytes(_v1("fork"))
    fork = load_run(fork_path)
    assert fork.kind == "fork" and fork.fork_step == 1 and fork.parent_id == run.run_id


# ---- export names -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("run_id", ["../../escape", "..", "/etc/passwd", "a/b\\c", "x" * 300, "é\x00\n"])
def test_exports_never_leave_the_export_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run, run_id: str
) -> None:
    monkeypatch.chdir(tmp_path)
    hand_made = Run(run_id=run_id, kind="../fork", status="ok", events=list(run.events))
    folder = (tmp_path / EXPORT_DIR).resolve()
    path = export_csv(hand_made)
    assert path.resolve().parent == folder and path.is_file()
    assert len(path.name) <= 100
    # JSON export writes a loadable run: under a safe id, which the file itself carries
    with pytest.raises(ValueError, match="cannot be saved"):
        export_json(hand_made)
    assert sorted(p.parent.resolve() for p in tmp_path.rglob("*") if p.is_file()) == [folder]


# ---- interrupted saves --------------------------------------------------------------------------------------
def test_an_interrupted_save_leaves_no_temporary_file(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.json"
    run.save(path)
    before = path.read_bytes()
    real_fsync = os.fsync

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.save(path)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]
    assert path.read_bytes() == before
    # A write that raises in the middle of a callable writer cleans up too.
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "chart.png", lambda p: (Path(p).write_bytes(b"half"), _raise(KeyboardInterrupt())))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def _raise(exc: BaseException) -> None:
    raise exc


def test_stale_temporary_files_of_a_killed_save_are_removed_by_the_next_save_or_load(tmp_path: Path, run: Run) -> None:
    stale = tmp_path / f"{TEMP_PREFIX}run.json.abc123.tmp"
    fresh = tmp_path / f"{TEMP_PREFIX}other.json.def456.tmp"  # maybe another process writing right now
    foreign = tmp_path / ".run.json.xyz.tmp"  # not ours: never touched
    for p in (stale, fresh, foreign):
        p.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old))
    run.save(tmp_path / "run.json")
    assert not stale.exists() and fresh.exists() and foreign.exists()
    os.utime(fresh, (old, old))
    load_run(tmp_path / "run.json")
    assert not fresh.exists() and foreign.exists()


def test_zlib_corruption_in_the_middle_is_a_run_file_error(tmp_path: Path, run: Run) -> None:
    raw = bytearray(Path(run.save(tmp_path / "r.json.gz")).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "r.json.gz").write_bytes(bytes(raw))
    with pytest.raises(RunFileError, match=r"r\.json\.gz: (truncated or corrupt gzip|not valid JSON)"):
        load_run(tmp_path / "r.json.gz")
