"""BGE-M3 as FlagEmbedding computes it: one forward pass -> dense, sparse (lexical) and multi-vector (ColBERT).

loading.py reads the published layout (XLM-R encoder + sparse_linear / colbert_linear heads), encoder.py runs
texts through the shared token-budget batching, scores.py holds FlagEmbedding's score definitions, index.py
the resumable corpus shards (dense vectors + lexical weights), sparse_search.py the inverted-index search,
and evalkit/candidates/m3.py the paper's five modes as first stages.
"""
from evalkit.m3.encoder import M3Encoder, M3Reps, SparseWeights
from evalkit.m3.loading import LoadedM3, load_m3
from evalkit.m3.scores import MODES, colbert_score, combine, dense_score, sparse_score

__all__ = ["LoadedM3", "load_m3", "M3Encoder", "M3Reps", "SparseWeights", "MODES", "dense_score",
           "sparse_score", "colbert_score", "combine"]
