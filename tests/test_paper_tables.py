"""The mGTE paper tables (experiment=mgte_table4 / mgte_table5): every cell's preset composes; the page built from a
fixture sweep (cells run, failed, missing; one outside the tolerance) has hand-checked verdicts and deltas; each
cell's printed command composes to the config its run had; the stand-in sweep on tiny checkpoints writes the page
end to end, one cell checked against ir_measures; the html looked at in Chromium."""
from __future__ import annotations

import importlib.util
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from cli_runner import evalkit
from test_explore_browser import browser  # noqa: F401  (the shared Chromium fixture)
from evalkit.app.schema import register
from evalkit.cli import CONFIG_DIR
from evalkit.report import paper_table

REPO = Path(__file__).resolve().parent.parent
PRESETS = {"mgte_table5": "reranked", "mgte_table4": "first_stage"}


def compose_cfg(overrides: list[str], hydra: bool = False):
    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=hydra)


def plain(cfg) -> dict:
    tree = OmegaConf.to_container(cfg, resolve=True)
    tree.pop("hydra", None)
    return tree


def spec(preset: str) -> dict:
    return yaml.safe_load((REPO / "configs" / "experiment" / f"{preset}.yaml").read_text())


def swept(preset: str) -> list[str]:
    return spec(preset)["hydra"]["sweeper"]["params"][f"+experiment/{preset}"].split(",")


def cell_candidates(preset: str, cell: str) -> str | None:
    text = (REPO / "configs" / "experiment" / preset / f"{cell}.yaml").read_text()
    m = re.search(r"override /candidates: (\S+)", text)
    return m.group(1) if m else None


# ---------------------------------------------------------------- presets

@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_cell_has_a_preset_and_every_available_one_is_swept_and_composes(preset):
    table = spec(preset)["table"]
    candidates = {p.stem for p in (REPO / "configs" / "candidates").glob("*.yaml")}
    cells = [paper_table.cell_name(c, r) for c in table["columns"] for r in table["rows"]]
    assert set(swept(preset)) <= set(cells) and len(set(swept(preset))) == len(swept(preset))
    for cell in cells:
        column, row = cell.split("-", 1)
        first = cell_candidates(preset, cell) or "mgte_dense"           # table 5 inherits the preset's first stage
        if first not in candidates:                                     # a first stage not in evalkit: the page
            assert cell not in swept(preset), cell                      # says "not run"; once it exists, add the
            continue                                                    # cell to the sweep (this test fails then)
        assert cell in swept(preset), f"{cell}: candidates={first} exists; add the cell to hydra.sweeper.params"
        cfg = compose_cfg([f"experiment={preset}", f"+experiment/{preset}={cell}"])
        tree = plain(cfg)
        assert tree["table"]["cell"] == cell and tree["run"]["name"] == f"{preset}-{cell}"
        assert tree["benchmark"]["name"] == table["columns"][column]["benchmark"]
        assert table["columns"][column]["metric"] in tree["metrics"]["measures"] or column != "mkqa"
        assert tree["candidates"]["depth"] == 100
        if preset == "mgte_table5":
            assert tree["reranker"]["name"] == row and tree["candidates"]["label"] == "mgte_dense"
        else:
            assert tree["reranker"]["name"] == "none"
    # the stated default datasets are the benchmark configs' own lists
    for name, listed in table["datasets"].items():
        assert listed == yaml.safe_load((REPO / "configs" / "benchmark" / f"{name}.yaml").read_text())["datasets"]


def test_the_sources_reach_the_benchmark_keys():
    cfg = plain(compose_cfg(["experiment=mgte_table5", "+experiment/mgte_table5=mkqa-gte", "table.sources.mkqa=/d/q",
                             "table.sources.mkqa_corpus=/d/c", "table.languages=[es,de]"]))
    assert (cfg["benchmark"]["source"], cfg["benchmark"]["corpus_source"]) == ("/d/q", "/d/c")
    assert cfg["benchmark"]["languages"] == ["es", "de"] and cfg["metrics"]["measures"][0] == "answer_recall@20"
    beir = plain(compose_cfg(["experiment=mgte_table5", "+experiment/mgte_table5=beir-jina_v2",
                              "table.datasets.beir=[scifact]"]))
    assert beir["benchmark"]["datasets"] == ["scifact"] and beir["benchmark"]["languages"] is None
    assert beir["reranker"]["max_length"] == 1024                      # jina's own window, not the MLDR column's
    assert plain(compose_cfg(["experiment=mgte_table5", "+experiment/mgte_table5=beir-gte"]))["reranker"][
        "max_length"] is None
    mldr = plain(compose_cfg(["experiment=mgte_table5", "+experiment/mgte_table5=mldr-gte"]))
    assert mldr["reranker"]["max_length"] == 8192 and mldr["benchmark"]["source"] == "Shitao/MLDR"


def test_the_preset_alone_stops_in_one_line_naming_the_key(tmp_path):
    done = evalkit("experiment=mgte_table5", f"hydra.run.dir={tmp_path}/run", timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert "table.cell" in done.stderr and "--multirun experiment=<table>" in done.stderr


# ---------------------------------------------------------------- the page from a fixture sweep

def fake_run(sweep: Path, num: int, preset: str, cell: str, metric: str, by_lang: dict[str, float],
             system: str = "reranked") -> Path:
    run = sweep / f"{num}-{preset}-{cell}"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"table": {"name": preset, "cell": cell}}))
    values = {**by_lang, "avg": sum(by_lang.values()) / len(by_lang)}
    (run / "metrics.json").write_text(json.dumps({
        "systems": {system: {"by_language": {metric: values}}},
        "protocol": {"candidates": "dense", "depth": 100, "reranker": cell.split("-", 1)[1], "max_length": 8192}}))
    return run


@pytest.fixture
def fixture_sweep(tmp_path) -> Path:
    """mgte_table5 with three cells run (two OK, one FAIL), one failed job, the other eight never started."""
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    cfg = compose_cfg(["experiment=mgte_table5", "table.sources.mldr=/data/mldr"], hydra=True)
    tree = OmegaConf.to_container(cfg, resolve=False)
    tree["hydra"]["overrides"]["task"] = ["experiment=mgte_table5", "table.sources.mldr=/data/mldr"]
    (sweep / "multirun.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    # published gte MLDR 78.7: 0.7873 -> 78.73, +0.03 OK; per language 80.0 / 77.46
    fake_run(sweep, 2, "mgte_table5", "mldr-gte", "ndcg@10", {"ar": 0.80, "de": 0.7746})
    # published bge_m3 MIRACL 72.6: 0.7254 -> 72.54, -0.06 FAIL
    fake_run(sweep, 4, "mgte_table5", "miracl-bge_m3", "ndcg@10", {"en": 0.7254})
    # published gte MKQA 67.2: 0.6725 -> 67.25, +0.05: at the tolerance, OK
    fake_run(sweep, 8, "mgte_table5", "mkqa-gte", "answer_recall@20", {"es": 0.6725})
    (sweep / "FAILED.txt").write_text(
        "This sweep did not finish: ...\n\njob 11 (+experiment/mgte_table5=beir-gte experiment=mgte_table5 "
        "table.sources.mldr=/data/mldr): benchmark.source=x: no directory scifact/ (exit 2); its directory: /y\n")
    return sweep


def md_cells(md: str) -> dict[str, list[str]]:
    """system label -> its cells in the page's first table."""
    table = md.split("| system |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table)}


def test_page_from_a_fixture_sweep_has_hand_checked_verdicts(fixture_sweep):
    paths = paper_table.write_page(fixture_sweep)
    assert [p.name for p in paths] == ["table.md", "table.html"]
    md = (fixture_sweep / "table.md").read_text()
    rows = md_cells(md)
    gte, bge, jina = (rows["gte-multilingual-reranker-base (304M)"], rows["bge-reranker-v2-m3 (568M)"],
                      rows["jina-reranker-v2-base-multilingual (278M)"])
    # columns: MLDR, MIRACL, MKQA, BEIR
    assert gte[0] == "78.73 / 78.70 (+0.03) OK"
    assert bge[1] == "72.54 / 72.60 (-0.06) FAIL"
    assert gte[2] == "67.25 / 67.20 (+0.05) OK"
    assert gte[3] == "failed (published 55.40)"
    assert jina == ["not run (published 53.20)", "not run (published 65.80)", "not run (published 68.80)",
                    "not run (published 49.70)"]
    assert sum(c.endswith(" OK") for r in rows.values() for c in r) == 2
    assert sum(c.startswith("not run") for r in rows.values() for c in r) == 8
    assert "benchmark.source=x: no directory scifact/ (exit 2)" in md           # the failed cell says why
    assert "OK when |evalkit − published| <= 0.05 (table.tolerance)" in md and "status: secondary" in md
    assert "STAND-IN" in md                                                     # a local source: a stand-in
    # per language: MLDR has ar / de for gte
    section = md.split("## MLDR nDCG@10 per language / dataset")[1].split("\n## ")[0]
    assert "| gte-multilingual-reranker-base (304M) | 80.00 | 77.46 |" in section
    # every cell's command, the not-run ones included
    for cell in [paper_table.cell_name(c, r) for c in ("mldr", "miracl", "mkqa", "beir")
                 for r in ("jina_v2", "bge_m3", "gte")]:
        assert f"  evalkit experiment=mgte_table5 table.sources.mldr=/data/mldr +experiment/mgte_table5={cell}\n" in md


def test_a_stated_tolerance_changes_the_verdicts_and_the_page_says_so(fixture_sweep):
    tree = yaml.safe_load((fixture_sweep / "multirun.yaml").read_text())
    tree["table"]["tolerance"] = 0.1
    (fixture_sweep / "multirun.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    page = paper_table.collect(fixture_sweep)
    assert page.cells["miracl", "bge_m3"].state == "OK"                      # |-0.06| <= 0.1
    assert "OK when |evalkit − published| <= 0.1 (table.tolerance)" in paper_table.render_markdown(page)


def test_the_printed_command_composes_to_the_cell(fixture_sweep):
    command = shlex.split(paper_table.collect(fixture_sweep).cells["mkqa", "jina_v2"].command)
    cfg = plain(compose_cfg(command[1:]))
    assert cfg["table"]["cell"] == "mkqa-jina_v2" and cfg["reranker"]["name"] == "jina_v2"
    assert cfg["benchmark"]["name"] == "mkqa" and cfg["table"]["sources"]["mldr"] == "/data/mldr"


def test_no_stand_in_banner_on_hub_sources(fixture_sweep):
    tree = yaml.safe_load((fixture_sweep / "multirun.yaml").read_text())
    tree["table"]["sources"]["mldr"] = "Shitao/MLDR"
    (fixture_sweep / "multirun.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    assert "STAND-IN" not in paper_table.render_markdown(paper_table.collect(fixture_sweep))
    tree["table"]["stand_in"] = True
    (fixture_sweep / "multirun.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    assert "STAND-IN" in paper_table.render_markdown(paper_table.collect(fixture_sweep))


def test_table4_cells_outside_the_sweep_say_so(tmp_path):
    """A cell the preset lists but its sweep leaves out (a first stage not yet in evalkit) is "not run", saying why."""
    sweep = tmp_path / "t4"
    sweep.mkdir()
    tree = OmegaConf.to_container(compose_cfg(["experiment=mgte_table4"], hydra=True), resolve=False)
    params = tree["hydra"]["sweeper"]["params"]
    params["+experiment/mgte_table4"] = ",".join(c for c in swept("mgte_table4") if not c.endswith("-mgte_sparse"))
    (sweep / "multirun.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    page = paper_table.collect(sweep)
    assert len(page.cells) == 25 and {c.state for c in page.cells.values()} == {"not run"}
    pending = {k for k, c in page.cells.items() if "not in this preset's sweep" in c.reason}
    assert pending == {(col, "mgte_sparse") for col in ("mldr", "miracl", "mkqa", "beir", "loco")}
    assert page.cells["loco", "mgte_dense"].published == 88.9 and page.cells["mkqa", "mgte_sparse"].published == 31.6


def test_rebuild_command(fixture_sweep, tmp_path):
    done = evalkit("table", str(fixture_sweep), "--out", str(tmp_path / "out"), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "table.md").read_text() == paper_table.render_markdown(paper_table.collect(fixture_sweep))
    bad = evalkit("table", str(tmp_path / "nowhere"), timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "multirun.yaml" in bad.stderr


def test_html_in_a_browser(fixture_sweep, browser):
    paper_table.write_page(fixture_sweep)
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("request", lambda r: errors.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto((fixture_sweep / "table.html").as_uri())
    cells = page.locator("#cells td[data-cell]")
    assert cells.count() == 12
    states = {cells.nth(i).get_attribute("data-cell"): cells.nth(i).locator(".verdict").inner_text()
              for i in range(12)}
    assert states["mldr-gte"] == "OK" and states["miracl-bge_m3"] == "FAIL" and states["beir-gte"] == "failed"
    assert sum(v == "not run" for v in states.values()) == 8
    fail = page.locator("td[data-cell='miracl-bge_m3']")
    colour = fail.evaluate("e => getComputedStyle(e).backgroundColor")
    ok = page.locator("td[data-cell='mldr-gte']").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour != ok
    code = page.locator("td[data-cell='beir-jina_v2'] code")
    assert not code.is_visible()                                           # folded until asked for
    page.locator("td[data-cell='beir-jina_v2'] summary").click()
    assert code.is_visible()
    assert code.inner_text() == ("evalkit experiment=mgte_table5 table.sources.mldr=/data/mldr "
                                 "+experiment/mgte_table5=beir-jina_v2")
    assert page.locator(".banner").inner_text().startswith("STAND-IN DATA")
    assert not errors, errors
    page.close()


# ---------------------------------------------------------------- the stand-in sweep, end to end

def load_stand_ins():
    spec_ = importlib.util.spec_from_file_location("paper_stand_ins", REPO / "scripts" / "paper_stand_ins.py")
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_stand_in_sweep_writes_the_page(tmp_path):
    import ir_measures
    from test_loading import _fake_hub_cache

    from evalkit.testing import make_tiny_gte, make_tiny_gte_embedding, make_tiny_jina_v2, make_tiny_xlmr

    hub = tmp_path / "hf" / "hub"
    hub.mkdir(parents=True)
    for repo, make in (("Alibaba-NLP/gte-multilingual-base", make_tiny_gte_embedding),
                       ("Alibaba-NLP/gte-multilingual-reranker-base", make_tiny_gte),
                       ("BAAI/bge-reranker-v2-m3", make_tiny_xlmr),
                       ("jinaai/jina-reranker-v2-base-multilingual", make_tiny_jina_v2)):
        _fake_hub_cache(hub, make(tmp_path / "models" / repo.split("/")[1]), repo)
    overrides = load_stand_ins().write_stand_ins(tmp_path / "data", ["es"], 3)["mgte_table5"]
    sweep = tmp_path / "sweep"
    done = evalkit("--multirun", "experiment=mgte_table5", *overrides, "candidates.depth=20", "reranker.device=cpu",   # 20: MKQA's @20
                   "reranker.max_length=1024", "candidates.mgte.max_length=512", "candidates.mgte.device=cpu",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path, timeout=600,
                   env={"HF_HUB_CACHE": str(hub), "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1",
                        "EVALKIT_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr[-3000:]
    page = paper_table.collect(sweep)
    assert page.stand_in and {c.state for c in page.cells.values()} <= {"OK", "FAIL"}
    assert len(page.cells) == 12
    md = (sweep / "table.md").read_text()
    assert md.splitlines()[2].startswith("> STAND-IN DATA")
    # one cell against ir_measures: MIRACL stand-in (the sample's es queries), reranked by the tiny GTE
    run_dir = next(p for p in sweep.iterdir() if p.name.endswith("-mgte_table5-miracl-gte"))
    qrels = [ir_measures.Qrel(q, d, int(g)) for q, _, d, g in (
        line.split("\t") for line in (tmp_path / "data" / "miracl" / "miracl-v1.0-es" / "qrels" /
                                      "qrels.miracl-v1.0-es-dev.tsv").read_text().splitlines())]
    run = [ir_measures.ScoredDoc(q, d, float(s)) for q, _, d, _, s, _ in (
        line.split() for line in (run_dir / "runs" / "reranked.es.trec").read_text().splitlines())]
    expected = 100 * ir_measures.calc_aggregate([ir_measures.nDCG @ 10], qrels, run)[ir_measures.nDCG @ 10]
    cell = page.cells["miracl", "gte"]
    assert cell.value == pytest.approx(expected, abs=1e-9)
    assert cell.delta == pytest.approx(expected - 68.5, abs=1e-9)
    assert cell.state == ("OK" if abs(expected - 68.5) <= 0.05 else "FAIL")
    # the printed command composes to the configuration the run had
    command = shlex.split(cell.command)
    assert command[0] == "evalkit"
    recorded = yaml.safe_load((run_dir / "config.yaml").read_text())        # the run's resolved configuration
    again = plain(compose_cfg([*command[1:], *[]]))
    for section in ("benchmark", "candidates", "reranker", "metrics", "table", "run"):
        assert again[section] == recorded[section], section


def test_a_sweep_stopped_by_a_failing_job_still_writes_the_page(tmp_path):
    """Hydra's basic launcher stops at the first job that exits with evalkit's one-line error: the page is written
    from that job, names its reason, and lists the cells that never started as not run."""
    sweep = tmp_path / "sweep"
    done = evalkit("--multirun", "experiment=mgte_table5", f"table.sources.mldr={tmp_path}/no/such/dir",
                   f"hydra.sweep.dir={sweep}", cwd=tmp_path, timeout=300)
    assert done.returncode != 0
    page = paper_table.collect(sweep)
    first = page.cells["mldr", "jina_v2"]
    assert first.state == "failed" and "benchmark.source" in first.reason and "no/such/dir" in first.reason
    assert [c.state for k, c in page.cells.items() if k != ("mldr", "jina_v2")] == ["not run"] * 11
    assert (sweep / "table.md").read_text() == paper_table.render_markdown(page)
