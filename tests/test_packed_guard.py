"""The packed-path guard (evalkit.models.guard), forced on CPU with EVALKIT_PACKED_GUARD=1: a seeded broken packed
forward (wrong scores; raising) makes the run fall back to the padded path, with one log line and the decision in
the manifest; a correct one is kept, checked once."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from evalkit.models import packed
from evalkit.models.guard import ENV, TOLERANCE, guard_enabled
from evalkit.models.loading import load_cross_encoder
from evalkit.rerank.engine import CrossEncoder, EngineSettings

sys.path.insert(0, str(Path(__file__).parent))
from cli_runner import evalkit  # noqa: E402
from test_engine import make_pairs  # noqa: E402

GUARD_LOG = "evalkit.models.guard"


@pytest.fixture(scope="module")
def loaded(tiny_gte):
    return load_cross_encoder(str(tiny_gte))


def engine(loaded, **settings) -> CrossEncoder:
    settings = {"max_length": 96, "batch_tokens": 700, "window_tokens": 3000, **settings}
    return CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, EngineSettings(**settings), progress=False)


@pytest.fixture
def calls(monkeypatch):
    """Counts the packed forward's calls; `calls.mistake` seeds a mistake into it."""
    real = packed.packed_logits

    class Spy:
        n, mistake = 0, None

        def __call__(self, model, tokens, rows, device="cpu"):
            self.n += 1
            if self.mistake == "raise":
                raise RuntimeError("varlen_attn: no kernel image is available for execution on the device")
            out = real(model, tokens, rows, device)
            return out.flip(0) if self.mistake == "wrong rows" else out   # each score read from another pair

    spy = Spy()
    monkeypatch.setattr(packed, "packed_logits", spy)
    monkeypatch.setenv(ENV, "1")
    return spy


def test_the_guard_is_on_for_cuda_and_where_forced(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert guard_enabled("cuda") and guard_enabled("cuda:1") and not guard_enabled("cpu")
    monkeypatch.setenv(ENV, "1")
    assert guard_enabled("cpu")
    monkeypatch.setenv(ENV, "0")
    assert not guard_enabled("cuda")


def test_a_correct_packed_forward_is_kept_after_one_check(loaded, calls, caplog):
    pairs = make_pairs(150, seed=31)
    padded = engine(loaded).score(pairs)
    with caplog.at_level(logging.INFO, logger=GUARD_LOG):
        scorer = engine(loaded, packed=True)
        scores = scorer.score(pairs)
    np.testing.assert_allclose(scores, padded, atol=1e-5, rtol=0)
    record = scorer.info["packed_guard"]
    assert record["path"] == "packed" and record["fallback"] is None
    assert record["max_abs_diff"] <= 1e-5 < record["bound"] and record["tolerance"] == TOLERANCE["fp32"]
    assert scorer.stats.windows > 1 and calls.n == scorer.stats.batches   # every batch packed, checked once
    assert scorer.stats.padded_tokens == scorer.stats.tokens
    assert [r.levelname for r in caplog.records if r.name == GUARD_LOG] == ["INFO"]
    assert "packed_guard" not in loaded.info                                 # the scorer's own copy


@pytest.mark.parametrize("mistake", ["wrong rows", "raise"])
def test_a_broken_packed_forward_falls_back_to_the_padded_path(loaded, calls, caplog, mistake):
    pairs = make_pairs(150, seed=32)
    padded = engine(loaded).score(pairs)
    calls.mistake = mistake
    with caplog.at_level(logging.INFO, logger=GUARD_LOG):
        scorer = engine(loaded, packed=True)
        scores = scorer.score(pairs)
    np.testing.assert_allclose(scores, padded, atol=1e-5, rtol=0)       # the padded path's scores, every pair
    assert calls.n == 1                                                  # never tried again
    assert scorer.stats.windows > 1 and scorer.stats.padded_tokens > scorer.stats.tokens   # later windows padded
    record = scorer.info["packed_guard"]
    assert record["path"] == "padded"
    assert ("raised RuntimeError: varlen_attn" in record["fallback"] if mistake == "raise"
            else record["max_abs_diff"] > record["bound"] and "disagrees" in record["fallback"])
    lines = [r for r in caplog.records if r.name == GUARD_LOG]
    assert len(lines) == 1 and lines[0].levelname == "WARNING" and "padded path" in lines[0].getMessage()


def test_the_guard_is_off_on_cpu_unless_forced(loaded, calls, monkeypatch):
    monkeypatch.delenv(ENV)
    calls.mistake = "wrong rows"
    scorer = engine(loaded, packed=True)
    scorer.score(make_pairs(20, seed=33))
    assert "packed_guard" not in scorer.info and calls.n >= 1


def test_the_bound_scales_with_the_scores(loaded, calls):
    """An error just inside fp16's bound is kept, just outside it falls back (bound = tol * max(1, max|padded|))."""
    pairs = make_pairs(30, seed=34)
    ref = engine(loaded).score(pairs)
    scale = max(1.0, float(np.abs(ref).max()))
    for factor, path in ((0.5, "packed"), (2.0, "padded")):
        shift = factor * TOLERANCE["fp32"] * scale
        calls.mistake = None
        scorer = engine(loaded, packed=True, batch_tokens=1 << 20)            # one batch: the checked one
        scorer._guard.packed = lambda tokens, rows, s=scorer, d=shift: s._packed_forward(tokens, rows) + d
        scorer.score(pairs)
        assert scorer.info["packed_guard"]["path"] == path


GUARDED_RAISE = """
import sys
from evalkit.models import packed
def broken(*args, **kwargs):
    raise RuntimeError("seeded: packed kernel failed")
packed.packed_logits = broken
sys.argv = ["evalkit", *sys.argv[1:]]
from evalkit.cli import entry
entry()
"""


def test_the_manifest_records_the_fallback(tiny_gte, tmp_path):
    out = tmp_path / "run"
    done = evalkit("reranker=gte", f"reranker.model={tiny_gte}", "reranker.max_length=128", "reranker.packed=true",
                   "candidates.depth=10", "reranker.cache=false", f"hydra.run.dir={out}", script=GUARDED_RAISE,
                   env={ENV: "1", "EVALKIT_CACHE": tmp_path / "cache"}, check=True)
    guard = json.loads((out / "manifest.json").read_text())["environment"]["reranker"]["packed_guard"]
    assert guard["path"] == "padded" and "seeded: packed kernel failed" in guard["fallback"]
    assert sum("padded path scores the rest" in line for line in done.stderr.splitlines()) == 1
    assert torch.is_inference_mode_enabled() is False


@pytest.fixture(scope="module")
def qwen3_dir(tmp_path_factory):
    from evalkit.testing import make_tiny_causal_lm

    return make_tiny_causal_lm(tmp_path_factory.mktemp("llm") / "tiny-qwen3", "qwen3", seed=1)


@pytest.mark.parametrize("mistake", [None, "wrong scores", "raise"])
def test_the_decoder_reranker_is_guarded_too(qwen3_dir, monkeypatch, caplog, mistake):
    """reranker=qwen3 with packed=true: packed_last_logits in the real scorer, checked on its first batch."""
    from test_llm_rerankers import PAIRS, preset

    from evalkit.rerank.decoder import build_decoder

    padded = build_decoder(preset("qwen3", qwen3_dir, batch_tokens=256)).score(PAIRS)
    real, calls = packed.packed_last_logits, []

    def spy(model, tokens, rows, device, vocab_ids):
        calls.append(len(rows))
        if mistake == "raise":
            raise RuntimeError("seeded")
        out = real(model, tokens, rows, device, vocab_ids)
        return out.flip(1) if mistake == "wrong scores" else out   # yes and no swapped

    monkeypatch.setattr(packed, "packed_last_logits", spy)
    monkeypatch.setenv(ENV, "1")
    with caplog.at_level(logging.INFO, logger=GUARD_LOG):
        scorer = build_decoder(preset("qwen3", qwen3_dir, batch_tokens=256, packed="true"))
        scores = scorer.score(PAIRS)
    np.testing.assert_allclose(scores, padded, atol=1e-5, rtol=0)
    record = scorer.info["packed_guard"]
    assert record["path"] == ("packed" if mistake is None else "padded")
    assert len(calls) == (scorer.stats.batches if mistake is None else 1) and scorer.stats.batches > 1
