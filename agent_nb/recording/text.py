"""The one way agent_nb shortens a text for a line, a cell or a label: at a word boundary, ending with "…".

Every view that cuts (summaries, the report, the CLI, the widgets, compare's reasons) calls `cut`, so a cut
text always says it was cut; the full text stays reachable where the cut one is shown (a tooltip, the detail).

Usage:
    >>> cut("Relevant memories: The user lives in Paris. The user prefers Celsius.", 60)
    'Relevant memories: The user lives in Paris. The user…'
    >>> cut("short", 60)
    'short'
"""

from __future__ import annotations

#: A word boundary is used when it keeps at least this share of the room (else the cut is mid-word: a long
#: token such as a URL or a repr would otherwise leave almost nothing).
_WORD_SHARE = 0.6
ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start (at a word boundary when one is near) and "…".

    The result is at most `limit` characters long, ellipsis included.

    Usage:
        >>> cut("abcdefghij", 5), cut("one two three", 9), cut("", 3)
        ('abcd…', 'one two…', '')
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit * _WORD_SHARE and not text[limit - 1].isspace():
        head = head[:space]
    return head.rstrip() + ELLIPSIS
