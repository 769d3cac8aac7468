"""Measures how far the packed and padded forwards drift apart in fp16/bf16, the basis of the runtime guard's
tolerance (evalkit.models.guard.TOLERANCE), on the machine it runs on (CPU here; the GPU script runs it on CUDA).

Random-weight real-size GTE reranker (evalkit's CrossEncoder, padded vs packed) and a Qwen3 of Qwen3-0.6B's width
cut to 4 layers (left-padded `logits_to_keep=1` forward vs packed_last_logits), MIRACL-like pairs. For each dtype:
max |packed - padded|, max |dtype - fp32|, both also divided by max(1, max |fp32 score|) (the guard's scale).

    python scripts/guard_tolerance.py --out results/bench/guard-tolerance-cpu-2026-12-07.json
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

from bench_rerank import make_pairs  # noqa: E402
from evalkit.models.loading import load_cross_encoder  # noqa: E402
from evalkit.models.packed import packed_last_logits  # noqa: E402
from evalkit.rerank.engine import CrossEncoder, EngineSettings  # noqa: E402
from evalkit.testing import make_tiny_gte  # noqa: E402

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def summary(scores: dict[str, np.ndarray]) -> dict:
    ref = scores["padded fp32"]
    scale = max(1.0, float(np.abs(ref).max()))
    out = {"fp32 score std": float(ref.std()), "scale max(1, max|fp32|)": scale}
    for low in ("fp16", "bf16"):
        pk, pd = scores[f"packed {low}"], scores[f"padded {low}"]
        out[low] = {"max |packed - padded|": float(np.abs(pk - pd).max()),
                    "max |padded - fp32|": float(np.abs(pd - ref).max()),
                    "max |packed - padded| / scale": float(np.abs(pk - pd).max()) / scale,
                    "max |padded - fp32| / scale": float(np.abs(pd - ref).max()) / scale}
    return out


def encoder(device: str, pairs, smoke: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = make_tiny_gte(Path(tmp) / "gte", real_size=not smoke)
        scores = {}
        for dtype in DTYPES:
            loaded = load_cross_encoder(str(path), dtype=dtype, device=device)
            for packed in (False, True) if dtype != "fp32" else (False,):
                settings = EngineSettings(max_length=512, batch_tokens=8192, dtype=dtype, device=device,
                                          packed=packed)
                enc = CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, settings, progress=False)
                scores[f"{'packed' if packed else 'padded'} {dtype}"] = enc.score(pairs)
    return summary(scores)


def decoder(device: str, tokens, smoke: bool = False) -> dict:
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    config = Qwen3Config(vocab_size=32768, hidden_size=1024, intermediate_size=3072, num_hidden_layers=1 if smoke else 4,
                         num_attention_heads=16, num_key_value_heads=8, head_dim=128, tie_word_embeddings=True)
    base = Qwen3ForCausalLM(config).eval()
    with torch.no_grad():
        for p in base.parameters():
            p.copy_(0.1 * torch.randn_like(p) if p.ndim == 1 else torch.randn_like(p) / p.shape[-1] ** 0.5)
    rows, vocab, scores = np.arange(len(tokens)), [9454, 2152], {}
    for name, dtype in DTYPES.items():
        model = base.to(dtype=dtype, device=device)
        with torch.inference_mode():
            scores[f"padded {name}"] = left_padded(model, tokens, vocab, device).float().cpu().numpy()
            if name != "fp32":
                scores[f"packed {name}"] = packed_last_logits(model, tokens, rows, device, vocab).cpu().numpy()
    return summary(scores)


def left_padded(model, tokens, vocab, device) -> torch.Tensor:
    lengths = tokens.lengths
    width = int(lengths.max())
    ids = np.zeros((len(lengths), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, n in enumerate(lengths.tolist()):
        ids[i, width - n:] = tokens.ids[tokens.offsets[i]:tokens.offsets[i] + n]
        mask[i, width - n:] = 1
    ids, mask = torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)
    out = []
    for k in range(0, len(lengths), 8):
        sl = slice(k, k + 8)
        out.append(model(input_ids=ids[sl], attention_mask=mask[sl], logits_to_keep=1).logits[:, -1, vocab])
    return torch.cat(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=48)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--smoke", action="store_true", help="tiny GTE, 1-layer decoder: checks the script runs")
    args = ap.parse_args(argv)
    from evalkit.testing import _xlmr_tokenizer

    tok = _xlmr_tokenizer()
    pairs = make_pairs(tok, args.pairs, 8, lambda rng, n: rng.integers(50, 301, size=n), seed=3)
    from evalkit.models.tokens import TokenArrays

    tokens = TokenArrays.from_lists([[t % 32768 for t in tok(q, d, truncation=True, max_length=512)["input_ids"]]
                                     for q, d in pairs])
    result = {"date": str(dt.date.today()), "device": torch.cuda.get_device_name() if args.device == "cuda" else
              f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
              "torch": torch.__version__, "pairs": len(pairs), "mean tokens": float(tokens.lengths.mean()),
              "gte real size (CrossEncoder)": encoder(args.device, pairs, args.smoke),
              "qwen3 1024 wide, 4 layers (packed_last_logits)": decoder(args.device, tokens, args.smoke)}
    text = json.dumps(result, indent=1)
    if args.out:
        from evalkit.storage.atomic import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    print(text)


if __name__ == "__main__":
    main()
