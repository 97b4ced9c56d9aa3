"""Two versions of agent_nb side by side, each measurement in a fresh process, the versions alternating:
`python benchmarks/bench_ab.py OLD_TREE NEW_TREE [--pairs 5] [--what overhead|long|modes|steps2000]`.

Each figure comes with the recorder's own cost beside the ratio: us per event (overhead, modes), us per input message
(long); a ratio depends on how fast haystack's own step is on the machine, the cost in us much less.

A tree is a directory holding an `agent_nb` package (a git worktree, or `git archive <commit> agent_nb | tar -x -C
DIR`). Each process imports one tree and runs one figure of `bench_recorder.py`; pairs alternate which version goes
first, so a change of the machine's load hits both alike. Prints each pair and the medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
#: The snapshot modes compared; "+ timeline" also reads the timeline once (see `bench_recorder.modes`).
MODES = ("fast", "off", "fast + timeline", "off + timeline", "deep")
CODE = {
    "overhead": "import bench_recorder as b; print(json.dumps(list(b.overhead_figures(20, 40))))",
    "long": "import bench_recorder as b; print(json.dumps(list(b.long_conversation(5000, 9))))",
    "steps2000": "import bench_recorder as b; print(json.dumps(list(b.overhead_figures(2000, 3))))",
    "modes": f"import bench_recorder as b; m = b.modes(20, 30); print(json.dumps([x for k in {MODES} for x in m[k]]))",
}
#: What each figure of a measurement is: ratios beside the recorder's own cost in microseconds.
LABELS = {
    "overhead": ["20-step recorded / bare", "us per event"],
    "long": ["5,000 input messages recorded / bare", "us per input message"],
    "steps2000": ["2,000-step recorded / bare", "us per event"],
    "modes": [f"{mode} {figure}" for mode in MODES for figure in ("recorded / bare", "us per event")],
}


def measure(tree: str, what: str) -> list[float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(tree).resolve()), str(HERE)]))
    code = "import json, sys; sys.argv = ['x']; " + CODE[what]
    code += "; import agent_nb; print(agent_nb.__file__, file=sys.stderr)"
    # The benchmarks folder as the working directory: `python -c` puts it first on sys.path, and it holds no agent_nb.
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=HERE, capture_output=True, text=True, check=True)
    imported = out.stderr.strip().splitlines()[-1]
    if not imported.startswith(str(Path(tree).resolve())):
        raise RuntimeError(f"measured {imported}, not the tree {tree}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    old, new = sys.argv[1], sys.argv[2]
    pairs = int(sys.argv[sys.argv.index("--pairs") + 1]) if "--pairs" in sys.argv else 5
    what = sys.argv[sys.argv.index("--what") + 1] if "--what" in sys.argv else "overhead"
    print(f"{what}: {old} (old) vs {new} (new), {pairs} pairs, load {os.getloadavg()[0]:.2f}")
    results: dict[str, list[list[float]]] = {"old": [], "new": []}
    for i in range(pairs):
        order = [("old", old), ("new", new)] if i % 2 == 0 else [("new", new), ("old", old)]
        for side, tree in order:
            results[side].append(measure(tree, what))
        print(f"  pair {i + 1}: old {results['old'][-1]}  new {results['new'][-1]}", flush=True)
    for side in ("old", "new"):
        medians = [statistics.median(col) for col in zip(*results[side], strict=True)]
        shown = ", ".join(f"{label} {m:.3f}" for label, m in zip(LABELS[what], medians, strict=True))
        print(f"  median {side}: {shown}")
    print(f"  load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
