"""Hydra callback: after `evalkit --multirun ...`, one combined comparison report in the sweep directory.

A paper-table sweep (table.name set, experiment=mgte_table5) also gets table.md / table.html (report/paper_table.py).
Runs of different benchmarks or splits cannot share a table (their queries differ), so a sweep over
benchmarks gets one report per (benchmark, split): compare-<benchmark>-<split>.*; otherwise compare.*.
Runs whose protocols differ in what a metric means (candidates.depth, ...) are refused in one line (exit 2, the runs
kept) unless report.allow_protocol_mismatch=true, which banners every table and plot instead.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from evalkit.errors import EvalkitError

log = logging.getLogger(__name__)


def _is_shard(run: Path) -> bool:
    import yaml

    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) or {}
    return bool((config.get("run") or {}).get("shard"))


class CompareSweep(Callback):
    def __init__(self, baseline: Optional[str] = None, test: str = "randomization", n_resamples: int = 10_000):
        self.baseline, self.test, self.n_resamples = baseline, test, n_resamples

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from evalkit.report.sweep_failure import clear

        clear(Path(config.hydra.sweep.dir))     # a new attempt at this directory starts unmarked

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        from evalkit.report.paper_table import refresh_from_job

        refresh_from_job()                      # a paper table's page after every job (cli.py: failed ones too)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from evalkit.report.compare_cli import expand_run_dirs, write_manifest
        from evalkit.report.formats import write_outputs
        from evalkit.report.paper_table import is_table_sweep, write_page

        sweep_dir = Path(config.hydra.sweep.dir)
        if is_table_sweep(sweep_dir):           # a paper table (experiment=mgte_table5): table.md / table.html
            for path in write_page(sweep_dir):
                log.info("table page: %s", path)
        runs = expand_run_dirs([sweep_dir])
        if shards := [run for run in runs if _is_shard(run)]:   # parts of one run: `evalkit merge` joins them
            log.info("%s: %d shard run dirs (run.shard) left out of the comparison; join them with "
                     "`evalkit merge <their dirs> --out DIR`", sweep_dir, len(shards))
            runs = [run for run in runs if run not in shards]
        groups: dict[tuple[str, str], list[Path]] = {}
        for run in runs:
            protocol = json.loads((run / "metrics.json").read_text(encoding="utf-8"))["protocol"]
            groups.setdefault((str(protocol.get("benchmark")), str(protocol.get("split"))), []).append(run)
        formats = list(dict.fromkeys(["md", "html", *config.report.formats]))   # compare.md + compare.html always
        for (benchmark, split), dirs in groups.items():
            try:
                comparison = self._compare(config, sweep_dir, dirs)
            except EvalkitError as exc:   # Hydra turns a callback's exception into a warning: say it, exit 2
                sys.stderr.write(f"evalkit: error: sweep comparison: {exc}\n")
                raise SystemExit(2) from None
            stem = "compare" if len(groups) == 1 else f"compare-{benchmark}-{split}"
            title = f"evalkit sweep {sweep_dir.name}: {benchmark} {split}"
            for path in [*write_outputs(comparison, sweep_dir, formats, stem, title),
                         write_manifest(sweep_dir, comparison, dirs, stem)]:
                log.info("sweep report: %s", path)

    def _compare(self, config: DictConfig, sweep_dir: Path, dirs: list[Path]):
        from evalkit.report.compare_cli import compare_dirs

        return compare_dirs(dirs, self.baseline, test=self.test, seed=int(config.run.seed),
                            n_resamples=self.n_resamples,
                            allow_mismatch=bool(config.report.get("allow_protocol_mismatch", False)),
                            hint=f"the runs are kept; set report.allow_protocol_mismatch=true, or run "
                                 f"`evalkit compare {sweep_dir} --allow-protocol-mismatch`")
