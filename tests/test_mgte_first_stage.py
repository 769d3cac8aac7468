import numpy as np

from evalkit.candidates.mgte import pool_token_weights


def test_max_over_repeats_specials_dropped_relu():
    # hand-worked: ids [0 cls, 7, 9, 7, 2 eos, 1 pad]; weights [5, .2, -1, .6, 3, 4]
    got = pool_token_weights([0, 7, 9, 7, 2, 1], [5, .2, -1, .6, 3, 4], {0, 1, 2, 3})
    assert set(got) == {7}                      # 9 is relu'd to 0; specials gone
    assert abs(got[7] - 0.6) < 1e-6             # max, not the sum 0.8


def test_seeded_mistakes_differ():
    got = pool_token_weights([0, 5, 5], [9, .1, .3], {0})
    assert 0 not in got                         # special tokens kept would fail
    assert abs(got[5] - 0.3) < 1e-6 and abs(got[5] - 0.4) > 1e-3   # sum would fail
