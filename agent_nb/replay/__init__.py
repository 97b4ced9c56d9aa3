"""Replay and fork recorded runs, compare runs, save and load them.

- `replay(run, hooks=..., tools="live"|"cached", on_miss="live"|"error")`: re-run from the same inputs with
  the LLM replies served from the recording while the input matches (`ReplayDivergence` on a miss, if asked).
- `fork(run, step, edit=..., reply=...)`: resume from the State at the start of `step`, edited.
- `compare(a, b)`: the two runs aligned event by event, first divergence marked.
- `save_run(run, path)` / `load_run(path)`: one JSON document (gzipped for .gz); `RunFileError` on a bad file.

Usage:
    >>> from agent_nb.replay import compare, fork, replay
    >>> again = replay(run)
    >>> df = compare(run, fork(run, step=1, edit={"user_profile": {"name": "Ada"}}))
    >>> bool(df["first_divergence"].any())
    True
"""

from agent_nb.recording.persist import RunFileError, load_run, save_run
from agent_nb.replay.cache import ReplayDivergence
from agent_nb.replay.compare import compare
from agent_nb.replay.edits import InvalidEdit
from agent_nb.replay.resume import fork, fork_async, own_usage, replay, replay_async

__all__ = [
    "InvalidEdit",
    "ReplayDivergence",
    "RunFileError",
    "compare",
    "fork",
    "fork_async",
    "load_run",
    "own_usage",
    "replay",
    "replay_async",
    "save_run",
]
