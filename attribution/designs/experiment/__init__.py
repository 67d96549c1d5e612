"""Online A/B experiments: metrics, sufficient statistics in the engine, lifts, decisions."""
