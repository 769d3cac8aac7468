"""A run directory holds exactly one run: it is built in a hidden staging directory beside it and swapped in whole.

- `check_reuse` refuses to replace a run of another configuration (one line naming the keys that differ)
  unless `run.overwrite=true`; the same configuration may replace its own run.
- `Staging` redirects the job's log file into the staging directory, writes Hydra's `.hydra/` record there, and
  `publish` swaps it in (the old directory is renamed aside, then removed); a failed or interrupted run leaves
  the previous run directory as it was and removes its staging directory.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

import yaml

from evalkit.errors import EvalkitError

# settings that never change a run's numbers: a rerun differing only in these may replace the run directory
NOT_RESULTS = ("report.", "executor.", "benchmark.cache_dir", "reranker.cache", "run.overwrite", "run.name",
               "candidates.label")
log = logging.getLogger(__name__)


def _flat(tree, prefix: str = "") -> dict[str, str]:
    if not isinstance(tree, dict):
        return {prefix: json.dumps(tree, sort_keys=True)}
    return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}.{key}" if prefix else key).items()}


def result_settings(config: dict) -> dict[str, str]:
    return {k: v for k, v in _flat(config).items() if not k.startswith(NOT_RESULTS)}


def check_reuse(final: Path, config: dict, overwrite: bool) -> None:
    """Refuse to replace `final` when it holds a run whose configuration differs in a result-changing key."""
    previous = final / "config.yaml"
    if overwrite or not previous.is_file():
        return
    old, new = result_settings(yaml.safe_load(previous.read_text(encoding="utf-8")) or {}), result_settings(config)
    differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if differ:
        shown = ", ".join(f"{k}: {old.get(k, '∅')} -> {new.get(k, '∅')}" for k in differ[:3])
        more = f" and {len(differ) - 3} more" if len(differ) > 3 else ""
        raise EvalkitError(f"{final} holds a run of another configuration ({shown}{more}); set run.overwrite=true "
                           "to replace it, or run.name=<name> to keep both")


def _file_handlers(under: Path) -> list[logging.FileHandler]:
    return [h for h in logging.getLogger().handlers
            if isinstance(h, logging.FileHandler) and Path(h.baseFilename).parent == under]


def _retarget(handler: logging.FileHandler, path: Path, mode: str) -> None:
    handler.acquire()
    try:
        handler.close()
        handler.baseFilename, handler.mode = str(path), mode
        handler.stream = handler._open()
    finally:
        handler.release()


class Staging:
    """Build the run in `<parent>/.<name>.partial-<pid>`; `publish()` swaps it in for `final`."""

    def __init__(self, final: Path):
        self.final = Path(final)
        self.path = self.final.parent / f".{self.final.name}.partial-{os.getpid()}"
        existing = [p for p in self.final.iterdir() if not _is_empty_log(p)] if self.final.is_dir() else []
        self.fresh = not existing                    # Hydra made `final` just now (only an empty log inside)
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        self.handlers = _file_handlers(self.final)
        for h in self.handlers:
            _retarget(h, self.path / Path(h.baseFilename).name, "w")

    def write_hydra_record(self, cfg) -> None:
        """Hydra's own .hydra/ files (config, hydra, overrides), for this run only."""
        from hydra.core.hydra_config import HydraConfig
        from omegaconf import OmegaConf

        if not HydraConfig.initialized():
            return
        hydra_cfg = HydraConfig.get()
        record = self.path / ".hydra"
        record.mkdir(exist_ok=True)
        OmegaConf.save(cfg, record / "config.yaml")
        OmegaConf.save(OmegaConf.create({"hydra": OmegaConf.to_container(hydra_cfg)}), record / "hydra.yaml")
        OmegaConf.save(OmegaConf.create(list(hydra_cfg.overrides.task)), record / "overrides.yaml")

    def publish(self, attempts: int = 20) -> Path:
        old = self.final.parent / f".{self.final.name}.old-{os.getpid()}"
        for attempt in range(attempts):          # a concurrent identical run may swap in between: retry
            try:
                if self.final.exists():
                    os.rename(self.final, old)
                os.rename(self.path, self.final)
                break
            except FileNotFoundError:
                continue
            except OSError:                      # `final` reappeared (another run published): swap again
                time.sleep(0.05 * (attempt + 1))
        else:
            raise EvalkitError(f"could not publish {self.path} as {self.final}")
        for h in self.handlers:
            _retarget(h, self.final / Path(h.baseFilename).name, "a")
        shutil.rmtree(old, ignore_errors=True)
        return self.final

    def discard(self) -> None:
        """After a failure: the staging directory goes; `final` stays as it was (removed if Hydra just made it)."""
        for h in self.handlers:
            h.close()
        shutil.rmtree(self.path, ignore_errors=True)
        if self.fresh and self.final.is_dir() and all(_is_empty_log(p) for p in self.final.iterdir()):
            shutil.rmtree(self.final, ignore_errors=True)


def _is_empty_log(path: Path) -> bool:
    return path.suffix == ".log" and path.is_file() and path.stat().st_size == 0
