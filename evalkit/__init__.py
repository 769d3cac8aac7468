"""evalkit: multilingual retrieval evaluation around the GTE multilingual reranker."""
__version__ = "0.1.0"
__all__ = ["Benchmark", "Doc", "DocStore", "Qrels", "Run", "Scorer", "canonical_order", "__version__"]


def __getattr__(name: str):
    """The contracts load on first use, so `evalkit --help` starts without numpy."""
    if name in __all__:
        from evalkit import contracts

        return getattr(contracts, name)
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
