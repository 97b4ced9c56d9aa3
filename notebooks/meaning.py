"""What a notebook's outputs mean, apart from the noise of one execution.

`scrub` is applied by `build.py` to every committed output: the random parts of temporary paths, uuids and memory
addresses become placeholders, so a committed notebook holds none and a rebuild does not rewrite them.
`meaning` reduces a cell's outputs to what they say, for comparing a committed notebook with a fresh run of its
source (notebooks/conftest.py does that for every cell nbval executes): scrubbed text with timings, run ids, clock
times and the padding of table columns masked; images count as "an image" (a chart's pixels move with its timings);
stderr (warnings, progress bars) is left out.

>>> scrub(f"saved to {tempfile.gettempdir()}/agent_nb_13_4tji_dqy/run.json at 0x7f2a1c3e5b90")
'saved to <tmpdir>/run.json at 0x…'
>>> scrub("id 3a14f0ab-4310-48eb-adf9-8021682cbe43, file compacted_3a14f0ab431048ebadf98021682cbe43.txt")
'id <uuid>, file compacted_<hex>.txt'
>>> meaning([{"output_type": "stream", "name": "stdout", "text": "run 0eb5facd: 3 steps in 12.5 ms"}])
['stdout: run <id>: 3 steps in <time>']
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

_TMP = re.compile(re.escape(tempfile.gettempdir()) + r"/[^/\s'\"<>)]+")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{16,}(?![0-9a-f])")  # a uuid's hex, whole or cut short in a preview
_ADDRESS = re.compile(r"\b0x[0-9a-f]{6,}\b")

_MASKS = [
    (re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?"), "<clock>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8}\b"), "<id>"),  # run ids: 8 hex digits
    # a number with a unit of time, or in a column of timings (whatever the unit of the value, it is noise)
    (re.compile(r"\d[\d,]*(\.\d+)?\s*(ms|s|µs|us|ns|sec|seconds|min)\b"), "<time>"),
    (re.compile(r"\b\d+\.\d+(e[+-]?\d+)?\b"), "<float>"),  # timings, shares and means of timings in tables
    (re.compile(r"\b\d{1,3}(,\d{3})+ bytes\b"), "<size>"),  # a report's size moves with its embedded timings
    (re.compile(r"[ \t]+"), " "),  # column padding follows the width of masked values
]


def scrub(text: str) -> str:
    """`text` without the random parts of temporary paths, uuids and memory addresses."""
    text = _TMP.sub("<tmpdir>", text)
    text = _UUID.sub("<uuid>", text)
    text = _HEX.sub("<hex>", text)
    return _ADDRESS.sub("0x…", text)


def scrub_outputs(cells: Iterable[Mapping[str, Any]]) -> None:
    """Scrub the text of every output of `cells` in place (stream text and every text/* representation)."""
    for cell in cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub(_joined(output["text"]))
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/"):
                    output["data"][mime] = scrub(_joined(value))


def _joined(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _masked(text: str) -> str:
    text = scrub(text)
    for pattern, placeholder in _MASKS:
        text = pattern.sub(placeholder, text)
    return "\n".join(line.strip() for line in text.strip().splitlines())


def meaning(outputs: Iterable[Mapping[str, Any]]) -> list[str]:
    """What a cell's outputs say: one string per output (streams joined by name), noise masked."""
    streams: dict[str, list[str]] = {}
    said: list[str] = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            if output.get("name") == "stdout":
                if "stdout" not in streams:
                    streams["stdout"] = []
                    said.append("stdout")  # a placeholder, filled in below: streams keep their first position
                streams["stdout"].append(_joined(output.get("text", "")))
        elif kind == "error":
            said.append(f"error: {output.get('ename')}: {_masked(output.get('evalue', ''))}")
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            if "text/plain" in data:
                said.append(f"{kind}: {_masked(_joined(data['text/plain']))}")
            elif any(mime.startswith("image/") for mime in data):
                said.append(f"{kind}: an image")
    return [f"stdout: {_masked(''.join(streams['stdout']))}" if s == "stdout" else s for s in said]


def difference(committed: Iterable[Mapping[str, Any]], fresh: Iterable[Mapping[str, Any]]) -> str | None:
    """How a cell's fresh outputs differ in meaning from its committed ones (None when they do not)."""
    old, new = meaning(committed), meaning(fresh)
    if old == new:
        return None
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if a != b:
            a_lines, b_lines = a.splitlines(), b.splitlines()
            at = next((j for j, (x, y) in enumerate(zip(a_lines, b_lines, strict=False)) if x != y), None)
            if at is None:
                at = min(len(a_lines), len(b_lines))
            show = "\n".join(
                [
                    f"output {i}, line {at}:",
                    f"  committed: {a_lines[at] if at < len(a_lines) else '(no line)'}",
                    f"  fresh:     {b_lines[at] if at < len(b_lines) else '(no line)'}",
                ]
            )
            return show
    return f"{len(old)} outputs committed, {len(new)} in a fresh run: {old[len(new) :] or new[len(old) :]}"
