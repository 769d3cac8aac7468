"""A key added with Hydra's `+key=value` is held to the schema like any other key: a misspelling is one line with
a did-you-mean, exit 2, before any work (single runs in the preflight, --multirun jobs in the job)."""
from __future__ import annotations

import pytest

from cli_runner import evalkit
from evalkit.app.validate import check_known_keys, unknown_keys
from evalkit.app.schema import schema
from evalkit.errors import EvalkitError

CASES = [
    (["+reranker.max_lenght=512"], "reranker.max_lenght is not a configuration key",
     "did you mean reranker.max_length? reranker has: name, model, revision, max_length,"),
    (["+candidates.bm25.k=1.2"], "candidates.bm25.k is not a configuration key",
     "did you mean candidates.bm25.k1? candidates.bm25 has: mode, k1, b, tokenizer"),
    (["+metrics.measurs=[ndcg@10]"], "metrics.measurs is not a configuration key", "did you mean metrics.measures?"),
    (["+runn.seed=1"], "runn is not a configuration key", "did you mean run? the top level has: benchmark,"),
]


@pytest.mark.parametrize("args, named, hint", CASES)
def test_a_misspelt_plus_key_is_refused_like_a_plain_one(args, named, hint, tmp_path):
    done = evalkit("reranker=none", *args, f"hydra.run.dir={tmp_path / 'run'}", "run.name=x",
                   env={"EVALKIT_CACHE": tmp_path / "cache"}, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert done.stderr.startswith("evalkit: error: bad configuration: ") and named in done.stderr and hint in done.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()


def test_a_multirun_job_refuses_it_too(tmp_path):
    """--multirun skips the preflight; the job's own check refuses the key before any work (and the sweep is
    marked unfinished, tests/test_sweep_failure.py)."""
    done = evalkit("--multirun", "reranker=none", "+reranker.max_lenght=512", f"hydra.sweep.dir={tmp_path / 's'}",
                   env={"EVALKIT_CACHE": tmp_path / "cache"}, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    error, where = done.stderr.strip().splitlines()[-2:]
    assert error.startswith("evalkit: error: reranker.max_lenght is not a configuration key")
    assert "did you mean reranker.max_length?" in error and where.endswith(str(tmp_path / "s" / "FAILED.txt"))
    assert not (tmp_path / "cache").exists()


def test_free_form_mappings_still_take_new_keys():
    """A dict-typed setting (candidates.lucene.analyzers: language -> analyzer) is not a section: + adds to it."""
    tree = {"candidates": {"name": "lucene", "lucene": {"analyzers": {"xx": "whitespace"}}},
            "reranker": {"max_length": 512}, "run": {"seed": 0}}
    assert list(unknown_keys(tree, schema())) == []
    check_known_keys(tree)
    with pytest.raises(EvalkitError, match=r"^candidates\.lucene\.analyzer is not a configuration key .*did you "
                                           r"mean candidates\.lucene\.analyzers\?"):
        check_known_keys({"candidates": {"lucene": {"analyzer": {"xx": "whitespace"}}}})
