"""The shared model runtime: loading without remote code, token arrays, token-budget batching, prefetch, packed
attention, device and dtype resolution. Rerankers (rerank/), dense and M3 first stages build on it."""
