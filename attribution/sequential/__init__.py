"""Sequential monitoring: group-sequential boundaries and always-valid inference.

- `boundaries(information_fractions, method=...)`: two-sided efficacy z-boundaries per look
  (O'Brien–Fleming, Pocock, Lan–DeMets alpha spending), optional non-binding futility bounds;
- `monitor_statistics(estimates, variances, method=...)`: always-valid intervals, p-values and
  decisions from per-look cumulative statistics (mixture SPRT, asymptotic confidence sequences);
- `monitor(data, arm=, unit=, metric=, time=)`: the same on an experiment table, per-look sums in
  the engine.
"""

from attribution.sequential.api import boundaries, monitor, monitor_statistics
from attribution.sequential.results import Boundaries, MonitorResult

__all__ = ["Boundaries", "MonitorResult", "boundaries", "monitor", "monitor_statistics"]
