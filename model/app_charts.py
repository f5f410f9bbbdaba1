"""The app's charts: the four panels as one ECharts option (plain data, drawn in the browser)."""

from __future__ import annotations

from typing import Any

from model.agents import is_festival
from model.app_run import PANELS
from model.plots import COLORS

CURRENT_COLOR = COLORS[0]  # the project's palette (Okabe-Ito blue)
PREVIOUS_COLOR = "#999999"
FESTIVAL_COLOR = "#E69F00"
FESTIVAL_LABEL = "festival week (618, Double 11)"


def _points(hist: dict[str, list], col: str, scale: float, start: dict[str, float] | None = None) -> list[list[float]]:
    """A panel's points: week w's value at x = w + 1 (the end of the (w+1)-th week, as the week
    card counts), after the value at x = 0 before the first week (``start``), so the chart and
    the cards show the same numbers at the same week."""
    first = [[0, float(f"{start[col] * scale:.4g}")]] if start is not None else []
    return first + [[w + 1, float(f"{v * scale:.4g}")] for w, v in zip(hist["week"], hist[col])]


def chart_option(
    hist: dict[str, list],
    previous: dict[str, list] | None = None,
    *,
    label: str = "this run",
    previous_label: str = "previous run",
    start: dict[str, float] | None = None,
    previous_start: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The four panels as one ECharts option: GMV, brand-value index, promotion-heavy share,
    deal-proneness, with festival weeks (618, Double 11) marked.

    ``start`` (:func:`week_zero`) is the point at week 0, before the first week; a week's
    value is drawn at the week the card shows after it (week w's at w + 1). ``previous``
    (another run's :func:`history`, with its ``previous_start``) is drawn dashed in grey. The
    option is plain data (lists of numbers rounded to 4 significant digits), drawn in the
    browser: building it costs the server about a millisecond a week shown.
    """
    weeks = [len(hist["week"])] + ([len(previous["week"])] if previous else [])
    xmax = 13 * max(4, *(-(-w // 13) for w in weeks))  # whole quarters, at least a year
    ticks = 13 * -(-xmax // (13 * 8))  # labels on quarters, at most about eight of them
    festivals = [w + 1 for w in range(xmax) if is_festival(w)]  # at the festival week's point
    left, top = ("6%", "56%"), ("7%", "50%")
    option: dict[str, Any] = {
        "animation": False,
        "textStyle": {"fontSize": 12},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "line"}},
        "legend": {"bottom": 0, "itemGap": 24, "textStyle": {"fontSize": 12}},
        "title": [],
        "grid": [],
        "xAxis": [],
        "yAxis": [],
        "series": [],
    }
    for i, (col, title, scale) in enumerate(PANELS):
        x, y = left[i % 2], top[i // 2]
        option["title"].append(
            {
                "text": title,
                "left": x,
                "top": f"{float(y[:-1]) - 6:g}%",
                "textStyle": {"fontSize": 14, "fontWeight": "normal"},
            }
        )
        option["grid"].append({"left": x, "top": y, "width": "40%", "height": "32%", "containLabel": True})
        option["xAxis"].append(
            {
                "type": "value",
                "gridIndex": i,
                "min": 0,
                "max": xmax,
                "interval": ticks,
                "name": "week" if i >= 2 else "",
                "nameLocation": "middle",
                "nameGap": 24,
                "splitLine": {"lineStyle": {"opacity": 0.4}},
            }
        )
        share = col in ("promo_strategy_share", "mean_deal_proneness")
        option["yAxis"].append(
            {
                "type": "value",
                "gridIndex": i,
                "scale": not share,
                **({"min": 0, "max": 1} if share else {}),
                "splitLine": {"lineStyle": {"opacity": 0.4}},
            }
        )
        on = {"xAxisIndex": i, "yAxisIndex": i}
        marks = [{"xAxis": w} for w in festivals]
        if col == "brand_value_index":  # the week-0 level
            marks.append({"yAxis": 1, "lineStyle": {"color": "#000", "type": "solid", "opacity": 0.5}})
        option["series"].append(
            {
                "name": FESTIVAL_LABEL,
                "type": "line",
                "data": [],
                **on,
                "silent": True,
                "color": FESTIVAL_COLOR,
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "label": {"show": False},
                    "animation": False,
                    "lineStyle": {"color": FESTIVAL_COLOR, "type": "solid", "width": 1, "opacity": 0.6},
                    "data": marks,
                },
            }
        )
        if previous:
            option["series"].append(
                {
                    "name": previous_label,
                    "type": "line",
                    **on,
                    "showSymbol": False,
                    "color": PREVIOUS_COLOR,
                    "lineStyle": {"type": "dashed", "width": 1.5},
                    "data": _points(previous, col, scale, previous_start),
                }
            )
        option["series"].append(
            {
                "name": label,
                "type": "line",
                **on,
                "showSymbol": len(hist["week"]) <= 1,
                "color": CURRENT_COLOR,
                "lineStyle": {"width": 2},
                "data": _points(hist, col, scale, start),
            }
        )
    if not len(hist["week"]):
        option["graphic"] = [
            {
                "type": "text",
                "left": "18%",
                "top": "22%",
                "silent": True,
                "style": {"text": "week 0: press Step or Play", "fill": "#888", "fontSize": 15},
            }
        ]
    return option
