"""Training layer: one run = (config, split, seed) -> predictions and metrics."""
