import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit
import torch

from evalkit.app.schema import RerankerConfig
from evalkit.errors import EvalkitError
from evalkit.rerank.cache import PairCache
from evalkit.rerank.engine import CrossEncoder, EngineSettings, build_cross_encoder
from evalkit.models.loading import LoadedModel, load_cross_encoder

REPO = Path(__file__).resolve().parents[1]
WORDS = ("river stone 北京 capital quick sort python Москва الماء music light evening number "
         "garden table ferry winter apple").split()


def text(rng, n_words: int) -> str:
    return " ".join(rng.choice(WORDS, size=n_words))


def make_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    queries = [text(rng, int(rng.integers(2, 8))) for _ in range(max(n // 5, 1))]
    return [(queries[i % len(queries)], text(rng, int(rng.integers(1, 120)))) for i in range(n)]


@pytest.fixture(scope="module")
def model_dir(tiny_gte):
    return tiny_gte


@pytest.fixture(scope="module")
def loaded(model_dir):
    return load_cross_encoder(str(model_dir))


@pytest.fixture(scope="module")
def model(loaded):
    return loaded.model


@pytest.fixture(scope="module")
def tok(loaded):
    return loaded.tokenizer


def engine(loaded: LoadedModel, cache=None, **settings) -> CrossEncoder:
    settings = {"max_length": 64, "batch_tokens": 512, **settings}
    return CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, EngineSettings(**settings), cache=cache,
                        progress=False)


def reference_score(model, tok, q: str, d: str, max_length: int = 64) -> float:
    """The pair alone, encoded by the tokenizer's own pair method, no padding."""
    ids = tok(q, d, truncation="only_second", max_length=max_length)["input_ids"]
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids])).logits[0, 0].item()


def test_pair_ids_equal_the_tokenizers_pair_encoding(loaded, tok):
    pairs = make_pairs(40) + [("short query", text(np.random.default_rng(3), 200))]
    ids = engine(loaded).encode(pairs)
    for (q, d), got in zip(pairs, ids):
        assert got == tok(q, d, truncation="only_second", max_length=64)["input_ids"]


def test_an_empty_document_keeps_the_pair_layout(loaded, tok):
    # the tokenizer would drop an empty second text and encode a single sequence; the engine keeps the pair shape
    assert engine(loaded).encode([("q", "")]) == [[0, *tok("q", add_special_tokens=False)["input_ids"], 2, 2, 2]]


def test_truncation_cuts_the_document_to_max_length_and_keeps_the_query(loaded, tok):
    q, d = "quick sort python capital", text(np.random.default_rng(1), 300)
    (ids,) = engine(loaded).encode([(q, d)])
    q_ids, d_ids = (tok(t, add_special_tokens=False)["input_ids"] for t in (q, d))
    assert len(ids) == 64
    assert ids == [0, *q_ids, 2, 2, *d_ids[:64 - 4 - len(q_ids)], 2]


def test_a_query_over_its_budget_is_cut_to_that_budget(loaded, tok):
    q, d = text(np.random.default_rng(2), 60), "garden table"
    (ids,) = engine(loaded, query_max_length=20).encode([(q, d)])
    q_ids, d_ids = (tok(t, add_special_tokens=False)["input_ids"] for t in (q, d))
    assert len(q_ids) > 20
    assert ids == [0, *q_ids[:20], 2, 2, *d_ids, 2]


def test_scores_in_input_order_match_pairs_scored_alone(loaded, model, tok):
    pairs = make_pairs(30)
    scores = engine(loaded).score(pairs)
    assert scores.dtype == np.float32 and scores.shape == (30,)
    expected = [reference_score(model, tok, q, d) for q, d in pairs]
    np.testing.assert_allclose(scores, expected, atol=1e-5, rtol=0)
    assert np.ptp(scores) > 0.5     # the scores really differ, so a permutation would be caught


def test_identical_pairs_are_scored_once(loaded):
    base = make_pairs(10)
    pairs = base + base[::-1] + base[:3]
    enc = engine(loaded)
    scores = enc.score(pairs)
    assert enc.stats.pairs_requested == 23 and enc.stats.unique_pairs == 10 and enc.stats.scored == 10
    np.testing.assert_array_equal(scores[10:20], scores[:10][::-1])
    np.testing.assert_array_equal(scores[20:], scores[:3])


def test_a_pairs_score_does_not_depend_on_its_batch(loaded):
    pairs = make_pairs(60, seed=4)
    mixed = engine(loaded, batch_tokens=4096).score(pairs)
    enc_alone = engine(loaded)
    alone = np.array([enc_alone.score([p])[0] for p in pairs[:15]])
    np.testing.assert_allclose(mixed[:15], alone, atol=1e-5, rtol=0)


def test_two_runs_are_bitwise_identical(loaded):
    pairs = make_pairs(50, seed=5)
    first, second = engine(loaded).score(pairs), engine(loaded).score(pairs)
    assert first.tobytes() == second.tobytes()


def test_sigmoid_transform(loaded):
    pairs = make_pairs(8)
    logits = engine(loaded).score(pairs)
    probs = engine(loaded, score_transform="sigmoid").score(pairs)
    np.testing.assert_allclose(probs, expit(logits.astype(np.float64)), atol=1e-6)


def test_fingerprint_tracks_what_changes_a_score_and_nothing_else(loaded):
    bf16 = LoadedModel(copy.deepcopy(loaded.model).to(torch.bfloat16), loaded.tokenizer, loaded.info)
    base = engine(loaded).fingerprint
    assert engine(loaded, batch_tokens=99).fingerprint == base
    assert engine(loaded, device="cpu").fingerprint == base
    changed = [engine(loaded, max_length=65), engine(loaded, query_max_length=10),
               engine(loaded, query_template="query: {query}"), engine(loaded, doc_template="d: {doc}"),
               engine(loaded, score_transform="sigmoid"),
               engine(bf16, dtype="bf16")]
    prints = {e.fingerprint for e in changed}
    assert base not in prints and len(prints) == len(changed)


def test_cache_rerun_scores_nothing_and_subsets_reuse(loaded, tmp_path):
    pairs = make_pairs(40, seed=6)
    with PairCache(tmp_path / "c.sqlite") as cache:
        first = engine(loaded, cache=cache).score(pairs)
        rerun = engine(loaded, cache=cache)
        assert rerun.score(pairs).tobytes() == first.tobytes()
        assert rerun.stats.scored == 0 and rerun.stats.cache_hits == 40 and rerun.stats.batches == 0
        superset = pairs[10:] + make_pairs(15, seed=7)
        sup = engine(loaded, cache=cache)
        scores = sup.score(superset)
        assert sup.stats.cache_hits == 30 and sup.stats.scored == 15
        np.testing.assert_array_equal(scores[:30], first[10:])
        other = engine(loaded, cache=cache, max_length=48)
        other.score(pairs[:5])
        assert other.stats.cache_hits == 0 and other.stats.scored == 5


def test_template_changes_what_the_model_reads_and_misses_the_cache(loaded, model, tok, tmp_path):
    pairs = make_pairs(6)
    with PairCache(tmp_path / "c.sqlite") as cache:
        engine(loaded, cache=cache).score(pairs)
        templ = engine(loaded, cache=cache, query_template="query: {query}")
        scores = templ.score(pairs)
        assert templ.stats.scored == 6
        expected = [reference_score(model, tok, f"query: {q}", d) for q, d in pairs]
        np.testing.assert_allclose(scores, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("settings, key", [({"query_max_length": 60}, "query_max_length"),
                                           ({"dtype": "bf16"}, "dtype"), ({"score_transform": "prob"}, "score_transform"),
                                           ({"doc_template": "{document}"}, "doc_template"),
                                           ({"query_template": "{query} {lang}"}, "query_template"),
                                           ({"query_template": "query: "}, "query_template")])
def test_bad_settings_fail_naming_the_key(loaded, settings, key):
    with pytest.raises(EvalkitError, match=key):
        engine(loaded, **settings)


def test_windows_cut_the_stream_and_scores_stay_within_1e5(loaded):
    pairs = make_pairs(200, seed=11)
    whole = engine(loaded)
    cut = engine(loaded, window_tokens=400)
    np.testing.assert_allclose(cut.score(pairs), whole.score(pairs), atol=1e-5, rtol=0)
    assert whole.stats.windows == 1 and cut.stats.windows == 4     # a window closes after a chunk of 64 pairs
    assert cut.stats.scored == whole.stats.scored == whole.stats.unique_pairs


def estimated_tokens(pairs, specials: int, max_length: int) -> int:
    """The window budget's measure, computed here independently: min(UTF-8 bytes / 4 + specials, max_length)."""
    return sum(min(specials + (len(q.encode("utf-8")) + len(d.encode("utf-8"))) // 4, max_length)
               for q, d in dict.fromkeys(pairs))


def test_a_window_closes_at_the_first_chunk_that_brings_its_estimate_to_the_budget(loaded):
    from evalkit.rerank.windows import WindowBuilder

    enc = engine(loaded)
    pairs = make_pairs(300, seed=14)
    chunks = [pairs[k:k + 10] for k in range(0, 300, 10)]
    s = enc.settings
    specials = sum(len(part) for part in enc._layout)
    builder = WindowBuilder(loaded.tokenizer, enc._layout, s.max_length, s.query_budget, s.query_template,
                            s.doc_template, window_tokens=400)
    windows = list(builder.windows(chunks))
    assert len(windows) > 5 and sum(sum(w.chunk_sizes) for w in windows) == 300
    done = 0
    for i, w in enumerate(windows):
        mine = chunks[done:done + len(w.chunk_sizes)]
        done += len(w.chunk_sizes)
        flat = [p for c in mine for p in c]
        if i < len(windows) - 1:
            assert estimated_tokens(flat, specials, s.max_length) >= 400
            assert estimated_tokens(flat[:-len(mine[-1])], specials, s.max_length) < 400
        assert w.tokens.ids.dtype == np.int32
        assert w.tokens.tolist() == enc.encode(list(dict.fromkeys(flat)))   # the window's unique pairs, in order


def test_scores_do_not_depend_on_what_the_cache_held(loaded, tmp_path):
    """A run on an empty cache, then the same run on that cache with random pairs deleted (what a killed run or a
    parallel one leaves): the same windows and batches, so the same bits, and only the deleted pairs are scored."""
    import sqlite3

    pairs = make_pairs(400, seed=21)
    chunks = [pairs[k:k + 20] for k in range(0, 400, 20)]
    db = tmp_path / "c.sqlite"
    with PairCache(db) as cache:
        fresh = np.concatenate(list(engine(loaded, cache=cache, window_tokens=3000).score_stream(chunks)))
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT fp_id, pair_key FROM scores ORDER BY pair_key").fetchall()
        gone = np.random.default_rng(3).choice(len(rows), size=len(rows) // 3, replace=False)
        con.executemany("DELETE FROM scores WHERE fp_id = ? AND pair_key = ?", [rows[i] for i in gone])
    with PairCache(db) as cache:
        again = engine(loaded, cache=cache, window_tokens=3000)
        rerun = np.concatenate(list(again.score_stream(chunks)))
    assert rerun.tobytes() == fresh.tobytes()
    assert again.stats.windows > 3 and again.stats.scored == len(gone)


def test_score_stream_gives_one_array_per_chunk_in_order(loaded):
    pairs = make_pairs(40, seed=12)
    chunks = [pairs[:7], [], pairs[7:30], pairs[30:]]
    out = list(engine(loaded, window_tokens=300).score_stream(iter(chunks)))
    assert [len(o) for o in out] == [7, 0, 23, 10]
    np.testing.assert_allclose(np.concatenate(out), engine(loaded).score(pairs), atol=1e-5, rtol=0)


def test_a_pair_repeated_in_a_following_window_is_not_scored_again(loaded):
    pairs = make_pairs(30, seed=13)
    enc = engine(loaded, window_tokens=200)     # cache off: the repeats come from the recent windows
    chunks = [pairs[:10], pairs[10:20], pairs[:10], pairs[20:]]
    out = list(enc.score_stream(chunks))
    assert enc.stats.windows >= 3 and enc.stats.scored == 30 and enc.stats.cache_hits == 10
    assert out[2].tobytes() == out[0].tobytes()


CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from test_engine import engine, make_pairs
from evalkit.rerank.cache import PairCache
from evalkit.models.loading import load_cross_encoder
enc = engine(load_cross_encoder({model_dir!r}), cache=PairCache({db!r}), batch_tokens=256)
forward = enc._forward
def slow_forward(ids, mask):
    time.sleep(0.05)   # slow enough to be killed part-way
    return forward(ids, mask)
enc._forward = slow_forward
enc.score(make_pairs({n}, seed=8))
"""


def cached_rows(db: Path) -> int:
    if not db.exists():
        return 0
    with PairCache(db) as cache:
        return cache.stats()["rows"]


def test_a_killed_run_keeps_finished_batches_and_a_rerun_scores_only_the_rest(loaded, model_dir, tmp_path):
    n, db = 400, tmp_path / "c.sqlite"
    script = CHILD.format(tests=str(Path(__file__).parent), model_dir=str(model_dir), db=str(db), n=n)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while cached_rows(db) == 0 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read().decode()
    kept = cached_rows(db)
    assert 0 < kept < n
    pairs = make_pairs(n, seed=8)
    with PairCache(db) as cache:
        resumed = engine(loaded, cache=cache, batch_tokens=256)
        scores = resumed.score(pairs)
    assert resumed.stats.cache_hits == kept and resumed.stats.scored == n - kept
    clean = engine(loaded, batch_tokens=256).score(pairs)
    np.testing.assert_allclose(scores, clean, atol=1e-5, rtol=0)


def test_auto_batch_tokens_is_16384_on_cpu_and_an_explicit_budget_is_kept():
    from evalkit.rerank.engine import resolve_batch_tokens, resolve_window_tokens

    assert resolve_batch_tokens(0, "cpu") == 16384 and resolve_batch_tokens(-1, "cpu") == 16384
    assert resolve_batch_tokens(777, "cpu") == 777 and resolve_batch_tokens(777, "cuda") == 777
    assert resolve_window_tokens(0, 16384) == 1 << 21 and resolve_window_tokens(0, 1 << 20) == 8 << 20
    assert resolve_window_tokens(5000, 1 << 20) == 5000


def test_build_cross_encoder_resolves_auto_settings_and_the_models_limit(model_dir, tmp_path):
    cfg = RerankerConfig(name="gte", model=str(model_dir))
    enc = build_cross_encoder(cfg, cache_dir=tmp_path, progress=False)
    assert (enc.settings.device, enc.settings.dtype, enc.settings.max_length) == ("cpu", "fp32", 8192)
    assert enc.settings.query_budget == 8192 * 3 // 4
    assert enc.cache is not None and enc.cache.path == tmp_path / "pair_scores.sqlite"
    enc.score([("q", "d")])
    assert enc.cache.stats()["rows"] == 1
    assert enc.provenance["settings"]["max_length"] == 8192 and enc.provenance["fingerprint"] == enc.fingerprint
    with pytest.raises(EvalkitError, match="reranker.max_length"):
        build_cross_encoder(RerankerConfig(name="gte", model=str(model_dir), max_length=9000, cache=False))
