"""The multi-stage recommender model behind every scenario, and its exact expectations.

A request passes through four stages: representation (embedding E) → retrieval (R) → ranking (K) →
re-ranking. A component changes the quality of its stage; engagement is proportional to the product
of the stage qualities relative to the old system:

    recall(E, R)    = 1 + n(d) · (θ_E e·E + θ_R r·R + θ_R i_ER·E·R)     retrieval over the embeddings
    precision(E, K) = 1 + n(d) · (θ_K k·K + θ_EK i_EK·E·K)             ranker reads embedding features
    multiplier      = recall · precision                                re-ranking is unchanged

so the embedding helps the ranker (E:K > 0, large), helps retrieval a little (E:R > 0, small), and the
three-way interaction is only the tiny product term (~1e-5 of baseline). θ are segment response
factors (new users gain most from better embeddings, heavy users from the ranker). n(d) is novelty:
on day d of the test, n(d) = 1 + ν·exp(−(d − 1)/τ), decaying toward the long-run level 1.

A user's outcome is engagement averaged over a test window of `WINDOW_DAYS` days, so the exact cell
mean averages the daily multiplier over the window (a finite sum — no Monte Carlo):

    E[y | cell] = Σ_s p_s μ_s · (1/D) Σ_d recall_s(d) · precision_s(d)

with p_s the segment shares and μ_s the segment mean activity (market multipliers are normalised to
mean one, so they do not enter the expectation).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution.errors import OptionError

__all__ = [
    "COMPONENTS",
    "SEGMENTS",
    "WINDOW_DAYS",
    "ComponentEffects",
    "SegmentProfile",
    "cell_multipliers",
    "daily_multipliers",
    "novelty",
]

COMPONENTS: tuple[str, ...] = ("E", "R", "K")
WINDOW_DAYS: int = 14
"""Length of the test window over which a user's engagement is averaged."""


@dataclass(frozen=True)
class SegmentProfile:
    """One user segment: share, activity distribution (gamma) and response to each stage."""

    name: str
    share: float
    mean_activity: float
    activity_shape: float
    theta_E: float
    theta_R: float
    theta_K: float
    theta_EK: float


SEGMENTS: tuple[SegmentProfile, ...] = (
    SegmentProfile("new", 0.25, 4.0, 1.2, theta_E=2.0, theta_R=1.2, theta_K=0.5, theta_EK=0.6),
    SegmentProfile("casual", 0.45, 8.5, 2.0, theta_E=1.1, theta_R=1.0, theta_K=0.9, theta_EK=0.9),
    SegmentProfile(
        "heavy", 0.30, 17.25, 3.0, theta_E=0.8, theta_R=0.95, theta_K=1.15, theta_EK=1.12
    ),
)
"""Mean activity Σ p_s μ_s = 10 units/user; activity CV ≈ 0.87 (skewed, positive)."""


@dataclass(frozen=True)
class ComponentEffects:
    """Long-run relative stage lifts of the new components (fractions of baseline).

    `E`, `R`, `K` are each component's stand-alone long-run lift; `ER` and `EK` the extra lift when
    the embedding is combined with the new retrieval / ranker. `novelty` is the extra relative effect
    on day 1 (ν; the day-1 effect is (1 + ν) × the long-run effect) and `novelty_days` its e-folding
    time τ. The defaults give, over the 14-day window and averaged over segments, roughly
    (BHH, % of baseline): E 0.8, R 0.55, K 0.65, E:R 0.1, E:K 0.4, E:R:K ≈ 0; all-on ≈ +2%.

    Use ``ComponentEffects.none()`` for an A/A test and ``effects.scaled(f)`` to scale every lift.
    """

    E: float = 0.0024
    R: float = 0.0036
    K: float = 0.0020
    ER: float = 0.0016
    EK: float = 0.0064
    novelty: float = 0.8
    novelty_days: float = 4.0

    def __post_init__(self) -> None:
        for name in ("E", "R", "K", "ER", "EK", "novelty", "novelty_days"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise OptionError(f"ComponentEffects.{name}={value!r} must be a number")
            if not math.isfinite(value):
                raise OptionError(f"ComponentEffects.{name}={value!r} must be finite")
        for name in ("E", "R", "K", "ER", "EK"):
            if getattr(self, name) <= -0.5:
                raise OptionError(
                    f"ComponentEffects.{name}={getattr(self, name)!r} would make engagement negative",
                    fix="use relative lifts above -0.5 (e.g. -0.01 for a 1% loss)",
                )
        if self.novelty < 0:
            raise OptionError(f"ComponentEffects.novelty={self.novelty!r} must be >= 0")
        if self.novelty_days <= 0:
            raise OptionError(f"ComponentEffects.novelty_days={self.novelty_days!r} must be > 0")

    @classmethod
    def none(cls) -> ComponentEffects:
        """No effect of any component (A/A test, sample-ratio-mismatch tests)."""
        return cls(E=0.0, R=0.0, K=0.0, ER=0.0, EK=0.0)

    def scaled(self, factor: float) -> ComponentEffects:
        """Every lift multiplied by `factor` (novelty unchanged)."""
        return dataclasses.replace(
            self,
            E=self.E * factor,
            R=self.R * factor,
            K=self.K * factor,
            ER=self.ER * factor,
            EK=self.EK * factor,
        )


def novelty(effects: ComponentEffects, days: np.ndarray) -> np.ndarray:
    """n(d) = 1 + ν·exp(−(d − 1)/τ): relative size of the effect on test day d (1-based)."""
    return 1.0 + effects.novelty * np.exp(
        -(np.asarray(days, dtype=float) - 1.0) / effects.novelty_days
    )


def daily_multipliers(
    effects: ComponentEffects,
    segment: SegmentProfile,
    cell: Sequence[float],
    days: np.ndarray,
) -> np.ndarray:
    """Engagement multiplier (relative to the old system) on each day for one segment and cell.

    `cell` is (E, R, K) with values in [0, 1] (shares of traffic are allowed: the stage lifts are
    linear in each share, so a share s of traffic on a component gives s times its lift).
    """
    e, r, k = (float(x) for x in cell)
    n = novelty(effects, days)
    recall = 1.0 + n * (
        segment.theta_E * effects.E * e
        + segment.theta_R * effects.R * r
        + segment.theta_R * effects.ER * e * r
    )
    precision = 1.0 + n * (segment.theta_K * effects.K * k + segment.theta_EK * effects.EK * e * k)
    return recall * precision


def cell_multipliers(effects: ComponentEffects, *, window_days: int = WINDOW_DAYS) -> np.ndarray:
    """Window-averaged multipliers, shape (n_segments, 8) over cells in Yates order (E fastest)."""
    from attribution.simulate.truth import cells

    days = np.arange(1, window_days + 1)
    out = np.empty((len(SEGMENTS), 8))
    for s, seg in enumerate(SEGMENTS):
        for c, cell in enumerate(cells(3)):
            out[s, c] = daily_multipliers(effects, seg, cell, days).mean()
    return out


def segment_table() -> pd.DataFrame:
    """The segment profiles as a small table (for truth details and documentation)."""
    return pd.DataFrame([dataclasses.asdict(s) for s in SEGMENTS])
