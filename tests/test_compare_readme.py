"""The README's own sequence on the bundled sample: the CPU advice (`candidates.depth=20`) for a reranked run, BM25
alone at the default depth, then `evalkit compare` of the two: refused in one line, or bannered with the flag; and a
sweep over the depth, refused (exit 2, runs kept) unless report.allow_protocol_mismatch=true."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import evalkit


@pytest.fixture(scope="module")
def readme_runs(tmp_path_factory, tiny_gte) -> Path:
    root = tmp_path_factory.mktemp("readme")
    evalkit("candidates.depth=20", "run.name=bm25-gte", f"reranker.model={tiny_gte}",
            cwd=root, check=True)
    evalkit("reranker=none", cwd=root, check=True)
    return root


def _protocol_rows(report: str) -> dict[str, str]:
    block = report.split("## Protocol", 1)[1].split("\n## ", 1)[0]
    cells = [line.strip("|").split(" | ") for line in block.splitlines() if line.startswith("| ")]
    return {c[0].strip(): c[1].strip() for c in cells[1:]}


@pytest.mark.slow
def test_readme_compare_after_the_cpu_advice_is_refused_in_one_line(readme_runs):
    done = evalkit("compare", "results/sample/bm25-gte", "results/sample/bm25-none", cwd=readme_runs)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "candidates.depth (bm25-gte=20, bm25-none=100)" in done.stderr
    assert "--allow-protocol-mismatch" in done.stderr
    assert not (readme_runs / "results" / "compare").exists()


@pytest.mark.slow
def test_with_the_flag_every_table_and_the_manifest_carry_the_mismatch(readme_runs):
    done = evalkit("compare", "results/sample/bm25-gte", "results/sample/bm25-none", "--allow-protocol-mismatch",
                   "--formats", "md,html", "--resamples", "500", "--out", "cmp", cwd=readme_runs)
    assert done.returncode == 0, done.stderr
    out = readme_runs / "cmp"
    md, html = (out / "compare.md").read_text(encoding="utf-8"), (out / "compare.html").read_text(encoding="utf-8")
    banner = "PROTOCOL MISMATCH (compared as asked): candidates.depth (bm25-gte=20, bm25-none=100)"
    sections = md.count("\n## ") - 1
    assert md.count(banner) == sections + 1                         # every table, and the top of the page
    assert html.count(banner) >= html.count("<table>") - 1            # every table but the protocol block
    # one table of differences per measure, with PyTerrier's counts (the per-bucket difference tables have none)
    diffs = sum(1 for line in md.splitlines() if line.startswith("## ") and ": difference vs " in line
                and not line.endswith(" per length bucket"))
    assert diffs > 0 and html.count("<th>+</th><th>−</th><th>=</th>") == md.count("| + | − | = |") == diffs
    manifest = json.loads((out / "compare_manifest.json").read_text(encoding="utf-8"))
    assert manifest["protocol_mismatch"] == {"candidates.depth": {"bm25-gte": 20, "bm25-none": 100}}
    # what differs: the reranker and the depth, and the titles say so
    assert set(manifest["settings_that_differ"]) >= {"reranker", "candidates.depth"}
    assert list(manifest["runs"]) == ["gte depth=20", "none depth=100"]


@pytest.mark.slow
def test_protocol_rows_of_a_bm25_run_are_clean(readme_runs):
    rows = _protocol_rows((readme_runs / "results/sample/bm25-none/report.md").read_text(encoding="utf-8"))
    assert rows["missing_docs"] == "error"                    # the setting (config.yaml: benchmark.missing_docs)
    assert rows["doc_sep"] == '" " (space)'
    assert "`None`" not in rows.values() and "None" not in rows.values()
    assert "max_length" not in rows and "reranker_model" not in rows   # reranker=none has neither
    assert rows["reranker"] == "none" and rows["depth"] == "`100`"


@pytest.mark.slow
def test_a_sweep_over_depth_is_refused_unless_the_report_key_allows_it(tmp_path):
    args = ["--multirun", "candidates.depth=20,100", "reranker=none", "benchmark.languages=[en,de]"]
    done = evalkit(*args, f"hydra.sweep.dir={tmp_path / 'refused'}")
    assert done.returncode == 2
    line = [x for x in done.stderr.splitlines() if "error" in x]
    assert len(line) == 1 and "candidates.depth (0-bm25-none=20, 1-bm25-none=100)" in line[0]
    assert "report.allow_protocol_mismatch=true" in line[0]
    assert len(list((tmp_path / "refused").glob("*/metrics.json"))) == 2 and \
        not (tmp_path / "refused" / "compare.md").exists()
    done = evalkit(*args, "report.allow_protocol_mismatch=true", f"hydra.sweep.dir={tmp_path / 'allowed'}")
    assert done.returncode == 0, done.stderr[-2000:]
    md = (tmp_path / "allowed" / "compare.md").read_text(encoding="utf-8")
    assert "PROTOCOL MISMATCH" in md and "| depth=20 (baseline) | depth=100 |" in md
