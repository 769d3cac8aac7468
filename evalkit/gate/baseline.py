"""Results to gate on: a run directory, or a blessed baseline under results/baselines/<name>/.

A baseline is plain files, so `git log -p results/baselines/<name>` shows how it moved and why:
`per_query.csv` (the run's tidy per-query table), `metrics.json` (its aggregates), `baseline.json` (who blessed
it, when, why, from which run and config hash, plus the run's protocol and an environment subset) and, with
`--with-runs`, `runs/<system>.<lang>.trec` (the final system's scores, for exact score diffs).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.storage.artefact import publish_dir, require_artefact

ROOT = Path("results") / "baselines"
KIND, VERSION = "baseline", 1
ENVIRONMENT_KEYS = ("evalkit_git", "versions", "platform", "config_hash", "reranker", "data")
COLUMNS = ["system", "lang", "qid", "bucket", "metric", "value"]


@dataclass
class Results:
    path: Path
    table: pd.DataFrame                 # tidy per-query table, every system
    protocol: dict
    metrics: dict
    blessed: dict                       # baseline.json's blessing (empty for a run directory)
    environment: dict

    @property
    def final_system(self) -> str:
        """What a run delivers: the reranked system if there is one, else the first stage."""
        return "reranked" if (self.table["system"] == "reranked").any() else "first_stage"

    def runs_dir(self) -> Path | None:
        runs = self.path / "runs"
        return runs if any(runs.glob(f"{self.final_system}.*.trec")) else None


def _json(path: Path) -> dict:
    if not path.is_file():
        raise EvalkitError(f"{path}: file not found")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvalkitError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise EvalkitError(f"{path}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(value, dict):
        raise EvalkitError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def _per_query_csv(path: Path) -> pd.DataFrame:
    """A baseline's per_query.csv: exactly COLUMNS, every value a finite number (else file:line)."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise EvalkitError(f"{path}: not a per-query table ({str(exc).strip().splitlines()[0][:200]})") from None
    if list(table.columns) != COLUMNS:
        raise EvalkitError(f"{path}: columns {list(table.columns)}, expected {COLUMNS}")
    values = pd.to_numeric(table["value"], errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise EvalkitError(f"{path}:{row + 2}: value {table['value'].iloc[row]!r} is not a finite number")
    return table.assign(value=values.astype(float))


def resolve(spec: str | Path, root: Path = ROOT) -> Path:
    """A directory path as given, else a baseline name under `root`."""
    path = Path(spec)
    return path if path.is_dir() else root / str(spec)


def load_results(spec: str | Path, root: Path = ROOT) -> Results:
    path = resolve(spec, root)
    if (path / "baseline.json").is_file():
        require_artefact(path, KIND, VERSION)        # MANIFEST.json: sizes and sha256 of every file
        info = _json(path / "baseline.json")
        if not (path / "per_query.csv").is_file():
            raise EvalkitError(f"{path / 'per_query.csv'}: file not found")
        table = _per_query_csv(path / "per_query.csv")
        return Results(path, table, info.get("protocol", {}), _json(path / "metrics.json"), info.get("blessed", {}),
                       info.get("environment", {}))
    if (path / "per_query.parquet").is_file():
        manifest = _json(path / "manifest.json")
        if "protocol" not in manifest:
            raise EvalkitError(f"{path / 'manifest.json'}: no 'protocol' section (written by an older evalkit?)")
        table = pd.read_parquet(path / "per_query.parquet")
        table = table.astype({"lang": str, "qid": str, "metric": str, "system": str})
        return Results(path, table, manifest["protocol"], _json(path / "metrics.json"), {},
                       manifest.get("environment", {}))
    raise EvalkitError(f"{path}: neither a run directory (per_query.parquet, manifest.json) "
                       f"nor a baseline (baseline.json, per_query.csv)")


def bless(current: str | Path, name: str, message: str, root: Path = ROOT, with_runs: bool = False) -> Path:
    """Write (or replace) baseline `name` from run directory `current`; the old one stays in git history."""
    if not message.strip():
        raise EvalkitError("--update needs --message saying why this baseline is blessed")
    run = load_results(current, root)
    if run.blessed:
        raise EvalkitError(f"--current {current}: is a baseline, not a run directory")
    table = run.table[COLUMNS].sort_values(["system", "lang", "metric", "qid"], kind="stable")

    def build(out: Path) -> dict:            # a temporary directory, renamed over the old baseline when complete
        table.to_csv(out / "per_query.csv", index=False, lineterminator="\n")
        shutil.copyfile(run.path / "metrics.json", out / "metrics.json")
        if with_runs:
            (out / "runs").mkdir()
            for file in sorted((run.path / "runs").glob(f"{run.final_system}.*.trec")):
                shutil.copyfile(file, out / "runs" / file.name)
        (out / "baseline.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return {"counts": {"rows": len(table)}}

    env = run.environment
    info = {
        "blessed": {"name": name, "message": message.strip(),
                    "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "source_run": str(run.path), "config_hash": env.get("config_hash"),
                    "git": env.get("evalkit_git"), "final_system": run.final_system},
        "protocol": run.protocol,
        "environment": {k: env[k] for k in ENVIRONMENT_KEYS if k in env},
    }
    return publish_dir(root / name, KIND, VERSION, build, replace=True).path
