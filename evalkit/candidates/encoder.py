"""Bi-encoders for dense retrieval: texts -> pooled embeddings.

Loading is evalkit.models.loading.load_encoder (safetensors, native classes, gte translation, as the reranker);
encoding shares the reranker's length-sorted token-budget batching (evalkit.models.batching.BudgetRunner) and
flat int32 token arrays; the corpus streams shard by shard (evalkit.candidates.embeddings).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from evalkit.errors import EvalkitError
from evalkit.models import loading
from evalkit.models.batching import BudgetRunner
from evalkit.models.prefetch import prefetch
from evalkit.models.tokens import TokenArrays

log = logging.getLogger(__name__)
POOLINGS = ("cls", "mean")


@dataclass(frozen=True)
class EncoderSettings:
    max_length: int
    pooling: str = "cls"
    normalize: bool = True
    batch_tokens: int = 16384
    device: str = "cpu"


class Encoder:
    """texts -> float32 embeddings (n, dim) in input order."""

    def __init__(self, loaded: loading.LoadedModel, settings: EncoderSettings, progress: bool | None = None):
        if settings.pooling not in POOLINGS:
            raise EvalkitError(f"candidates.dense.pooling={settings.pooling!r} is not one of {POOLINGS}")
        limit = loading.model_max_length(loaded)
        if settings.max_length > limit:
            log.warning("candidates.dense.max_length=%d exceeds %s's %d positions: using %d",
                        settings.max_length, loaded.info["model"], limit, limit)
            settings = EncoderSettings(limit, settings.pooling, settings.normalize, settings.batch_tokens,
                                       settings.device)
        self.model, self.tokenizer, self.info, self.settings = loaded.model, loaded.tokenizer, loaded.info, settings
        self.runner = BudgetRunner(settings.batch_tokens, self.tokenizer.pad_token_id, progress=progress,
                                   device=settings.device)

    def fingerprint(self, prefix: str) -> str:
        """Everything that changes an embedding of a text: weights, tokenizer, dtype, length, pooling, prefix."""
        s = self.settings
        parts = [self.info["weights_hash"], self.info["tokenizer_hash"], self.info["dtype"], s.max_length,
                 s.pooling, s.normalize, repr(prefix)]
        return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]

    def tokenize(self, texts: Sequence[str], prefix: str = "") -> TokenArrays:
        ids = self.tokenizer([prefix + t for t in texts], truncation=True, max_length=self.settings.max_length,
                             return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        return TokenArrays.from_lists(ids)

    def encode(self, texts: Sequence[str], prefix: str = "", desc: str = "encode") -> np.ndarray:
        return self.encode_tokens(self.tokenize(texts, prefix), desc)

    def encode_tokens(self, tokens: TokenArrays, desc: str = "encode") -> np.ndarray:
        """Embeddings of already tokenized texts (rows of `tokens`), in order."""
        return self.runner.run(tokens, self._forward, desc=desc)

    def encode_groups(self, groups: Iterable[tuple[str, Sequence[str]]],
                      prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """(desc, texts) -> (desc, embeddings), one group at a time and in order; the next group is read and
        tokenized in a background thread while this one is encoded. executor=ray sends many groups through one
        actor pool instead (RayEncoder.encode_groups)."""
        tokenized = ((desc, self.tokenize(texts, prefix)) for desc, texts in groups)
        for desc, tokens in prefetch(tokenized, depth=1, name="evalkit-encode-groups"):
            yield desc, self.encode_tokens(tokens, desc)

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        device = self.settings.device
        input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=torch.zeros_like(input_ids)).last_hidden_state.float()
        if self.settings.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1) if self.settings.normalize else pooled
