"""Command line: `evalkit [hydra overrides]` runs the pipeline; `evalkit <subcommand> ...` runs a tool."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from evalkit.config import register
from evalkit.errors import EvalkitError

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")
SUBCOMMANDS: dict[str, str] = {   # name -> "module:function" taking argv, returning an exit code
    "compare": "evalkit.report.compare:main",
    "regress": "evalkit.gate.regress:main",
    "subset": "evalkit.gate.subset:main",
    "merge": "evalkit.executors.merge:main",
}
log = logging.getLogger("evalkit")


def _fail(exc: Exception) -> None:
    sys.stderr.write(f"evalkit: error: {exc}\n")
    raise SystemExit(2)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    from evalkit.pipeline import run

    try:
        result = run(cfg, Path(HydraConfig.get().runtime.output_dir))
    except (EvalkitError, FileNotFoundError) as exc:   # bad input, missing model or data: one line, exit 2
        _fail(exc)
    log.info("report: %s", result.out_dir / "report.md")


def preflight(overrides: list[str]) -> None:
    """Compose the config once before Hydra runs, to turn a bad key or value into one line naming it."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, OmegaConfBaseException) else exc
        key = getattr(cause, "full_key", None)
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else cause.__class__.__name__
        _fail(EvalkitError(f"bad configuration: {first}" + (f" (key: {key})" if key else "")))


def entry() -> None:
    register()
    if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS:
        import importlib

        module, function = SUBCOMMANDS[sys.argv[1]].split(":")
        raise SystemExit(getattr(importlib.import_module(module), function)(sys.argv[2:]))
    if not Path(CONFIG_DIR).is_dir():
        _fail(EvalkitError(f"config directory {CONFIG_DIR} not found: install evalkit from its repository (pip install -e .)"))
    args = sys.argv[1:]
    if not any(a.startswith("-") or a.startswith("hydra") for a in args):
        preflight(args)
    main()
