"""The XLM-R tokenizer bundled with evalkit (see evalkit/assets/NOTICE), available offline."""
from __future__ import annotations

import functools
import gzip
import hashlib
import shutil
from pathlib import Path

from evalkit.storage import cache_root, cached_artefact

BUNDLED = Path(__file__).resolve().parent.parent / "assets" / "xlmr_tokenizer.json.gz"


def bundled_tokenizer_file() -> Path:
    """Decompress the bundled tokenizer.json once into the evalkit cache (a verified artefact)."""
    digest = hashlib.sha256(BUNDLED.read_bytes()).hexdigest()[:16]

    def build(tmp: Path) -> dict:
        with gzip.open(BUNDLED, "rb") as src, open(tmp / "tokenizer.json", "wb") as dst:
            shutil.copyfileobj(src, dst)
        return {"meta": {"source": BUNDLED.name, "source_sha256_16": digest}}

    artefact = cached_artefact(cache_root() / "tokenizers" / f"xlmr-{digest}", "tokenizer", 1, build)
    return artefact.path / "tokenizer.json"


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str = "xlmr"):
    """`xlmr` = the bundled XLM-R tokenizer; anything else = a tokenizer directory or hub id."""
    from transformers import AutoTokenizer, XLMRobertaTokenizerFast

    if name == "xlmr":
        return XLMRobertaTokenizerFast(tokenizer_file=str(bundled_tokenizer_file()))
    return AutoTokenizer.from_pretrained(name, use_fast=True)


class LengthTokenizer:
    """Token counts with the `tokenizers` library alone (no transformers import: ~10 s less start-up).

    Called like a transformers tokenizer on a list of texts; special tokens are counted, as the model sees them.
    """

    def __init__(self, path: Path):
        self.path, self._tokenizer = path, None
        self.key = f"tokenizers:{path.name}"      # names the vocabulary: lengths cached under it stay valid

    def __call__(self, texts: list[str]) -> dict[str, list[list[int]]]:
        if self._tokenizer is None:               # loaded on first use (~1-3 s): cached lengths need none
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(self.path))
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
        return {"input_ids": [e.ids for e in self._tokenizer.encode_batch(texts, add_special_tokens=True)]}


@functools.lru_cache(maxsize=4)
def load_length_tokenizer(name: str = "xlmr"):
    """What length buckets count with: the bundled XLM-R tokenizer via `tokenizers`, else `load_tokenizer(name)`."""
    return LengthTokenizer(bundled_tokenizer_file()) if name == "xlmr" else load_tokenizer(name)
