"""The decoder-only reranker scorer (reranker.backend=llm, see evalkit/rerank/llm.py): the cross-encoder engine with
a prompt for layout and a causal LM's next-token logits for head.

A pair's tokens are `[bos] + prefix + query part + middle + doc part + suffix`, built by the engine's window
builder like an encoder's (special tokens -> prompt tokens), so windows, dedupe, the pair cache, executors and
progress are the encoder path's. Batches are left-padded before the forward pass (the score is read at the last
position) and the LM head runs at that position only (`logits_to_keep=1`: never batch x tokens x vocabulary).
Score: logit(yes) - logit(no) (score_transform=sigmoid: P(yes) of the two-way softmax, the Qwen3-Reranker card's
number), or the yes logit alone when no_token is null (FlagLLMReranker). Layer-wise models
(evalkit/models/layerwise.py) score with the head of each cutoff layer in one pass.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from evalkit.errors import EvalkitError
from evalkit.rerank.engine import (CrossEncoder, EngineSettings, EngineStats, build_cross_encoder, engine_settings,
                                   pair_cache)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prompt:
    """A decoder reranker's prompt, tokenized: what the engine's layout and templates need."""
    layout: tuple[list[int], list[int], list[int]]   # [bos] + prefix | middle | suffix token ids
    query_template: str                              # instruction filled in; "{query}" left for the engine
    doc_template: str
    query_tail: int                                  # tokens of the query template after {query}
    answer_ids: tuple[int, ...]                      # (yes,) or (yes, no)
    answer_tokens: tuple[str, ...]


def _ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def build_prompt(llm: Any, tokenizer: Any) -> Prompt:
    """The prompt of a `reranker.llm` config (evalkit.rerank.llm.LlmConfig) for `tokenizer`."""
    instruction = llm.instruction

    def fill(text: str) -> str:
        return text.replace("{instruction}", instruction) if instruction is not None else text

    bos: list[int] = []
    if llm.bos:
        if tokenizer.bos_token_id is None:
            raise EvalkitError("reranker.llm.bos: true, but the tokenizer has no BOS token")
        bos = [tokenizer.bos_token_id]
    prefix, middle, suffix = ([i for text in texts for i in _ids(tokenizer, fill(text))]
                              for texts in (llm.prefix, llm.middle, llm.suffix))
    escaped = (instruction or "").replace("{", "{{").replace("}", "}}")
    query_template = llm.query.replace("{instruction}", escaped)
    tail_text = query_template.split("{query}", 1)[1].format() if "{query}" in query_template else ""
    answers, answer_ids = [], []
    for key, word in (("yes_token", llm.yes_token), ("no_token", llm.no_token)):
        if word is None:
            continue
        ids = _ids(tokenizer, word)
        if len(ids) != 1:
            hint = " (YAML reads an unquoted yes/no as a boolean: quote it)" if word in ("True", "False") else ""
            raise EvalkitError(f"reranker.llm.{key}: {word!r} is {len(ids)} tokens for this tokenizer, not one{hint}")
        answers.append(word)
        answer_ids.append(ids[0])
    return Prompt((bos + prefix, middle, suffix), query_template, llm.doc, len(_ids(tokenizer, tail_text)),
                  tuple(answer_ids), tuple(answers))


def left_align(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded rows (the engine's batches) as left-padded ones: each row's last real token at position -1."""
    width = input_ids.shape[1]
    shift = width - attention_mask.sum(dim=1, keepdim=True)
    source = (torch.arange(width, device=input_ids.device).unsqueeze(0) - shift) % width
    return input_ids.gather(1, source), attention_mask.gather(1, source)


def last_logits(model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                vocab_ids: tuple[int, ...]) -> torch.Tensor:
    """float32 (batch, len(vocab_ids)) next-token logits at the last position of left-padded rows."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=1).logits[:, -1]
    return logits[:, list(vocab_ids)].float()


class DecoderReranker(CrossEncoder):
    """A `Scorer` over a causal LM (or a layer-wise one when `cutoff_layers` is given)."""

    def __init__(self, model: torch.nn.Module, tokenizer: Any, info: dict[str, Any], settings: EngineSettings,
                 prompt: Prompt, cutoff_layers: tuple[int, ...] = (), cache=None, progress: bool | None = None):
        self.prompt, self.cutoff_layers = prompt, tuple(cutoff_layers)
        self.query_tail = prompt.query_tail
        super().__init__(model, tokenizer, info, settings, cache=cache, progress=progress)
        self.extra_fingerprints = tuple(self._fingerprint_for(c) for c in self.cutoff_layers[1:])

    def _make_layout(self, tokenizer: Any) -> tuple[list[int], list[int], list[int]]:
        return self.prompt.layout

    def _check_head(self, model: torch.nn.Module) -> None:
        if not self.cutoff_layers and not hasattr(model, "lm_head"):
            raise EvalkitError(f"reranker.model: {type(model).__name__} has no language-model head")

    def _fingerprint_parts(self) -> dict[str, Any]:
        p = self.prompt
        return {**super()._fingerprint_parts(), "layout": [list(part) for part in p.layout],
                "answer_ids": list(p.answer_ids), "cutoff_layer": self.cutoff_layers[0] if self.cutoff_layers else None}

    def _fingerprint_for(self, cutoff: int) -> str:
        view = copy.copy(self)
        view.cutoff_layers = (cutoff,)
        return view._fingerprint()

    @property
    def provenance(self) -> dict[str, Any]:
        p = self.prompt
        return {**super().provenance, "prompt": {"layout_tokens": [len(part) for part in p.layout],
                                                 "query_template": p.query_template, "doc_template": p.doc_template,
                                                 "answer_tokens": list(p.answer_tokens),
                                                 "answer_ids": list(p.answer_ids)},
                "cutoff_layers": list(self.cutoff_layers) or None}

    def variants(self) -> list[tuple[str, "DecoderReranker"]]:
        """(name, scorer) for each cutoff layer after the first: the same model read at another layer. The main
        pass caches every cutoff's score, so these read the pair cache (with reranker.cache=false they score again)."""
        views = []
        for cutoff in self.cutoff_layers[1:]:
            view = copy.copy(self)
            view.cutoff_layers, view.extra_fingerprints, view.stats = (cutoff,), (), EngineStats()
            view.fingerprint = view._fingerprint()
            views.append((f"layer{cutoff}", view))
        return views

    def _score(self, outputs: torch.Tensor) -> torch.Tensor:
        if not self.cutoff_layers:   # (batch, 1 or 2) answer logits -> yes [- no]
            outputs = outputs[:, 0] - outputs[:, 1] if outputs.shape[1] == 2 else outputs[:, 0]
        return torch.sigmoid(outputs) if self.settings.score_transform == "sigmoid" else outputs

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        device = self.settings.device
        input_ids, attention_mask = (t.to(device) for t in left_align(input_ids, attention_mask))
        if self.cutoff_layers:
            outputs = self.model.layer_scores(input_ids, attention_mask, list(self.cutoff_layers)).float()
            return self._score(outputs if len(self.cutoff_layers) > 1 else outputs[:, 0])
        return self._score(last_logits(self.model, input_ids, attention_mask, self.prompt.answer_ids))

    def _packed_forward(self, tokens, rows) -> torch.Tensor:
        from evalkit.models.packed import packed_last_logits

        return self._score(packed_last_logits(self.model, tokens, rows, self.settings.device, self.prompt.answer_ids))


def build_decoder(cfg: Any, cache_dir: str | Path | None = None, progress: bool | None = None) -> DecoderReranker:
    """A DecoderReranker from a reranker config with backend=llm; `max_length: null` is the model's own limit."""
    from evalkit.models import loading
    from evalkit.models.device import resolve_device_dtype

    llm = cfg.llm
    device, dtype = resolve_device_dtype(cfg.device, cfg.dtype)
    cutoffs = tuple(llm.cutoff_layers or ())
    if cutoffs:
        from evalkit.models.layerwise import load_layerwise

        model, tokenizer, info = load_layerwise(cfg.model, revision=cfg.revision, dtype=dtype, device=device)
        model.check_cutoffs(list(cutoffs))   # before any work: one line naming reranker.llm.cutoff_layers
        limit = int(model.config.max_position_embeddings)
    else:
        loaded = loading.load_causal_lm(cfg.model, revision=cfg.revision, dtype=dtype, device=device,
                                        attn_implementation=cfg.attn_implementation)
        model, tokenizer, info = loaded.model, loaded.tokenizer, loaded.info
        limit = loading.model_max_length(loaded)
    max_length = cfg.max_length if cfg.max_length is not None else limit
    if max_length > limit:
        raise EvalkitError(f"reranker.max_length: {max_length} exceeds the model's limit of {limit} tokens")
    prompt = build_prompt(llm, tokenizer)
    fixed = sum(len(part) for part in prompt.layout)   # default query budget: 3/4 of what the prompt leaves
    query_max_length = cfg.query_max_length if cfg.query_max_length is not None else (max_length - fixed) * 3 // 4
    settings = engine_settings(cfg, model, device, dtype, max_length, query_max_length, prompt.query_template,
                               prompt.doc_template)
    return DecoderReranker(model, tokenizer, info, settings, prompt, cutoffs, cache=pair_cache(cfg, cache_dir),
                           progress=progress)


def build_local_scorer(cfg: Any, cache_dir: str | Path | None = None, progress: bool | None = None) -> CrossEncoder:
    """The local model a reranker config names: a decoder (backend=llm) or a cross-encoder; what executors build."""
    if getattr(cfg, "backend", "cross_encoder") == "llm":
        return build_decoder(cfg, cache_dir, progress)
    return build_cross_encoder(cfg, cache_dir, progress)
