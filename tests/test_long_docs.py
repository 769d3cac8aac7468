"""reranker.long_docs (evalkit/rerank/chunks.py): chunk boundaries and aggregation against hand-worked cases; the
chunks the engine builds against token lists built here from the tokenizer's own ids (query at the start of every
chunk, title repeated or not, last chunk shorter); MaxP / FirstP / SumP / MeanP through the engine against each
chunk scored alone with plain transformers (fp32, 1e-5), for an encoder and a decoder-only reranker; the pair cache
shared across strategies exactly where the chunks are the same tokens; bad settings refused in one line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cli_runner import evalkit
from evalkit.errors import EvalkitError
from evalkit.models import loading
from evalkit.rerank.cache import PairCache
from evalkit.rerank.chunks import aggregate, chunk_spans
from evalkit.rerank.engine import CrossEncoder, EngineSettings

TOL = 1e-5
WORDS = ("river mountain harbour lantern copper violet meadow canyon orchard glacier compass ember falcon "
         "marble tundra saffron quarry beacon willow prairie cobalt jasmine summit lagoon thistle").split()


def document(n_words: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(WORDS, n_words).tolist()) + " end."


def test_chunk_spans_hand_worked():
    assert chunk_spans(1000, 400, 300).tolist() == [[0, 400], [300, 700], [600, 1000]]
    assert chunk_spans(1001, 400, 300).tolist() == [[0, 400], [300, 700], [600, 1000], [900, 1001]]  # last: 101
    assert chunk_spans(400, 400, 300).tolist() == [[0, 400]]
    assert chunk_spans(401, 400, 400).tolist() == [[0, 400], [400, 401]]
    assert chunk_spans(0, 400, 400).tolist() == [[0, 0]]


def test_aggregation_hand_worked():
    scores = np.array([1.0, 3.0, 2.0, 5.0, -1.0, -1.0, 0.5], dtype=np.float32)
    offsets = np.array([0, 3, 4, 7])
    expected = {"maxp": [3.0, 5.0, 0.5], "firstp": [1.0, 5.0, -1.0], "sump": [6.0, 5.0, -1.5],
                "meanp": [2.0, 5.0, -0.5]}
    for strategy, want in expected.items():
        got, best = aggregate(strategy, scores, offsets)
        assert got.dtype == np.float32 and got.tolist() == want, strategy
        assert best.tolist() == [1, 0, 2]   # the first chunk reaching each document's maximum


@pytest.fixture(scope="module")
def gte(tiny_gte):
    return loading.load_cross_encoder(str(tiny_gte), dtype=torch.float32, device="cpu")


def engine(gte, cache=None, **settings) -> CrossEncoder:
    return CrossEncoder(gte.model, gte.tokenizer, gte.info, EngineSettings(**settings), cache=cache, progress=False)


def ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def expected_chunks(tok, query: str, body: list[int], head: list[int], max_length: int, size: int | None,
                    stride: int | None) -> list[list[int]]:
    """<s> query </s></s> head + body[start:end] </s>, chunk starts every `stride` tokens, written out here."""
    q = ids(tok, query)
    room = max_length - 4 - len(q) - len(head)
    size = min(size or room, room)
    stride = min(stride or size, size)
    out, start = [], 0
    while True:
        out.append([tok.cls_token_id, *q, tok.sep_token_id, tok.sep_token_id, *head, *body[start:start + size],
                    tok.sep_token_id])
        if start + size >= len(body):
            return out
        start += stride


@pytest.mark.parametrize("size,stride", [(40, 30), (40, None), (None, None), (None, 17)])
def test_chunks_are_the_documents_tokens_with_the_query_in_front(gte, size, stride):
    tok, query, doc = gte.tokenizer, "where is the copper lantern", document(120)
    body = ids(tok, doc)
    want = expected_chunks(tok, query, body, [], 64, size, stride)
    got = engine(gte, max_length=64, long_docs="maxp", chunk_tokens=size, chunk_stride=stride).encode([(query, doc)])
    assert got == want
    assert len(got) > 3 and len(got[-1]) < len(got[0])     # several chunks, the last one shorter
    assert all(len(chunk) <= 64 for chunk in got)


def test_title_in_every_chunk_or_only_the_first(gte):
    tok, query, title, body_text = gte.tokenizer, "violet meadow", "Copper Harbour", document(90, seed=3)
    head, body = ids(tok, title), ids(tok, body_text)
    assert ids(tok, f"{title} {body_text}") == head + body   # so the expected lists below are the joint tokenization
    every = engine(gte, max_length=48, long_docs="maxp", chunk_title=True).encode([(query, (f"{title} ", body_text))])
    assert every == expected_chunks(tok, query, body, head, 48, None, None)
    first = engine(gte, max_length=48, long_docs="maxp", chunk_title=False).encode([(query, (f"{title} ", body_text))])
    assert first == expected_chunks(tok, query, head + body, [], 48, None, None)
    assert every[1][:len(ids(tok, query)) + 3 + len(head)][-len(head):] == head and first[1][-len(head) - 1:] != head


def test_a_document_that_fits_is_read_as_truncate_reads_it(gte):
    pairs = [("glacier", "A short glacier passage."), ("summit", document(8))]
    plain = engine(gte, max_length=128)
    chunked = engine(gte, max_length=128, long_docs="maxp")
    assert chunked.encode(pairs) == plain.encode(pairs)
    assert np.array_equal(chunked.score(pairs), plain.score(pairs))


def reference_scores(gte, chunks: list[list[int]]) -> np.ndarray:
    """Each chunk alone through the plain transformers model (no evalkit batching, no padding)."""
    with torch.no_grad():
        return np.array([gte.model(input_ids=torch.tensor([c])).logits[0, 0].item() for c in chunks])


@pytest.mark.parametrize("strategy", ["maxp", "firstp", "sump", "meanp"])
def test_strategies_through_the_engine_equal_chunks_scored_alone(gte, strategy):
    tok = gte.tokenizer
    pairs = [("copper lantern", document(150, seed=1)), ("falcon", document(60, seed=2)), ("ember", "ember end."),
             ("orchard summit", document(210, seed=4))]
    enc = engine(gte, max_length=72, long_docs=strategy, chunk_tokens=48, chunk_stride=36, batch_tokens=512)
    got = enc.score(pairs)
    for (query, doc), score in zip(pairs, got):
        ref = reference_scores(gte, expected_chunks(tok, query, ids(tok, doc), [], 72, 48, 36))
        want = {"maxp": ref.max(), "firstp": ref[0], "sump": ref.sum(), "meanp": ref.mean()}[strategy]
        assert abs(score - want) <= TOL * max(1, len(ref)), (strategy, query)
    assert enc.stats.documents == len(pairs)


def test_details_name_the_winning_chunk(gte):
    tok, query, doc = gte.tokenizer, "marble quarry", document(150, seed=5)
    enc = engine(gte, max_length=72, long_docs="maxp", chunk_tokens=48, chunk_stride=36)
    [(scores, details)] = list(enc.score_stream_chunked([[(query, doc)]]))
    ref = reference_scores(gte, expected_chunks(tok, query, ids(tok, doc), [], 72, 48, 36))
    best = int(np.argmax(ref))
    assert details["chunks"][0] == len(ref) and details["best"][0] == best
    assert (details["start"][0], details["end"][0]) == (36 * best, min(36 * best + 48, len(ids(tok, doc))))


def test_the_cache_is_shared_exactly_where_the_chunks_are_the_same(gte, tmp_path):
    tok, query, doc = gte.tokenizer, "cobalt prairie", document(200, seed=6)
    n = len(ids(tok, doc))
    cache = PairCache(tmp_path / "pairs.sqlite")
    base = dict(max_length=64, chunk_tokens=40, batch_tokens=512)
    first = engine(gte, cache, long_docs="maxp", chunk_stride=30, **base)
    first.score([(query, doc)])
    assert first.stats.scored == len(chunk_spans(n, 40, 30))
    again = engine(gte, cache, long_docs="meanp", chunk_stride=30, **base)   # same chunks, other aggregation
    again.score([(query, doc)])
    assert again.stats.scored == 0
    other = engine(gte, cache, long_docs="maxp", chunk_stride=20, **base)   # another stride: new chunks only
    other.score([(query, doc)])
    old = {tuple(s) for s in chunk_spans(n, 40, 30).tolist()}
    assert other.stats.scored == sum(tuple(s) not in old for s in chunk_spans(n, 40, 20).tolist()) > 0
    wider = engine(gte, cache, long_docs="maxp", **{**base, "chunk_tokens": 41})   # no chunk in common
    wider.score([(query, doc)])
    assert wider.stats.scored == len(chunk_spans(n, 41, 41))


def test_bad_chunk_settings_are_refused(gte):
    with pytest.raises(EvalkitError, match="reranker.chunk_tokens"):
        engine(gte, max_length=64, long_docs="maxp", chunk_tokens=64)
    with pytest.raises(EvalkitError, match="reranker.chunk_stride"):
        engine(gte, max_length=64, long_docs="maxp", chunk_tokens=20, chunk_stride=21)
    with pytest.raises(EvalkitError, match="reranker.long_docs"):
        engine(gte, max_length=64, long_docs="maxpool")


def test_decoder_maxp_equals_its_chunks_scored_alone(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from evalkit.rerank.decoder import build_decoder
    from evalkit.testing import make_tiny_causal_lm
    from test_llm_rerankers import CARD_INSTRUCTION, QWEN_PREFIX, QWEN_SUFFIX, preset

    model_dir = make_tiny_causal_lm(tmp_path / "qwen3", "qwen3", seed=1)
    scorer = build_decoder(preset("qwen3", model_dir, max_length=256, long_docs="maxp", chunk_tokens=50,
                                  chunk_stride=40))
    pairs = [("where is the harbour", document(120, seed=7)), ("ember", "ember end.")]
    got = scorer.score(pairs)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    prefix, suffix = ids(tok, QWEN_PREFIX), ids(tok, QWEN_SUFFIX)
    for (query, doc), score in zip(pairs, got):
        q = ids(tok, f"<Instruct>: {CARD_INSTRUCTION}\n<Query>: {query}\n<Document>:")
        body = ids(tok, f" {doc}")
        refs, start = [], 0
        while True:
            row = torch.tensor([prefix + q + body[start:start + 50] + suffix])
            with torch.no_grad():
                logits = model(input_ids=row).logits[0, -1]
            refs.append((logits[yes] - logits[no]).item())
            if start + 50 >= len(body):
                break
            start += 40
        assert abs(score - max(refs)) <= TOL, query
        assert len(refs) > 1 or query == "ember"


def test_sample_run_records_chunks_and_refuses_the_api(tiny_gte, tmp_path):
    out = tmp_path / "run"
    result = evalkit("benchmark=sample", "benchmark.languages=[es]", "reranker=gte", f"reranker.model={tiny_gte}",
                     "reranker.long_docs=maxp", "reranker.max_length=128", "candidates.depth=10",
                     f"hydra.run.dir={out}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["long_docs"].startswith("maxp")
    rows = (out / "runs" / "reranked.es.chunks.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["qid", "docid", "chunks", "best", "start", "end"]
    counts = [int(r.split("\t")[2]) for r in rows[1:]]
    sample = Path(loading.__file__).parents[1] / "sample_data"
    topics = sample / "miracl-v1.0-es" / "topics" / "topics.miracl-v1.0-es-dev.tsv"
    assert len(counts) == len(topics.read_text().splitlines()) * 10
    assert metrics["long_docs"]["chunks"] == sum(counts) > len(counts)
    assert metrics["long_docs"]["documents_in_several_chunks"] == sum(c > 1 for c in counts)
    bad = evalkit("reranker=api", "reranker.api.base_url=http://127.0.0.1:9", "reranker.long_docs=maxp",
                  cwd=tmp_path)
    assert bad.returncode == 2 and "reranker.long_docs" in bad.stderr
