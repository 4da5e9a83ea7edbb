"""Durations as people read them (a foundation module: it imports nothing).

One format for every place that shows simulated time: the terminal's progress line and run
summary (``twin simulate``) and the app's Scenarios page.
"""

from __future__ import annotations


def format_duration_s(s: float) -> str:
    """``s`` seconds as ``"1.5 d"``, ``"3.0 h"`` or ``"42 s"`` (days from one day, hours from one hour)."""
    if s >= 86400.0:
        return f"{s / 86400.0:.1f} d"
    if s >= 3600.0:
        return f"{s / 3600.0:.1f} h"
    return f"{s:.0f} s"
