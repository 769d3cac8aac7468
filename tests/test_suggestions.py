"""A misspelt key or choice says what was probably meant (one line, exit 2), besides what is allowed."""
from __future__ import annotations

import pytest

from cli_runner import evalkit

CASES = [
    (["reranker.max_lenght=512"], "did you mean reranker.max_length? reranker has: name, model, revision, "
                                  "max_length,"),
    (["candidates.bm25.k=1"], "did you mean candidates.bm25.k1? candidates.bm25 has: mode, k1, b, tokenizer"),
    (["candidates=bm2"], "candidates='bm2' is not an option of group 'candidates' (did you mean bm25?): choose one "
                         "of bm25, bm25_anserini,"),
    (["--multirun", "candidates=bm25,bm2"], "(did you mean bm25?)"),
    (["reranker.backend=cross_encodr"], "reranker.backend='cross_encodr': choose one of api, cross_encoder, llm, none "
                                        "(did you mean cross_encoder?)"),
    (["report.formats=[md,htm]"], "'htm' is not allowed: choose one of csv, explore, html, latex, md, parquet "
                                  "(did you mean html?)"),
]


@pytest.mark.parametrize("args, expected", CASES)
def test_a_misspelling_gets_the_closest_name(args, expected, tmp_path):
    done = evalkit(*args, f"hydra.run.dir={tmp_path / 'run'}", timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert expected in done.stderr, done.stderr


@pytest.mark.parametrize("args", [["candidates=xyzzy"], ["reranker.zzzz=1"]])
def test_nothing_close_suggests_nothing(args, tmp_path):
    done = evalkit(*args, f"hydra.run.dir={tmp_path / 'run'}", timeout=120)
    assert done.returncode == 2 and "did you mean" not in done.stderr, done.stderr
    assert "choose one of" in done.stderr or "reranker has: " in done.stderr, done.stderr
