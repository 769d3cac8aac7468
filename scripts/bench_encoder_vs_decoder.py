"""Encoder vs decoder rerankers, the same pairs through each: pairs/s side by side, the ratio to GTE, FLOPs per pair
from the configs (issue 30: the GTE card's "~10x faster than decoder-only LLM rerankers" claim, measured).

Random-weight models of the real shapes (speed does not depend on the weights' values), shapes from the public
config.json of each model (SHAPES below). Every model scores through evalkit's own scorer: CrossEncoder for the
encoders, DecoderReranker (evalkit/rerank/decoder.py) with the reranker=qwen3 / reranker=bge_gemma presets' prompts
for the decoders (the Qwen2 uses Qwen3-Reranker's prompt); `--packed`: padding-free forwards (causal varlen
attention for the decoders on CUDA) with the runtime guard (evalkit.models.guard) checking each model's first batch.
Every model reads the real XLM-R tokenizer (the decoders' own tokenizers are not available offline; their vocabulary
is set to its 250,002 pieces, near gemma's 256,000; FLOPs below use each model's real vocabulary).

FLOPs per pair of n tokens: 2 x matmul params x n (q/k/v/o projections and MLP of every layer) + attention
(QK^T and AV: 4 x layers x heads x head_dim x n^2, half of it for causal decoders) + for decoders the LM head at
the last position (2 x hidden x vocab). Embedding lookups, norms and classifier heads are left out.

    python scripts/bench_encoder_vs_decoder.py --out results/bench          # CPU: a few minutes
    python scripts/bench_encoder_vs_decoder.py --dry-run --out /tmp/x       # tiny shapes, seconds: checks the script
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import logging
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

from bench_rerank import make_pairs  # noqa: E402
from evalkit.rerank.engine import CrossEncoder, EngineSettings  # noqa: E402
from evalkit.storage.atomic import atomic_write_text  # noqa: E402
from evalkit.testing import make_tokenizer_dir  # noqa: E402

log = logging.getLogger("bench_encoder_vs_decoder")


@dataclass(frozen=True)
class Shape:
    """One model's shape, as its public config.json gives it."""
    name: str
    source: str               # the config the shape is taken from
    cls: str                  # transformers class
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    gated: bool               # gated MLP (3 matrices) or not (2)
    causal: bool
    extra: dict = field(default_factory=dict)

    def matmul_params(self) -> int:
        h, q, kv = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim
        return self.layers * (h * q + 2 * h * kv + q * h + (3 if self.gated else 2) * h * self.intermediate)

    def flops(self, n: np.ndarray) -> np.ndarray:
        n = np.asarray(n, dtype=np.float64)
        attention = 4 * self.layers * self.heads * self.head_dim * n ** 2 * (0.5 if self.causal else 1.0)
        head = 2 * self.hidden * self.vocab if self.causal else 0
        return 2 * self.matmul_params() * n + attention + head


SHAPES = [
    Shape("gte-multilingual-reranker-base", "Alibaba-NLP/gte-multilingual-reranker-base (306M)",
          "GteForSequenceClassification", 768, 12, 12, 12, 64, 3072, 250048, True, False),
    Shape("bge-reranker-v2-m3", "BAAI/bge-reranker-v2-m3, XLM-RoBERTa large (568M)",
          "XLMRobertaForSequenceClassification", 1024, 24, 16, 16, 64, 4096, 250002, False, False),
    Shape("Qwen3-Reranker-0.6B", "Qwen/Qwen3-Reranker-0.6B = Qwen3-0.6B (tied embeddings, rope_theta 1e6)",
          "Qwen3ForCausalLM", 1024, 28, 16, 8, 128, 3072, 151669, True, True,
          {"rope_theta": 1e6, "tie_word_embeddings": True}),
    Shape("Qwen2-1.5B (gte-Qwen2-1.5B shape)", "Alibaba-NLP/gte-Qwen2-1.5B-instruct = Qwen2-1.5B (q/k/v bias)",
          "Qwen2ForCausalLM", 1536, 28, 12, 2, 128, 8960, 151646, True, True,
          {"rope_theta": 1e6, "tie_word_embeddings": True}),
    Shape("bge-reranker-v2-gemma", "BAAI/bge-reranker-v2-gemma = gemma-2b (multi-query attention, 2.5B)",
          "GemmaForCausalLM", 2048, 18, 8, 1, 256, 16384, 256000, True, True,
          {"tie_word_embeddings": True, "hidden_activation": "gelu_pytorch_tanh"}),
]

# the evalkit preset whose prompt each decoder reads (Qwen3-Reranker card; FlagLLMReranker for gemma)
PRESETS = {"Qwen3ForCausalLM": "qwen3", "Qwen2ForCausalLM": "qwen3", "GemmaForCausalLM": "bge_gemma"}
TINY = dict(hidden=64, layers=2, heads=4, kv_heads=2, head_dim=16, intermediate=128)


def tiny(shape: Shape) -> Shape:
    """The same architecture at test size (--dry-run)."""
    kv = 1 if shape.kv_heads == 1 else (TINY["heads"] if shape.kv_heads == shape.heads else TINY["kv_heads"])
    head_dim = TINY["hidden"] // TINY["heads"] if not shape.causal else TINY["head_dim"]
    return Shape(shape.name, shape.source, shape.cls, TINY["hidden"], TINY["layers"], TINY["heads"], kv, head_dim,
                 TINY["intermediate"], shape.vocab, shape.gated, shape.causal, shape.extra)


def build(shape: Shape, dtype: torch.dtype, device: str, vocab: int) -> torch.nn.Module:
    import transformers

    cls = getattr(transformers, shape.cls)
    common = dict(hidden_size=shape.hidden, num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
                  intermediate_size=shape.intermediate)
    if shape.causal:
        config = cls.config_class(**common, vocab_size=vocab, num_key_value_heads=shape.kv_heads,
                                  head_dim=shape.head_dim, max_position_embeddings=32768, **shape.extra)
    elif shape.cls.startswith("Gte"):
        config = cls.config_class(**common, vocab_size=shape.vocab, max_position_embeddings=8192, num_labels=1)
    else:
        config = cls.config_class(**common, vocab_size=shape.vocab, max_position_embeddings=8194, type_vocab_size=1,
                                  num_labels=1, pad_token_id=1)
    torch.manual_seed(0)
    with torch.device(device):                                   # random init: speed does not depend on values
        model = cls(config).to(dtype=dtype).eval()
    counted = sum(m.weight.numel() for name, m in model.named_modules()   # every layer's matmuls, from the model
                  if isinstance(m, torch.nn.Linear) and (".layers." in name or ".layer." in name))
    if counted != shape.matmul_params():
        raise SystemExit(f"{shape.name}: the model has {counted} matmul parameters, the formula {shape.matmul_params()}")
    return model


def decoder_scorer(model, shape: Shape, tokenizer, args, info: dict):
    """A DecoderReranker with the prompt of the evalkit preset this decoder's recipe is (configs/reranker/)."""
    from omegaconf import OmegaConf

    from evalkit.app.schema import RerankerConfig
    from evalkit.rerank.decoder import DecoderReranker, build_prompt

    raw = OmegaConf.load(REPO / "configs" / "reranker" / f"{PRESETS[shape.cls]}.yaml")
    cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RerankerConfig), raw))
    prompt = build_prompt(cfg.llm, tokenizer)
    settings = EngineSettings(max_length=args.max_length, query_template=prompt.query_template,
                              doc_template=prompt.doc_template, score_transform=cfg.score_transform,
                              batch_tokens=args.batch_tokens, dtype=args.dtype, device=args.device,
                              packed=args.packed)
    return DecoderReranker(model, tokenizer, info, settings, prompt, progress=False)


def run_shape(shape: Shape, mixes: dict[str, list], tokenizer, tok_dir: Path, args) -> list[dict]:
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    start = time.perf_counter()
    model = build(shape, dtype, args.device, len(tokenizer))
    built = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    if shape.causal:      # the real vocabulary's (tied) embedding rows, not the stand-in tokenizer's
        params += (shape.vocab - len(tokenizer)) * shape.hidden
    rows, base = [], {"weights_hash": f"random-{shape.name}", "tokenizer_hash": "xlmr", "revision": None}
    for mix, pairs in mixes.items():
        if shape.causal:
            scorer = decoder_scorer(model, shape, tokenizer, args, base)
        else:
            settings = EngineSettings(max_length=args.max_length, batch_tokens=args.batch_tokens, dtype=args.dtype,
                                      device=args.device, packed=args.packed)
            scorer = CrossEncoder(model, tokenizer, base, settings, progress=False)
        score, lengths, info = scorer.score, scorer.encode_arrays(pairs).lengths, scorer.info
        score(pairs[:1])                                                   # warm-up
        probe = matmul_rate(args.device, dtype)
        sync(args.device)
        t0 = time.perf_counter()
        scores = np.asarray(score(pairs))
        sync(args.device)
        wall = time.perf_counter() - t0
        rows.append({"mix": mix, "system": shape.name, "kind": "decoder" if shape.causal else "encoder",
                     "params M": params / 1e6, "matmul params M": shape.matmul_params() / 1e6,
                     "pairs": len(pairs), "mean tokens": float(lengths.mean()),
                     "GFLOPs/pair": float(shape.flops(lengths).mean() / 1e9), "wall s": wall,
                     "pairs/s": len(pairs) / wall, "tokens/s": float(lengths.sum() / wall),
                     "model GFLOP/s": float(shape.flops(lengths).sum() / wall / 1e9), "probe GFLOP/s": probe / 1e9,
                     "finite": bool(np.isfinite(scores).all()), "build s": built,
                     **({"packed guard": info["packed_guard"]["path"]} if "packed_guard" in info else {})})
        log.info("%s / %s: %.1f s, %.3g pairs/s", mix, shape.name, wall, len(pairs) / wall)
    del model
    gc.collect()
    return rows


def matmul_rate(device: str, dtype: torch.dtype) -> float:
    """FLOP/s of a square matmul right now: on a shared CPU, what the other processes leave this one (2048 wide;
    256 for half precision on CPU, which has no fast kernel for it)."""
    n = 2048 if device.startswith("cuda") or dtype == torch.float32 else 256
    a = torch.randn(n, n, device=device).to(dtype)
    a @ a
    sync(device)
    start, k = time.perf_counter(), 0
    while time.perf_counter() - start < 0.5:
        a @ a
        k += 1
    sync(device)
    return k * 2 * n ** 3 / (time.perf_counter() - start)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run(args) -> tuple[list[dict], dict]:
    """Every shape over both mixes; rows carry pairs/s and the ratio to GTE of the same mix."""
    with tempfile.TemporaryDirectory(prefix="bench_evd_") as tmp:
        from transformers import XLMRobertaTokenizerFast

        tokenizer = XLMRobertaTokenizerFast.from_pretrained(make_tokenizer_dir(Path(tmp) / "tok"))
        miracl = make_pairs(tokenizer, args.miracl_pairs, 8, lambda rng, n: rng.integers(150, 401, size=n), seed=0)
        mldr = make_pairs(tokenizer, args.mldr_pairs, 2,
                          lambda rng, n: np.full(n, args.mldr_tokens), seed=1)
        mixes = {"MIRACL-like": miracl, f"MLDR-like (~{args.mldr_tokens} tokens)": mldr}
        shapes = [tiny(s) for s in SHAPES] if args.dry_run else SHAPES
        rows = [r for shape in shapes for r in run_shape(shape, mixes, tokenizer, Path(tmp), args)]
    for row in rows:
        gte = next(r for r in rows if r["mix"] == row["mix"] and r["system"] == SHAPES[0].name)
        row["GTE x faster"] = gte["pairs/s"] / row["pairs/s"]
        row["FLOPs ratio to GTE"] = row["GFLOPs/pair"] / gte["GFLOPs/pair"]
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else \
        f"cpu: {platform.machine()}, {torch.get_num_threads()} threads"
    meta = {"date": str(dt.date.today()), "device": device, "torch": torch.__version__, "dtype": args.dtype,
            "attention": "packed (varlen, causal for decoders), guard on" if args.packed else "padded (SDPA)",
            "batch_tokens": args.batch_tokens, "max_length": args.max_length,
            "MIRACL-like": f"{args.miracl_pairs} pairs, passages 150-400 tokens, 8 per query",
            "MLDR-like": f"{args.mldr_pairs} pairs, documents of ~{args.mldr_tokens} tokens",
            "shapes": {s.name: {"source": s.source, "class": s.cls, "hidden": s.hidden, "layers": s.layers,
                                "heads": s.heads, "kv_heads": s.kv_heads, "head_dim": s.head_dim,
                                "intermediate": s.intermediate, "vocab": s.vocab} for s in SHAPES},
            "dry run": bool(args.dry_run)}
    return rows, meta


COLUMNS = ["system", "kind", "params M", "mean tokens", "GFLOPs/pair", "FLOPs ratio to GTE", "pairs/s", "tokens/s",
           "GTE x faster", "model GFLOP/s", "probe GFLOP/s", "wall s", "packed guard"]


def markdown(rows: list[dict], meta: dict, title: str) -> str:
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)   # noqa: E731
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    lines = [f"# {title}", "", "- command: `" + meta.get("command", "") + "`"]
    lines += [f"- {k}: {v}" for k, v in meta.items() if k not in ("shapes", "command")]
    lines += ["", "## Shapes (random weights; public config.json values)", "",
              "| model | from | class | hidden | layers | heads | kv heads | head dim | intermediate | vocab |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {n} | {s['source']} | {s['class']} | {s['hidden']} | {s['layers']} | {s['heads']} | "
              f"{s['kv_heads']} | {s['head_dim']} | {s['intermediate']} | {s['vocab']} |"
              for n, s in meta["shapes"].items()]
    for mix in dict.fromkeys(r["mix"] for r in rows):
        lines += ["", f"## {mix}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows if r["mix"] == mix]
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--miracl-pairs", type=int, default=3)
    ap.add_argument("--mldr-pairs", type=int, default=1)
    ap.add_argument("--mldr-tokens", type=int, default=1024)
    ap.add_argument("--max-length", type=int, default=8192)
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--packed", action="store_true", help="packed forwards (varlen on CUDA), the guard on")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--dry-run", action="store_true", help="tiny shapes, 2+1 pairs: checks the script, measures nothing")
    ap.add_argument("--out", type=Path)
    return ap


def main(argv: list[str] | None = None) -> Path | None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.dry_run:
        args.miracl_pairs, args.mldr_pairs, args.mldr_tokens = 2, 1, 200
    rows, meta = run(args)
    meta["command"] = "python scripts/bench_encoder_vs_decoder.py " + " ".join(argv if argv is not None else sys.argv[1:])
    where = "cpu" if args.device == "cpu" else meta["device"].split()[-1].lower()
    title = f"Encoder vs decoder rerankers on {meta['device']}, {args.dtype} ({meta['date']})"
    text = markdown(rows, meta, title)
    print(text)
    if args.out is None:
        return None
    stem = args.out / f"encoder-vs-decoder-{where}-{args.dtype}{'-packed' if args.packed else ''}-{meta['date']}"
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stem.with_suffix(".json"), json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    atomic_write_text(stem.with_suffix(".md"), text)
    return stem


if __name__ == "__main__":
    main()
