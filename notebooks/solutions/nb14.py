"""Reference solutions of notebook 14 (sweeps and datasets)."""

import pandas as pd


def changed_answers(table: pd.DataFrame) -> set[tuple[str, str]]:
    """Exercise 14.1: the (prompt, config) pairs whose answer differs from the "all on" run of the same prompt."""
    base = table[table["config"] == "all on"].set_index("prompt")["answer"]
    others = table[table["config"] != "all on"]
    differ = others[others["answer"] != others["prompt"].map(base)]
    return set(zip(differ["prompt"], differ["config"], strict=True))
