"""evalkit: multilingual retrieval evaluation around the GTE multilingual reranker."""
from evalkit.contracts import Benchmark, Doc, DocStore, Qrels, Run, Scorer, canonical_order

__version__ = "0.1.0"
__all__ = ["Benchmark", "Doc", "DocStore", "Qrels", "Run", "Scorer", "canonical_order", "__version__"]
