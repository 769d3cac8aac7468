import logging

import numpy as np
import pytest
import torch

from evalkit.models.batching import BudgetRunner, pad_batch, token_budget_batches


@pytest.mark.parametrize("seed", range(30))
def test_packing_respects_budget_and_covers_every_index_once(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    lengths = rng.integers(1, 600, size=n)
    budget = int(rng.integers(1, 3000))
    max_batch = int(rng.integers(1, 40)) if seed % 2 else None
    batches = token_budget_batches(lengths, budget, max_batch)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(n))
    for b in batches:
        assert len(b) >= 1
        assert len(b) == 1 or len(b) * lengths[b].max() <= budget
        if max_batch is not None:
            assert len(b) <= max_batch
    # longest first, ties by index: the concatenation is a stable sort by descending length
    assert flat.tolist() == sorted(range(n), key=lambda i: (-lengths[i], i))


def test_packing_hand_worked():
    # lengths 5,3,5,2 -> order 0,2,1,3; budget 10: [0,2] (2x5), then [1,3] (2x3 = 6 <= 10, a third would not exist)
    batches = token_budget_batches(np.array([5, 3, 5, 2]), budget=10, min_fill=0.0)
    assert [b.tolist() for b in batches] == [[0, 2], [1, 3]]


def test_packing_closes_batches_before_padding_passes_3_percent():
    # order 0..4; with budget 1000 all five fit, but real/padded falls to 347/400 at the 4th item: close after 3
    batches = token_budget_batches(np.array([100, 99, 98, 50, 49]), budget=1000)
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4]]


def test_padding_efficiency_holds_on_a_wide_length_mix():
    lengths = np.random.default_rng(0).integers(50, 401, size=2000)
    batches = token_budget_batches(lengths, budget=65536)
    for b in batches:
        assert len(b) == 1 or lengths[b].sum() >= 0.97 * len(b) * lengths[b].max()
    padded = sum(len(b) * lengths[b].max() for b in batches)
    assert lengths.sum() / padded >= 0.97
    # an item longer than the budget gets a batch of its own
    assert [b.tolist() for b in token_budget_batches(np.array([50, 4, 4]), budget=8)] == [[0], [1, 2]]


def test_pad_batch_right_pads_with_mask():
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=1)
    assert ids.tolist() == [[5, 6, 7], [8, 1, 1]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert ids.dtype == torch.long and mask.dtype == torch.long


def _sum_forward(ids, mask):
    return (ids * mask).sum(dim=1).to(torch.float64)   # float64 on purpose: the runner must hand back float32


def test_runner_restores_input_order_and_counts_tokens():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(2, 100, size=int(rng.integers(1, 40))).tolist() for _ in range(57)]
    seen = []
    runner = BudgetRunner(budget=64, pad_id=0, progress=False)
    out = runner.run(seqs, _sum_forward, on_batch=lambda idx, res: seen.extend(idx.tolist()))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([sum(s) for s in seqs], dtype=np.float32))
    assert sorted(seen) == list(range(57))
    assert runner.stats.tokens == sum(len(s) for s in seqs)
    batches = token_budget_batches(np.array([len(s) for s in seqs]), 64)
    assert runner.stats.batches == len(batches)
    assert runner.stats.padded_tokens == sum(len(b) * max(len(seqs[i]) for i in b) for b in batches)


def test_runner_keeps_vector_outputs():
    seqs = [[1, 2], [3], [4, 5, 6]]
    out = BudgetRunner(budget=4, pad_id=0, progress=False).run(
        seqs, lambda ids, mask: torch.stack([mask.sum(1), ids[:, 0]], dim=1))
    assert out.tolist() == [[2, 1], [1, 3], [3, 4]]


def test_out_of_memory_halves_budget_and_finishes(caplog):
    limit = 100
    calls = []

    def forward(ids, mask):
        calls.append(ids.numel())
        if ids.numel() > limit:
            raise torch.OutOfMemoryError("CUDA out of memory (fake)")
        return (ids * mask).sum(dim=1).float()

    rng = np.random.default_rng(1)
    seqs = [rng.integers(2, 50, size=int(rng.integers(5, 30))).tolist() for _ in range(40)]
    runner = BudgetRunner(budget=800, pad_id=0, progress=False)
    with caplog.at_level(logging.WARNING):
        out = runner.run(seqs, forward)
    np.testing.assert_array_equal(out, [sum(s) for s in seqs])
    assert runner.budget <= limit and runner.budget in (400, 200, 100, 50)
    assert runner.stats.budget_changes == {400: 1, 200: 2, 100: 3, 50: 4}[runner.budget]
    assert "token budget halved" in caplog.text
    # the smaller budget is remembered: a second run never goes over the limit
    calls.clear()
    runner.run(seqs, forward)
    assert max(calls) <= limit


def test_out_of_memory_on_a_single_item_is_raised():
    def forward(ids, mask):
        raise torch.OutOfMemoryError("CUDA out of memory (fake)")

    with pytest.raises(torch.OutOfMemoryError):
        BudgetRunner(budget=10, pad_id=0, progress=False).run([[1, 2, 3]], forward)
