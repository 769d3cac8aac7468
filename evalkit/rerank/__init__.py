"""Cross-encoders: loading without remote code, the scoring engine, token-budget batching, the pair-score cache."""
