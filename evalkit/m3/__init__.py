"""BGE-M3 as FlagEmbedding computes it: one forward pass -> dense, sparse (lexical) and multi-vector (ColBERT).

loading.py reads the published layout (XLM-R encoder + sparse_linear / colbert_linear heads), encoder.py runs
texts through the shared token-budget batching, scores.py holds FlagEmbedding's score definitions, index.py
the resumable corpus shards (dense vectors + lexical weights), sparse_search.py the inverted-index search,
and evalkit/candidates/m3.py the paper's five modes as first stages.
"""
