"""Published numbers (results/published/*.yaml) and the rows a run reproduces.

A preset names a default table (`report.published`) and maps each of its systems to published rows
(`report.reproduces`): key `<benchmark>/<candidates>` for a first stage, `<benchmark>/<candidates>/<reranker>`
for a reranked system; value a list of refs, `row` (in the default table) or `table:row`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from evalkit.errors import EvalkitError

PUBLISHED_DIR = Path(__file__).resolve().parents[2] / "results" / "published"


@dataclass(frozen=True)
class PublishedRow:
    ref: str                          # table:row
    status: str                       # primary | secondary
    source: str
    languages: list[str]              # the languages the row's `avg` is over
    scores: dict[str, float]          # lang | avg -> value x 100


def load_tables(root: Path = PUBLISHED_DIR) -> dict[str, dict]:
    """Every table of every results/published/*.yaml, by key; a key defined twice is an error."""
    tables: dict[str, dict] = {}
    for path in sorted(Path(root).glob("*.yaml")):
        for key, table in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if key in tables:
                raise EvalkitError(f"{path}: published table {key!r} is also defined in {tables[key]['_file']}")
            for field in ("source", "status", "rows"):
                if field not in table:
                    raise EvalkitError(f"{path}: published table {key!r} lacks {field!r}")
            tables[key] = {**table, "_file": str(path)}
    return tables


def system_key(choices: dict, reranked: bool) -> str:
    """`<benchmark>/<candidates>[/<reranker>]` from the run's config-group choices (hydra.runtime.choices):
    candidates=dense_gte and dense_bge_m3 both have candidates.name "dense", so the names would not do."""
    key = f"{choices.get('benchmark')}/{choices.get('candidates')}"
    return f"{key}/{choices.get('reranker')}" if reranked else key


def choices_of(cfg: dict, hydra_choices: dict | None) -> dict:
    """Config-group choices of a run: Hydra's own record, else the names inside the config."""
    if hydra_choices:
        return {k: hydra_choices.get(k) for k in ("benchmark", "candidates", "reranker")}
    return {k: (cfg.get(k) or {}).get("name") for k in ("benchmark", "candidates", "reranker")}


def rows_for(key: str, benchmark: str, metric: str, default_table: str | None, reproduces: dict,
             tables: dict[str, dict]) -> list[PublishedRow]:
    """The published rows `key` reproduces for `metric` on `benchmark` (rows without that metric are skipped)."""
    out = []
    for ref in reproduces.get(key, []):
        table_key, _, row_key = ref.rpartition(":")
        table_key = table_key or default_table
        if table_key not in tables:
            raise EvalkitError(f"report.reproduces[{key}]: published table {table_key!r} not in {PUBLISHED_DIR} "
                               f"(known: {sorted(tables)})")
        table = tables[table_key]
        if row_key not in table["rows"]:
            raise EvalkitError(f"report.reproduces[{key}]: {table['_file']}: table {table_key!r} has no row "
                               f"{row_key!r} (rows: {sorted(table['rows'])})")
        scores = (table["rows"][row_key].get(benchmark) or {}).get(metric)
        if not scores:
            continue
        if any(not isinstance(lang, str) for lang in scores):
            raise EvalkitError(f"{table['_file']}: {table_key}.{row_key}.{benchmark}.{metric} has a non-string "
                               "language key (quote 'no': YAML reads it as false)")
        languages = [str(x) for x in (table.get("languages") or {}).get(benchmark, [])]
        out.append(PublishedRow(f"{table_key}:{row_key}", table["status"], table["source"], languages,
                                {lang: float(v) for lang, v in scores.items()}))
    return out
