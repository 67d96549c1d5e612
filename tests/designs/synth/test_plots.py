"""Synthetic-control plots return Figures built from the result (never shown)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from attribution.designs.synth import leave_one_out, plots
from attribution.errors import OptionError


def test_trajectory_plot(prop99):
    fig = prop99.plot()
    assert isinstance(fig, Figure)
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), prop99.treated_path.to_numpy())
    np.testing.assert_allclose(lines[1].get_ydata(), prop99.synthetic_path.to_numpy())
    # from arrays, as SDID results can call it
    fig2 = plots.trajectory_plot(
        times=range(5), treated=np.arange(5.0), synthetic=np.ones(5), treatment_start=3
    )
    assert len(fig2.axes[0].get_lines()) == 3  # two paths and the start marker
    with pytest.raises(OptionError):
        plots.trajectory_plot(times=range(5), treated=np.arange(5.0))


def test_gap_plot_excludes_poor_placebos(prop99):
    fig = prop99.plot(kind="gap")
    title = fig.axes[0].get_title()
    pre = prop99.placebo_gaps.loc[:1988]
    base = float(np.mean(prop99.gaps.loc[:1988] ** 2))
    n_bad = int(((pre**2).mean() > 5 * base).sum())
    assert n_bad > 0
    assert f"over {38 - n_bad} placebo gaps" in title and f"{n_bad} with pre-MSPE" in title
    # placebos drawn + treated gap + zero line + start marker
    assert len(fig.axes[0].get_lines()) == 38 - n_bad + 3
    all_fig = plots.gap_plot(prop99, max_pre_mspe_ratio=None)
    assert len(all_fig.axes[0].get_lines()) == 38 + 3
    with pytest.raises(OptionError):
        plots.gap_plot(prop99, max_pre_mspe_ratio=-1)


def test_weights_plot(prop99):
    fig = prop99.plot(kind="weights")
    bars = fig.axes[0].patches
    big = prop99.unit_weights[prop99.unit_weights > 1e-3].sort_values()
    assert len(bars) == len(big)
    assert bars[-1].get_width() == pytest.approx(big.iloc[-1])
    assert isinstance(plots.weights_plot(pd.Series({"a": 0.7, "b": 0.3})), Figure)


def test_leave_one_out_plot(prop99):
    loo = leave_one_out(prop99)
    fig = plots.leave_one_out_plot(prop99, loo=loo)
    n = loo["dropped"].nunique()
    assert len(fig.axes[0].get_lines()) == n + 3
    assert isinstance(prop99.plot(kind="leave_one_out"), Figure)


def test_plot_into_given_axes(prop99):
    fig = Figure()
    ax = fig.add_subplot()
    assert prop99.plot(ax=ax) is fig
