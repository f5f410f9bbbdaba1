"""The classroom game's debrief: each brand's path, the class's commissions against the
outcomes, the same market with everyone on the low and everyone on the high commission, as
plain data and inline SVG charts (drawn here, no chart library: a classroom may have no
internet)."""

from __future__ import annotations

import html
import math
from typing import Any

from .classroom import GOALS, Game
from .policies import ordered_sum

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)
W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 380, 70, 110, 44, 45


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    return [start + i * step for i in range(n + 3) if start + i * step <= hi + step * 0.999]


def _fmt(v: float, unit: str) -> str:
    if unit == "m":
        return f"{v / 1e6:,.1f}"
    if unit == "%":
        return f"{v * 100:.0f}%"
    return f"{v:.2f}"


def _frame(title: str, xlabel: str, ylabel: str, xs: list[float], ys: list[float], xunit: str, yunit: str, xint=False):
    yt = _ticks(min(ys), max(ys))
    xt = [float(x) for x in sorted(set(xs))] if xint else _ticks(min(xs), max(xs))
    x0, x1 = (xt[0], xt[-1]) if len(xt) > 1 else (xt[0] - 1, xt[0] + 1)
    y0, y1 = yt[0], yt[-1]
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / ((x1 - x0) or 1) * pw

    def sy(y: float) -> float:
        return TOP + ph - (y - y0) / ((y1 - y0) or 1) * ph

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(title)}"'
        ' font-family="system-ui, sans-serif" font-size="13">',
        f"<title>{html.escape(title)}</title>",
        f'<text x="{LEFT}" y="20" font-size="16" font-weight="600">{html.escape(title)}</text>',
    ]
    for y in yt:
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{_fmt(y, yunit)}</text>')
    for x in xt:
        label = f"{x:.0f}" if xint else _fmt(x, xunit)
        parts.append(f'<text x="{sx(x):.1f}" y="{H - BOTTOM + 18}" text-anchor="middle">{label}</text>')
    parts.append(
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + ph}" y2="{TOP + ph}" stroke="#333"/>'
        f'<text x="{LEFT + pw / 2}" y="{H - 6}" text-anchor="middle">{html.escape(xlabel)}</text>'
        f'<text transform="translate(14 {TOP + ph / 2}) rotate(-90)" text-anchor="middle">{html.escape(ylabel)}</text>'
    )
    return parts, sx, sy


def path_chart(series: dict[str, list[float]], title: str, ylabel: str, unit: str) -> str:
    """One line per brand over the rounds (1, 2, ...), named at its end."""
    xs = [float(i + 1) for v in series.values() for i in range(len(v))]
    ys = [y for v in series.values() for y in v]
    if not ys:
        return ""
    parts, sx, sy = _frame(title, "round", ylabel, xs, ys, "", unit, xint=True)
    for k, (name, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        pts = " ".join(f"{sx(i + 1):.1f},{sy(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{sx(i + 1):.1f}" cy="{sy(v):.1f}" r="3.5" fill="{colour}"/>')
        lx, ly = sx(len(values)), sy(values[-1])
        parts.append(f'<text x="{lx + 6:.1f}" y="{ly + 4:.1f}" fill="{colour}">{html.escape(name[:14])}</text>')
    return "".join(parts) + "</svg>"


def scatter_chart(points: list[tuple[str, float, float, int]], title: str, ylabel: str, unit: str) -> str:
    """Each student: the mean share of GMV actually paid to agencies over the rounds (x: fees,
    commission and bonus; nothing in weeks run in-house) against the goal's outcome (y), in the
    colour of their line in the path charts (the ``k``-th)."""
    if not points:
        return ""
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    xlabel = "paid to agencies, share of GMV (mean over the rounds)"
    parts, sx, sy = _frame(title, xlabel, ylabel, xs + [0.0], ys, "%", unit)
    for name, x, y, k in points:
        colour = PALETTE[k % len(PALETTE)]
        parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="6" fill="{colour}" fill-opacity="0.8"/>')
        parts.append(f'<text x="{sx(x) + 8:.1f}" y="{sy(y) + 4:.1f}">{html.escape(name[:14])}</text>')
    return "".join(parts) + "</svg>"


def debrief_view(game: Game) -> dict[str, Any]:
    """What the debrief shows, as data: the per-brand rows of the students' brands, the
    leaderboard, the charts (SVG text) and the replays' market totals."""
    if game.pending_runs():
        return {"computing": True}
    rows = [r for r in game.results() if r["student"]]
    names: dict[int, str] = {}
    for r in rows:
        names[r["brand"]] = r["student"]
    gmv = {names[j]: [r["gmv"] for r in rows if r["brand"] == j] for j in sorted(names)}
    value = {names[j]: [r["brand_value_index"] for r in rows if r["brand"] == j] for j in sorted(names)}
    board = game.leaderboard()
    goal_unit = "m" if game.goal in ("gmv", "profit") else ""
    commission = {  # what was paid, not what was signed (a brand run in-house pays nothing)
        j: ordered_sum(r["effective_commission"] for r in rows if r["brand"] == j)
        / max(1, sum(r["brand"] == j for r in rows))
        for j in names
    }
    order = {j: k for k, j in enumerate(sorted(names))}  # (the path charts' colours)
    points = [(b["name"], commission[b["brand"]], b[game.goal], order[b["brand"]]) for b in board]
    goal_label = GOALS[game.goal] + (" (RMB m, all rounds)" if goal_unit else " (last round's end)")
    replays = game.replays()
    return {
        "computing": False,
        "rows": rows,
        "leaderboard": board,
        "goal": game.goal,
        "goal_label": goal_label,
        "replays": replays,
        "low_commission": game.low_commission,
        "high_commission": game.high_commission,
        "charts": {
            "gmv": path_chart(gmv, "GMV per round, each student's brand", "GMV per round (RMB m)", "m"),
            "brand_value": path_chart(
                value, "Brand-value index at each round's end", "brand-value index (week 0 = 1)", ""
            ),
            "scatter": scatter_chart(points, "Paid to agencies against the goal", goal_label, goal_unit),
        },
    }
