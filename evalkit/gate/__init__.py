"""The CI gate: frozen subsets, blessed baselines, provenance of every result, and the regression check."""
