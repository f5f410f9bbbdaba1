"""Figures of a single run."""

from __future__ import annotations

from matplotlib.figure import Figure

# Okabe-Ito colour-blind-safe palette
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def plot_run(result, path=None):
    """GMV, brand-value index and promotion-heavy share over the run.

    With ``path`` the figure is written there and never shown (no display backend is touched,
    so it is safe in scripts, servers and worker processes); without, it is a pyplot figure that
    a notebook displays.
    """
    ts = result.timeseries
    if path is None:
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    else:
        fig = Figure(figsize=(8, 6))
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.plot(ts["week"], ts["gmv"] / 1e6, color=COLORS[0], lw=1.2)
    ax1.set_ylabel("GMV (million RMB / week)")
    ax1.set_title("What happens to sales and to the brands over the run?")
    ax2.plot(ts["week"], ts["brand_value_index"], color=COLORS[1], lw=1.5, label="brand-value index")
    ax2.plot(
        ts["week"],
        ts["promo_strategy_share"],
        color=COLORS[2],
        lw=1.0,
        ls="--",
        label="share of brands on promotion-heavy strategy",
    )
    ax2.axhline(1.0, color="grey", lw=0.6)
    ax2.set_ylabel("index (week 0 = 1) / share")
    ax2.set_xlabel("week")
    ax2.legend(loc="best", frameon=False)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
