"""The first-stage ceiling in the pipeline equals the metrics of an oracle-sorted run computed by pytrec_eval."""
import pytest
import pytrec_eval
from hydra import compose, initialize_config_dir

from evalkit.cli import CONFIG_DIR
from evalkit.app.schema import register
from evalkit.data.trec import read_qrels
from evalkit.pipeline import run

# deliberately badly ordered candidates, with the relevant 10#0 (grade 2) last for query 1
RUN = {"en": "1 Q0 13#0 1 9 x\n1 Q0 11#0 2 8 x\n1 Q0 12#0 3 7 x\n1 Q0 10#0 4 6 x\n"
             "2 Q0 10#0 1 5 x\n2 Q0 12#0 2 4 x\n3 Q0 13#0 1 1 x\n",
       "zh": "1 Q0 22#0 1 3 x\n1 Q0 21#1 2 2 x\n1 Q0 20#0 3 1 x\n2 Q0 20#0 1 1 x\n"}


def test_ceiling_equals_pytrec_eval_on_the_oracle_sorted_candidates(mini_miracl, tmp_path):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    for lang, text in RUN.items():
        (runs_dir / f"run.{lang}.trec").write_text(text)
    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            f"benchmark.source={mini_miracl}", "candidates=runfile", f"candidates.path={runs_dir}",
            "candidates.depth=3", "reranker=none", "metrics.measures=[ndcg@3,recall@100]"])
    result = run(cfg, tmp_path / "out")
    assert "recall@3" in result.metrics["protocol"]["measures"]            # recall at the rerank depth, added
    assert result.metrics["not_reported"] == ["recall@100"]               # deeper than the depth: not reported
    assert "recall@100" not in set(result.table.metric)
    table = result.table[result.table.system == "ceiling"]
    for lang in RUN:
        qrels = read_qrels(mini_miracl / f"miracl-v1.0-{lang}/qrels/qrels.miracl-v1.0-{lang}-dev.tsv")
        top3 = {}
        for line in RUN[lang].splitlines():
            qid, _, docid, _, score, _ = line.split()
            top3.setdefault(qid, []).append((float(score), docid))
        oracle = {}
        for qid, docs in top3.items():
            kept = sorted(docs, reverse=True)[:3]                            # the first stage cut to depth 3
            ranked = sorted(kept, key=lambda d: -qrels[qid].get(d[1], 0))      # then sorted by grade
            oracle[qid] = {docid: float(len(ranked) - i) for i, (_, docid) in enumerate(ranked)}
        measured = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_3", "recall_3"}).evaluate(oracle)
        for qid, values in measured.items():
            if not any(g > 0 for g in qrels[qid].values()):
                continue
            rows = table[(table.lang == lang) & (table.qid == qid)].set_index("metric")["value"]
            assert rows["ndcg@3"] == pytest.approx(values["ndcg_cut_3"], abs=1e-9)
            assert rows["recall@3"] == pytest.approx(values["recall_3"], abs=1e-9)
    en1 = table[(table.lang == "en") & (table.qid == "1")].set_index("metric")["value"]
    assert en1["recall@3"] == 0.0                  # 10#0 ranked 4th by the first stage: out of reach at depth 3
    assert (result.out_dir / "report.md").read_text().count("## recall@3 per language") == 1
