"""Sequential monitoring: group-sequential boundaries and always-valid inference.

- `boundaries(information_fractions, method=...)`: two-sided efficacy z-boundaries per look
  (O'Brien–Fleming, Pocock, Lan–DeMets alpha spending), optional non-binding futility bounds;
- `monitor_statistics(estimates, variances, method=...)`: always-valid intervals, p-values and
  decisions from per-look cumulative statistics (mixture SPRT, asymptotic confidence sequences);
- `monitor(data, arm=, unit=, metric=, time=)`: the same on an experiment table, per-look sums in
  the engine.

Why always-valid: in 2,000 simulated A/A experiments (100 new users per arm per day, a skewed
outcome) read every day for 14 days, stopping at the first day with |z| ≥ 1.96 declared a
difference in 22.6% of them, four and a half times the 5% promised. Group-sequential boundaries
planned for the 14 looks held the level (O'Brien–Fleming 4.55%, Lan–DeMets O'Brien–Fleming
4.75%, Pocock 4.65%), and so did the always-valid methods, which need no plan of the looks: the
mixture SPRT (0.90%) and the asymptotic confidence sequence (0.85%)
(`tests/sequential/test_always_valid.py::test_aa_peeking_false_positive_rates`, seed 11; Monte
Carlo SE 0.5 points). Their price is width: at the look they are tuned for, the always-valid
interval is about 1.5 times the fixed-sample one (half-width factor 3.04 instead of 1.96 at
alpha = 0.05).
"""

from attribution.sequential.api import boundaries, monitor, monitor_statistics
from attribution.sequential.results import Boundaries, MonitorResult

__all__ = ["Boundaries", "MonitorResult", "boundaries", "monitor", "monitor_statistics"]
