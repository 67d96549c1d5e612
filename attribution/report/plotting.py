"""Plotting helpers shared by every design: figures are returned, never shown.

Figures are built with `matplotlib.figure.Figure` directly (not pyplot), so no global state or GUI
backend is touched; notebooks display them with ``display(fig)`` and reports save them with savefig.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["new_axes"]


def new_axes(
    ax: Axes | None = None, *, width: float = 6.4, height: float = 4.0
) -> tuple[Figure, Axes]:
    """Use the caller's axes, or make a new free-standing figure with one axes."""
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()
