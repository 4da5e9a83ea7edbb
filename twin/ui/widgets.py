"""Small presentation pieces the pages share (no figures of their own: those are twin.report's)."""

from __future__ import annotations


def result_of_file(path, cache: dict, compute, *, extra=(), max_cached: int = 16):
    """``(compute(path), "")``, or ``(None, problems)`` when reading or computing fails (the CLI's text).

    ``cache`` keeps one result per file (keyed by path, modification time and ``extra``, e.g. a policy),
    so picking a file again does not recompute it; at ``max_cached`` results the oldest goes.
    """
    from twin.errors import TwinError

    try:
        key = (str(path), path.stat().st_mtime_ns, *extra)
    except OSError as exc:
        return None, f"{path}: {exc.strerror}"
    if key not in cache:
        try:
            value = compute(path)
        except TwinError as exc:
            return None, str(exc)
        if len(cache) >= max_cached:
            cache.pop(next(iter(cache)))
        cache[key] = value
    return cache[key], ""


def html_table(rows: list[dict], table_id: str | None = None, max_rows: int | None = None):
    """An HTML table of ``rows`` (one dict per row, keys the header).

    Cell ``j`` of row ``i`` has the id ``<table_id>-<i>-<j>``, so tests and users can point at a figure.
    """
    from dash import html

    if not rows:
        return html.Table(id=table_id) if table_id else html.Table()
    shown = rows if max_rows is None else rows[:max_rows]
    head = html.Tr([html.Th(k, style={"textAlign": "left", "paddingRight": "1em"}) for k in rows[0]])
    body = [html.Tr([html.Td(str(v), id=f"{table_id}-{i}-{j}" if table_id else None,
                             style={"paddingRight": "1em"})
                     for j, v in enumerate(r.values())]) for i, r in enumerate(shown)]
    kwargs = {"id": table_id} if table_id else {}
    return html.Table([head, *body], **kwargs)
