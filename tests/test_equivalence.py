"""TOST equivalence (checked against statsmodels), Holm families, and score agreement (hand-worked)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

from evalkit.metrics.equivalence import NOT_SHOWN, equivalence, tost_paired, verdict
from evalkit.report.agreement import agreement


@pytest.mark.parametrize("seed, shift, margin", [(0, 0.0, 0.05), (1, 0.03, 0.05), (2, -0.08, 0.05), (3, 0.01, 0.2)])
def test_tost_matches_statsmodels(seed, shift, margin):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 1, 40)
    b = np.clip(a + shift + rng.normal(0, 0.05, 40), 0, 1)
    ours = tost_paired(a, b, margin)
    p, lower, upper = ttost_paired(b, a, -margin, margin)     # statsmodels tests mean(b - a) in (low, upp)
    assert ours["p"] == pytest.approx(p, rel=1e-9, abs=1e-12)
    assert (ours["p_lower"], ours["p_upper"]) == pytest.approx((lower[1], upper[1]), rel=1e-9, abs=1e-12)


def tidy(values: dict[str, tuple[list[float], list[float]]]) -> pd.DataFrame:
    rows = []
    for lang, (a, b) in values.items():
        for i, (x, y) in enumerate(zip(a, b)):
            bucket = "<=512" if i % 2 else ">512"
            rows += [("local", lang, str(i), bucket, "ndcg@10", x), ("api", lang, str(i), bucket, "ndcg@10", y)]
    return pd.DataFrame(rows, columns=["system", "lang", "qid", "bucket", "metric", "value"])


def test_holm_across_languages_and_the_verdict():
    rng = np.random.default_rng(5)
    data = {}
    for lang, shift in (("de", 0.0), ("en", 0.01), ("zh", 0.02)):
        a = rng.uniform(0, 1, 30)
        data[lang] = (list(a), list(a + shift + rng.normal(0, 0.02, 30)))
    frame = equivalence(tidy(data), "local", "api", "ndcg@10", 0.05)
    raw = [tost_paired(*map(np.array, data[lang]), 0.05)["p"] for lang in sorted(data)]
    assert frame["p"].tolist() == pytest.approx(raw)
    assert frame["p_holm"].tolist() == pytest.approx(multipletests(raw, method="holm")[1].tolist())
    assert frame["equivalent"].tolist() == (frame["p_holm"] < 0.05).tolist()
    assert verdict(frame, 0.05) == ("equivalent within ±0.05" if frame["equivalent"].all() else NOT_SHOWN)
    by_bucket = equivalence(tidy(data), "local", "api", "ndcg@10", 0.05, by="bucket")
    assert sorted(by_bucket["group"]) == ["<=512", ">512"] and by_bucket["n"].sum() == 90


def test_identical_and_shifted_systems():
    same = tidy({"en": ([0.1, 0.5, 0.9, 0.3], [0.1, 0.5, 0.9, 0.3])})
    assert verdict(equivalence(same, "local", "api", "ndcg@10", 0.01), 0.01) == "equivalent within ±0.01"
    shifted = tidy({"en": ([0.1, 0.5, 0.9, 0.3], [0.3, 0.7, 1.1, 0.5])})   # +0.2 everywhere
    assert verdict(equivalence(shifted, "local", "api", "ndcg@10", 0.1), 0.1) == NOT_SHOWN


def write_run(path, kind: str, scores: dict[str, dict[str, float]]):
    (path / "runs").mkdir(parents=True)
    lines = [f"{q} Q0 {d} {r} {s:.6f} x" for q, docs in scores.items()
             for r, (d, s) in enumerate(sorted(docs.items(), key=lambda kv: -kv[1]), 1)]
    (path / "runs" / "reranked.en.trec").write_text("\n".join(lines) + "\n")
    api = {"score_kind": kind} if kind != "logit" else None
    (path / "metrics.json").write_text(json.dumps({"reranker_api": api}))
    return path


def test_agreement_hand_worked(tmp_path):
    local = write_run(tmp_path / "local", "logit", {"1": {"a": 0.0, "b": 1.0, "c": 2.0}, "2": {"a": 1.0, "b": 0.0}})
    sig = lambda x: 1 / (1 + math.exp(-x))
    api = write_run(tmp_path / "api", "sigmoid", {"1": {"a": sig(0.0), "b": sig(2.0), "c": sig(1.0) + 0.01},
                                                  "2": {"a": sig(1.0), "b": sig(0.0)}})
    table, transform = agreement(local, api)
    row = table.iloc[0]
    assert transform == "sigmoid on the logit run's scores"
    # query 1: pairs (a,b) concordant, (a,c) concordant, (b,c) discordant -> tau = (2 - 1) / 3; query 2: tau = 1
    assert row.min_tau == pytest.approx(1 / 3) and row.mean_tau == pytest.approx((1 / 3 + 1) / 2)
    assert row.below_1 == 1
    assert row.max_abs_delta == pytest.approx(sig(2.0) - sig(1.0), abs=2e-6)   # doc b of query 1
