"""The quality-versus-cost view of a real `--multirun` sweep (reranker=gte,bge_m3,none on tiny random models) and of
`evalkit compare` adding a tiny Qwen3 run, looked at in Chromium: the table's rows and Pareto marks follow the
runs' own metrics.json, the plot is drawn (not blank), and a screenshot is kept for a person to look at."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from cli_runner import evalkit
from conftest import write_miracl_layout
from test_compare import fixture_data
from test_explore_browser import browser  # noqa: F401  (the shared Chromium fixture)


@pytest.fixture(scope="module")
def pages(tiny_gte, tmp_path_factory):
    from evalkit.testing import make_tiny_causal_lm

    root = tmp_path_factory.mktemp("cost-pages")
    data = write_miracl_layout(root / "data", {"en": fixture_data("en", 8, {1, 3}), "de": fixture_data("de", 8, {1})})
    env = {"EVALKIT_CACHE": root / "cache"}
    common = ["benchmark=sample", f"benchmark.source={data}", "reranker.device=cpu", "reranker.cache=false"]
    evalkit("--multirun", *common, "reranker=gte,bge_m3,none", f"reranker.model={tiny_gte}", "reranker.max_length=512",
            f"hydra.sweep.dir={root / 'sweep'}", env=env, check=True, cwd=root)
    qwen3 = root / "qwen3"
    evalkit(*common, "reranker=qwen3", f"reranker.model={make_tiny_causal_lm(root / 'tiny-qwen3')}",
            f"hydra.run.dir={qwen3}", env=env, check=True, cwd=root)
    evalkit("compare", root / "sweep", qwen3, "--formats", "md,html", "--out", root / "cmp", env=env, check=True,
            cwd=root)
    return root / "sweep", root / "cmp"


def _speeds(run_dirs: list[Path]) -> dict[str, float | None]:
    out = {}
    for run in run_dirs:
        metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
        out[metrics["protocol"]["reranker"]] = (metrics.get("efficiency") or {}).get("pairs_per_s")
    return out


def _look(browser, page_path: Path, shot: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(page_path.as_uri())
    heading = page.locator("h2", has_text="Quality versus cost")
    assert heading.count() == 1
    table = page.locator("h2:has-text('Quality versus cost') + p + table")
    rows = {r[0]: r for r in table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))")}
    plot = page.locator("img[alt*='versus pairs/s']")
    assert plot.count() == 1
    plot.scroll_into_view_if_needed()
    plot.screenshot(path=str(shot))
    page.close()
    return rows


def test_sweep_and_compare_pages_show_quality_versus_cost(browser, pages, tmp_path):
    sweep, cmp = pages
    from evalkit.report.compare_cli import expand_run_dirs

    runs = expand_run_dirs([sweep])
    speeds = _speeds(runs)
    assert speeds["gte"] > 0 and speeds["bge_m3"] > 0 and speeds["none"] is None
    shots = Path(os.environ.get("EVALKIT_SHOTS", tmp_path))
    rows = _look(browser, sweep / "compare.html", shots / "sweep-cost.png")
    assert set(rows) == {"gte", "bge_m3", "none"}
    assert rows["none"][-1] == "no rerank stage (reranker=none)"
    for name in ("gte", "bge_m3"):
        assert float(rows[name][-5].replace(",", "")) == pytest.approx(speeds[name], abs=0.051)   # pairs/s cell
    # the front, recomputed here from the cells: a system is on it unless another is >= on both and > on one
    points = {n: (float(r[-5].replace(",", "")), float(r[2])) for n, r in rows.items() if n != "none"}
    for name, (x, y) in points.items():
        beaten = any(x2 >= x and y2 >= y and (x2, y2) != (x, y) for n, (x2, y2) in points.items() if n != name)
        assert (rows[name][1] == "◆") == (not beaten), name

    rows = _look(browser, cmp / "compare.html", shots / "compare-cost.png")
    assert {"gte", "bge_m3", "qwen3"} <= {r.split(" ")[0] for r in rows}
    image = matplotlib.image.imread(io.BytesIO((shots / "compare-cost.png").read_bytes()))
    assert image.shape[1] > 600 and np.std(image[..., :3]) > 0.05   # a drawn plot, not a blank box
