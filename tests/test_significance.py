"""Paired statistics checked against scipy, ranx, brute-force enumeration and hand-worked values."""
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.metrics.significance import (compare_systems, holm, mean_ci, paired_bootstrap_ci,
                                          paired_t_test, randomization_test)


def _pair(n, shift, seed):
    rng = np.random.default_rng(seed)
    a = rng.random(n)
    return a, a + shift + rng.normal(0, 0.2, n)


def _brute_force_sign_flip_p(d_by_stratum):
    """Share of all sign patterns whose |macro mean| reaches the observed one (one stratum = plain test)."""
    d = np.concatenate(d_by_stratum)
    cuts = np.cumsum([len(x) for x in d_by_stratum])[:-1]

    def macro(x):
        return abs(np.mean([part.mean() for part in np.split(x, cuts)]))

    observed = macro(d)
    hits = [macro(d * np.array(s)) >= observed - 1e-12 for s in itertools.product([1, -1], repeat=len(d))]
    return np.mean(hits)


def _table(spec, seed=0):
    """Tidy per-query table: spec = {lang: n}; systems base, same (= base), better (+0.3), noisy (+noise)."""
    rng = np.random.default_rng(seed)
    rows = []
    for lang, n in spec.items():
        for q in range(n):
            base = rng.random() * 0.6
            values = dict(base=base, same=base, better=base + 0.3 + rng.normal(0, 0.02),
                          noisy=base + rng.normal(0.02, 0.2))
            rows += [dict(system=s, lang=lang, qid=f"q{q}", bucket="0-512", metric="ndcg@10", value=v)
                     for s, v in values.items()]
            rows.append(dict(system="base", lang=lang, qid=f"q{q}", bucket="0-512", metric="recall@100", value=1.0))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("shift, seed", [(0.05, 0), (-0.1, 1), (0.0, 2)])
def test_paired_t_test_matches_scipy(shift, seed):
    a, b = _pair(30, shift, seed)
    assert paired_t_test(a, b) == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-10)


def test_t_test_zero_variance_is_not_nan():
    a = np.array([0.1, 0.5, 0.9])
    assert paired_t_test(a, a) == 1.0
    assert paired_t_test(np.zeros(3), np.ones(3)) == 0.0


def test_exact_randomization_matches_brute_force_and_scipy():
    a, b = _pair(10, 0.05, 3)
    expected = _brute_force_sign_flip_p([b - a])
    assert randomization_test(a, b) == pytest.approx(expected, abs=1e-12)   # n <= 16: exact by default
    scipy_p = stats.permutation_test((b, a), lambda x, y: np.mean(x - y), permutation_type="samples",
                                     n_resamples=10_000).pvalue
    assert randomization_test(a, b, exact=True) == pytest.approx(scipy_p, abs=1e-12)
    assert 0.05 < expected < 0.95   # a case where the p-value is informative


def test_monte_carlo_randomization_approaches_exact():
    a, b = _pair(10, 0.05, 3)
    exact = randomization_test(a, b, exact=True)
    assert randomization_test(a, b, exact=False, n_resamples=20_000, seed=7) == pytest.approx(exact, abs=0.015)


def test_monte_carlo_uses_plus_one_correction():
    a, b = _pair(40, 1.0, 4)    # no sign flip reaches the observed difference
    assert randomization_test(a, b, n_resamples=999) == pytest.approx(1 / 1000)
    assert randomization_test(a, a, n_resamples=999) == 1.0


def test_exact_refuses_huge_enumeration():
    a, b = _pair(30, 0.0, 0)
    with pytest.raises(ValueError, match="2\\^30"):
        randomization_test(a, b, exact=True)


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_bootstrap_cis_match_scipy_percentile(level):
    a, b = _pair(200, 0.03, 5)
    se = np.std(b - a) / np.sqrt(200)
    ours = mean_ci(a, level=level, seed=1)
    ref = stats.bootstrap((a,), np.mean, method="percentile", confidence_level=level, n_resamples=10_000,
                          random_state=11).confidence_interval
    assert ours[0] == pytest.approx(a.mean())
    assert ours[1:] == pytest.approx((ref.low, ref.high), abs=0.15 * np.std(a) / np.sqrt(200))
    ours = paired_bootstrap_ci(a, b, level=level, seed=2)
    ref = stats.bootstrap((a, b), lambda x, y: np.mean(y - x), paired=True, method="percentile",
                          confidence_level=level, n_resamples=10_000, random_state=12).confidence_interval
    assert ours[0] == pytest.approx(np.mean(b - a))
    assert ours[1:] == pytest.approx((ref.low, ref.high), abs=0.15 * se)


def test_bootstrap_over_many_chunks_matches_normal_interval():
    x = np.random.default_rng(6).normal(0.4, 0.3, 5000)   # 5000 values: resamples span several chunks
    mean, lo, hi = mean_ci(x, seed=3)
    se = x.std() / np.sqrt(x.size)
    assert (lo, hi) == pytest.approx((mean - 1.96 * se, mean + 1.96 * se), abs=0.1 * se)


def test_fixed_seed_is_reproducible_and_seed_matters():
    a, b = _pair(50, 0.02, 8)
    assert paired_bootstrap_ci(a, b, seed=4) == paired_bootstrap_ci(a, b, seed=4)
    assert randomization_test(a, b, seed=4) == randomization_test(a, b, seed=4)
    assert randomization_test(a, b, seed=4) != randomization_test(a, b, seed=5)


def test_holm_hand_worked():
    # sorted: d .005*4 = .02, a .01*3 = .03, c .03*2 = .06, b .04*1 = .04 -> running max .06
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005}) == pytest.approx(
        {"a": 0.03, "b": 0.06, "c": 0.06, "d": 0.02})
    assert holm({"x": 0.6, "y": 0.7}) == {"x": 1.0, "y": 1.0}
    assert list(holm({"z": 0.5, "y": 0.01})) == ["z", "y"]
    with pytest.raises(ValueError):
        holm({"x": float("nan")})


def test_holm_matches_statsmodels_if_installed():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    p = {f"l{i}": v for i, v in enumerate(np.random.default_rng(0).random(12) ** 3)}
    expected = multipletests(list(p.values()), method="holm")[1]
    assert list(holm(p).values()) == pytest.approx(list(expected))


def test_randomization_agrees_with_ranx_fisher():
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(10)
    qrels, run_a, run_b = {}, {}, {}
    for q in range(60):
        docs = [f"d{i}" for i in range(30)]
        relevant = rng.choice(30, 3, replace=False)
        qrels[f"q{q}"] = {docs[i]: 1 for i in relevant}
        run_a[f"q{q}"] = {d: float(s) for d, s in zip(docs, rng.permutation(30))}
        boosted = rng.permutation(30) + np.isin(np.arange(30), relevant) * 2 + 0.5 * np.arange(30) / 30
        run_b[f"q{q}"] = {d: float(s) for d, s in zip(docs, boosted)}
    qrels, run_a, run_b = ranx.Qrels(qrels), ranx.Run(run_a, name="a"), ranx.Run(run_b, name="b")
    a = ranx.evaluate(qrels, run_a, "ndcg@10", return_mean=False)
    b = ranx.evaluate(qrels, run_b, "ndcg@10", return_mean=False)
    report = ranx.compare(qrels, [run_a, run_b], ["ndcg@10"], stat_test="fisher", n_permutations=10_000)
    ranx_p = report.comparisons[frozenset(["a", "b"])]["ndcg@10"]["p_value"]
    ours = randomization_test(a, b, n_resamples=10_000)
    assert 0.01 < ours < 0.2     # a p-value where Monte-Carlo noise is small but the test is not trivial
    assert ours == pytest.approx(ranx_p, abs=0.02)


def test_compare_identical_systems():
    out = compare_systems(_table({"sw": 20, "yo": 10}), "base", "ndcg@10").set_index(["system", "group"])
    same = out.loc["same"]
    assert list(same.index) == ["sw", "yo", "all"]
    assert (same["p"] == 1.0).all() and (same["diff"] == 0).all()
    assert (same["ci_lo"] == 0).all() and (same["ci_hi"] == 0).all() and not same["significant"].any()
    assert list(same["test"]) == ["randomization", "randomization-exact", "randomization"]


@pytest.mark.parametrize("test", ["randomization", "t"])
def test_compare_large_improvement(test):
    out = compare_systems(_table({"sw": 30, "te": 40}), "base", "ndcg@10", test=test)
    better = out[out["system"] == "better"]
    assert (better["p"] < 0.001).all() and (better["ci_lo"] > 0.25).all() and better["significant"].all()
    assert better["diff"].to_numpy() == pytest.approx(0.3, abs=0.01)


def test_compare_all_row_is_macro_average_with_stratified_exact_test():
    table = _table({"sw": 5, "yo": 9}, seed=1)    # 14 queries: the overall test enumerates 2^14 patterns
    out = compare_systems(table, "base", "ndcg@10").set_index(["system", "group"]).loc["noisy"]
    wide = table[table["metric"] == "ndcg@10"].pivot(index=["lang", "qid"], columns="system", values="value")
    per_lang = (wide["noisy"] - wide["base"]).groupby(level="lang")
    assert out.loc["all", "diff"] == pytest.approx(per_lang.mean().mean())
    assert out.loc["all", "diff"] != pytest.approx((wide["noisy"] - wide["base"]).mean())   # not pooled
    assert out.loc["all", "mean_system"] == pytest.approx(wide["noisy"].groupby(level="lang").mean().mean())
    assert out.loc["all", "n"] == 14
    assert out.loc["all", "p"] == pytest.approx(_brute_force_sign_flip_p([g.to_numpy() for _, g in per_lang]))
    assert out.loc["all", "p_holm"] == out.loc["all", "p"]
    assert out.loc["yo", "p"] == pytest.approx(_brute_force_sign_flip_p([per_lang.get_group("yo").to_numpy()]))
    p_min = out.loc[["sw", "yo"], "p"].min()            # Holm family = the two languages only
    assert out.loc[["sw", "yo"], "p_holm"].min() == pytest.approx(min(1.0, 2 * p_min))


def test_compare_all_row_stratified_ci_matches_normal_interval():
    table = _table({"sw": 300, "te": 500, "yo": 150}, seed=2)
    table = table[table["system"].isin(["base", "noisy"])]
    out = compare_systems(table, "base", "ndcg@10").set_index(["system", "group"]).loc[("noisy", "all")]
    wide = table[table["metric"] == "ndcg@10"].pivot(index=["lang", "qid"], columns="system", values="value")
    d = (wide["noisy"] - wide["base"]).groupby(level="lang")
    se = np.sqrt((d.var(ddof=0) / d.size()).sum()) / 3
    assert (out["ci_lo"], out["ci_hi"]) == pytest.approx((out["diff"] - 1.96 * se, out["diff"] + 1.96 * se),
                                                         abs=0.1 * se)


def test_compare_stratified_t_with_one_language_is_the_paired_t_test():
    table = _table({"sw": 25}, seed=3)
    out = compare_systems(table, "base", "ndcg@10", test="t").set_index(["system", "group"])
    wide = table[table["metric"] == "ndcg@10"].pivot(index=["lang", "qid"], columns="system", values="value")
    expected = stats.ttest_rel(wide["noisy"], wide["base"]).pvalue
    assert out.loc[("noisy", "all"), "p"] == pytest.approx(expected, rel=1e-9)
    assert out.loc[("noisy", "sw"), "p"] == pytest.approx(expected, rel=1e-9)


def test_compare_is_deterministic_for_a_seed():
    table = _table({"sw": 30, "te": 20}, seed=4)
    first = compare_systems(table, "base", "ndcg@10", n_resamples=2000, seed=3)
    pd.testing.assert_frame_equal(first, compare_systems(table, "base", "ndcg@10", n_resamples=2000, seed=3))
    other = compare_systems(table, "base", "ndcg@10", n_resamples=2000, seed=4)
    assert not np.array_equal(first["ci_lo"], other["ci_lo"])
    assert (first[["n_resamples", "seed"]].iloc[0] == [2000, 3]).all()


def test_compare_rejects_mismatched_queries_and_bad_input():
    table = _table({"sw": 6})
    dropped = table.drop(table[(table["system"] == "noisy") & (table["qid"].isin(["q1", "q2"]))].index)
    with pytest.raises(ValueError, match=r"'noisy'.*2 baseline queries missing, 0 extra"):
        compare_systems(dropped, "base", "ndcg@10")
    with pytest.raises(ValueError, match="baseline 'nope'"):
        compare_systems(table, "nope", "ndcg@10")
    with pytest.raises(ValueError, match="several rows"):
        compare_systems(pd.concat([table, table]), "base", "ndcg@10")
    with pytest.raises(ValueError, match="lacks columns"):
        compare_systems(table.drop(columns="lang"), "base", "ndcg@10")
    with pytest.raises(ValueError, match="equal|align"):
        paired_t_test(np.zeros(3), np.zeros(4))
