"""Markdown, LaTeX, CSV/Parquet and PNG outputs of a comparison, checked structurally and against the inputs."""
from __future__ import annotations

import base64
import io
import re

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from evalkit.errors import EvalkitError
from evalkit.report.comparison import Comparison, System, build_comparison
from evalkit.report.latex import escape
from evalkit.report.formats import check_formats, write_outputs
from evalkit.report.plots import DPI, SIZE, all_plots

LANGS = {"en": 30, "zh_cn": 20}


def synthetic_comparison(seed: int = 0, n_resamples: int = 300) -> Comparison:
    """Three systems on the same queries; names and a language with underscores (LaTeX must escape them)."""
    rng = np.random.default_rng(seed)
    base = {lang: rng.random(n) for lang, n in LANGS.items()}
    systems = []
    for name, shift in [("bm25_none", 0.0), ("gte_rerank", 0.25), ("bge_m3", 0.05)]:
        rows = [dict(lang=lang, qid=str(i), bucket="<=512" if i % 2 else "513-1024", metric=metric,
                     value=float(np.clip(v + shift * rng.random(), 0, 1)))
                for metric in ("ndcg@10", "recall@100") for lang, vs in base.items() for i, v in enumerate(vs)]
        final = pd.DataFrame(rows)
        first = final.assign(value=[0.5 * v for v in final.value])
        protocol = {"benchmark": "sample", "split": "dev", "pool": "full", "depth": 100, "max_length": 512,
                    "measures": ["ndcg@10", "recall@100"], "bucket_edges": [512, 1024],
                    "averaging": "macro", "ties": "score desc, then docid desc"}
        systems.append(System(name, final, first, final.assign(value=1.0), protocol, f"sample/{name}"))
    return build_comparison(systems, "bm25_none", test="randomization", seed=seed, n_resamples=n_resamples)


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    return synthetic_comparison()


def test_latex_is_booktabs_with_escaped_specials(comparison, tmp_path):
    [path] = write_outputs(comparison, tmp_path, ["latex"], "compare")
    tex = path.read_text(encoding="utf-8")
    n_tables = tex.count(r"\begin{tabular}")
    assert n_tables == 10   # 2 metrics x (languages, differences, buckets, bucket differences) + rank stability + ceiling
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == n_tables
    assert r"\usepackage{booktabs}" in tex and tex.rstrip().endswith(r"\end{document}")
    stripped = re.sub(r"\\[_%#&$]", "", tex)
    for macro in (r"$\Delta$", r"$\times$", r"$\emptyset$"):
        stripped = stripped.replace(macro, "")
    assert not re.search(r"[_%#$]", stripped), "unescaped special character"
    assert r"gte\_rerank" in tex and r"zh\_cn" in tex and "†" not in tex and "Δ" not in tex
    assert tex.count("{") == tex.count("}")
    for tabular in re.findall(r"\\begin\{tabular\}\{(\w+)\}(.*?)\\end\{tabular\}", tex, flags=re.S):
        spec, body = tabular
        rows = [line for line in body.splitlines() if line.endswith(r"\\")]
        assert rows and all(row.count("&") == len(spec) - 1 for row in rows)


def test_latex_escape_hand_cases():
    assert escape("a_b & 50% #1 {x} ~ ^ \\") == r"a\_b \& 50\% \#1 \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{}"
    assert escape("70.1†") == r"70.1\textsuperscript{\dag}"


def test_csv_and_parquet_hold_the_tidy_table(comparison, tmp_path):
    written = write_outputs(comparison, tmp_path, ["csv", "parquet"], "compare")
    assert sorted(p.name for p in written) == ["compare.csv", "compare.parquet", "compare_stats.csv",
                                              "compare_stats.parquet"]
    csv = pd.read_csv(tmp_path / "compare.csv", dtype={"qid": str})
    parquet = pd.read_parquet(tmp_path / "compare.parquet")
    assert list(csv.columns) == ["system", "lang", "qid", "bucket", "metric", "value"]
    assert len(csv) == len(parquet) == 3 * 2 * sum(LANGS.values())
    pd.testing.assert_frame_equal(csv, parquet.astype({"qid": str}), check_dtype=False)
    means = parquet[parquet.metric == "ndcg@10"].groupby(["system", "lang"])["value"].mean()
    cis = comparison.cis.set_index(["system", "metric", "lang"])
    assert cis.loc[("gte_rerank", "ndcg@10", "en"), "mean"] == pytest.approx(means[("gte_rerank", "en")])
    stats = pd.read_csv(tmp_path / "compare_stats.csv")
    assert set(stats.by) == {"lang", "bucket"} and set(stats.seed) == {0}


def test_markdown_default_and_bad_format(comparison, tmp_path):
    [path] = write_outputs(comparison, tmp_path, ["md"], "compare")
    md = path.read_text(encoding="utf-8")
    assert "| lang | n | bm25_none (baseline) | gte_rerank | bge_m3 |" in md
    assert "Seed: 0" in md and "## First-stage ceiling vs achieved" in md
    with pytest.raises(EvalkitError, match=r"report.formats: unknown format\(s\) \['pdf'\]"):
        check_formats(["md", "pdf"])


def test_png_plots_read_back(comparison):
    plots = all_plots(comparison)
    assert len(plots) == 8   # 2 metrics x (languages, buckets, ceiling, differences)
    for name, png in plots.items():
        image = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert image.shape[:2] == (SIZE[1] * DPI, SIZE[0] * DPI), name
        assert image[..., :3].std() > 0.05, f"{name} looks blank"
        colours = {tuple(p) for p in (image[..., :3].reshape(-1, 3) * 255).astype(int)[::97]}
        assert len(colours) > 5, f"{name} has too few colours"


def test_html_is_self_contained(comparison, tmp_path):
    [path] = write_outputs(comparison, tmp_path, ["html"], "compare")
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert sources and all(s.startswith("data:") for s in sources)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 8
    first = matplotlib.image.imread(io.BytesIO(base64.b64decode(images[0])), format="png")
    assert first.shape[:2] == (400, 1000)
