"""The one parser of measure names: evalkit's (`ndcg@10`, `precision(rel=2)@10`, `condensed_ndcg@10`) and
ir_measures' (`nDCG@10`, `R@100`, `P(rel=2)@10`, `RR`, `AP@100`, `Success@10`, `Judged@10`).

Every name becomes a `Measure`; its `name` is the canonical (lowercase) one that tables, baselines and reports
store and show. Semantics follow ir_measures / trec_eval:
- `rel=N`: a document counts as relevant when its grade is >= N (default 1); nDCG's gains are the grades;
- `judged@k`: the share of the top k carrying any judgment, grade 0 included, over min(k, documents ranked);
- `condensed_<measure>` (Sakai 2007): unjudged documents are removed from the ranking before cutting at k.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from evalkit.errors import EvalkitError

# canonical families; ir_measures' names (and aliases) map onto them
FAMILIES = ("ndcg", "recall", "precision", "mrr", "map", "hit_rate", "judged", "answer_recall", "dcg", "hits", "f1",
            "ndcg_burges", "dcg_burges", "r-precision")
# canonical family -> ir_measures' name (answer_recall@k is Success@k over the answer qrels); read both ways
IR_MEASURES = {"ndcg": "nDCG", "recall": "R", "precision": "P", "mrr": "RR", "map": "AP", "hit_rate": "Success",
               "judged": "Judged", "r-precision": "Rprec"}
ALIASES = {name.lower(): family for family, name in IR_MEASURES.items()}   # a family's own name stands for itself
# families whose relevance threshold and condensed variant evalkit computes itself (evaluate.py, numpy)
THRESHOLDED = ("recall", "precision", "mrr", "map", "hit_rate", "hits", "answer_recall")
NATIVE = THRESHOLDED + ("ndcg", "dcg", "judged")
NEEDS_CUTOFF = ("precision", "judged", "hit_rate", "hits", "answer_recall")
CONDENSED = "condensed_"
# the headline measure beside its condensed twin and the share judged: a reader sees whether a difference is
# about relevance or about judgment holes (configs/metrics/default.yaml repeats this list)
DEFAULT_MEASURES = ("ndcg@10", "condensed_ndcg@10", "mrr@10", "recall@100", "judged@10")
_NAME = re.compile(r"(?P<condensed>condensed[_ ])?(?P<family>[A-Za-z][A-Za-z0-9_-]*?)(?:\(rel=(?P<rel>\d+)\))?(?:@(?P<k>\d+))?")
ACCEPTED = ("ndcg@k, recall@k, precision@k, mrr[@k], map[@k], hit_rate@k, judged@k, answer_recall@k (also "
            "dcg, hits, f1, ndcg_burges, dcg_burges, r-precision) or ir_measures' nDCG@k, R@k, P@k, RR[@k], "
            "AP[@k], Success@k, Judged@k; (rel=N) on R/P/RR/AP/Success; prefix condensed_ for a condensed list")


@dataclass(frozen=True)
class Measure:
    family: str            # canonical family: ndcg, recall, precision, mrr, map, hit_rate, judged, ...
    k: int | None = None   # cut-off; None: the whole ranking
    rel: int = 1           # minimum grade that counts as relevant
    condensed: bool = False

    @property
    def name(self) -> str:
        rel = f"(rel={self.rel})" if self.rel != 1 else ""
        cut = f"@{self.k}" if self.k is not None else ""
        return f"{CONDENSED if self.condensed else ''}{self.family}{rel}{cut}"

    @property
    def native(self) -> bool:
        """Computed by evalkit's numpy code (else by ranx, which sees positive grades only)."""
        return self.family in NATIVE and (self.k is not None or self.family not in NEEDS_CUTOFF)



def parse(name: str) -> Measure:
    """Any accepted name -> Measure; anything else is one EvalkitError line listing what is accepted."""
    m = _NAME.fullmatch(str(name).strip())
    family = ALIASES.get(m.group("family").lower(), m.group("family").lower()) if m else None
    if family not in FAMILIES:
        raise EvalkitError(f"metrics.measures: unknown measure {name!r}; accepted: {ACCEPTED}")
    k = int(m.group("k")) if m.group("k") else None
    rel = int(m.group("rel")) if m.group("rel") else 1
    if k is not None and k < 1:
        raise EvalkitError(f"metrics.measures: {name!r}: the cut-off k must be >= 1")
    if (rel != 1 and family not in THRESHOLDED) or rel < 1:
        raise EvalkitError(f"metrics.measures: {name!r}: (rel=N >= 1) applies to {', '.join(THRESHOLDED)}")
    if k is None and family in NEEDS_CUTOFF:
        raise EvalkitError(f"metrics.measures: {name!r} needs a cut-off, e.g. {name}@10")
    measure = Measure(family, k, rel, bool(m.group("condensed")))
    if measure.condensed and (family not in NATIVE or family == "judged"):
        raise EvalkitError(f"metrics.measures: {name!r}: condensed_ applies to "
                           f"{', '.join(f for f in NATIVE if f != 'judged')}")
    return measure


def canonical(name: str) -> str:
    return parse(name).name


def check(name: str) -> str | None:
    """The config rule (evalkit/checks.py): None when `name` parses, else what is accepted."""
    try:
        parse(name)
    except EvalkitError as error:
        return str(error).split(": ", 1)[1]
    return None
