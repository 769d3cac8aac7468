"""bge-reranker-v2-m3 scoring (reranker=bge_m3) vs FlagEmbedding's FlagReranker and sentence-transformers'
CrossEncoder on a tiny random XLM-R cross-encoder (fp32, <= 1e-5), short and long inputs.

How each tool truncates a (query, document) pair to max_length L (XLM-R pair: <s> q </s></s> d </s>, 4 specials):
- evalkit: the query alone is cut to its budget (reranker.query_max_length, default L * 3 // 4), then the document
  to the L - 4 - len(query) tokens left;
- FlagReranker: the same rule (query to query_max_length = L * 3 // 4 tokens, document to L, then the pair cut
  `only_second` to L);
- CrossEncoder: the tokenizer's `longest_first`: one token at a time from whichever side is longer, so a long
  query loses tokens too, and the two tools part from evalkit only when the query exceeds its budget.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evalkit.app.schema import RerankerConfig
from evalkit.rerank.engine import build_cross_encoder
from evalkit.testing import make_tiny_xlmr
from tests.flag_embedding import import_flag_embedding

L = 64
SHORT = [("what is the capital of China?", "北京是中华人民共和国的首都。"),
         ("中国的首都在哪儿", "北京"), ("Hauptstadt von Deutschland", "Berlin ist die Hauptstadt Deutschlands."),
         ("столица России", "Москва — столица России."), ("how to implement quick sort in python?",
                                                        "Introduction of quick sort")]
LONG_DOC = [(q, " ".join([d] * 30)) for q, d in SHORT]                        # documents of 100s of tokens
LONG_QUERY = [(" ".join([q] * 12), " ".join([d] * 30)) for q, d in SHORT]     # queries beyond L * 3 // 4 tokens


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_xlmr(tmp_path_factory.mktemp("rr") / "tiny-bge-reranker", seed=4)


@pytest.fixture(scope="module")
def ours(model_dir):
    return build_cross_encoder(RerankerConfig(name="bge_m3", model=str(model_dir), max_length=L, cache=False,
                                              dtype="fp32", device="cpu"))


@pytest.fixture(scope="module")
def flag(model_dir):
    return import_flag_embedding().FlagReranker(str(model_dir), use_fp16=False, devices="cpu", max_length=L)


@pytest.fixture(scope="module")
def st(model_dir):
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(model_dir), device="cpu", max_length=L, activation_fn=torch.nn.Identity())


@pytest.mark.parametrize("pairs", [SHORT, LONG_DOC], ids=["short", "long-document"])
def test_scores_match_both_tools(ours, flag, st, pairs):
    mine = ours.score(pairs)
    np.testing.assert_allclose(mine, flag.compute_score(pairs, max_length=L), atol=1e-5, rtol=0)
    np.testing.assert_allclose(mine, st.predict(pairs, batch_size=2), atol=1e-5, rtol=0)
    assert np.ptp(mine) > 1e-3                                             # pairs really score differently


def test_long_queries_follow_flag_rerankers_rule_not_longest_first(ours, flag, st, model_dir):
    mine = ours.score(LONG_QUERY)
    np.testing.assert_allclose(mine, flag.compute_score(LONG_QUERY, max_length=L), atol=1e-5, rtol=0)
    ids = ours.encode(LONG_QUERY)
    tok = ours.tokenizer
    cut = 0
    for (q, d), seq in zip(LONG_QUERY, ids):
        assert len(seq) == L                                               # filled to max_length exactly
        query = tok(q, add_special_tokens=False)["input_ids"]
        cut += len(query) > L * 3 // 4
        assert seq[1:1 + min(len(query), L * 3 // 4)] == query[:L * 3 // 4]   # the query only cut to its budget
    assert cut >= 3
    # CrossEncoder cuts longest_first: its scores are the model's on those ids, which differ from evalkit's
    enc = tok([q for q, _ in LONG_QUERY], [d for _, d in LONG_QUERY], truncation="longest_first", max_length=L,
              padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = ours.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits[:, 0].numpy()
    theirs = st.predict(LONG_QUERY, batch_size=2)
    np.testing.assert_allclose(theirs, logits, atol=1e-5, rtol=0)
    assert np.abs(theirs - mine).max() > 1e-3
