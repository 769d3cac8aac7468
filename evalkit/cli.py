"""Command line: `evalkit [hydra overrides]` runs the pipeline; `evalkit <subcommand> ...` runs a tool.

Heavy modules (Hydra, pandas, torch) are imported only once a run or a tool needs them, so `--help` is instant.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from evalkit.commands import SUBCOMMANDS
from evalkit.errors import EvalkitError
from evalkit.registry import MissingDependency, did_you_mean

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")
HELP_FLAGS = ("-h", "--help")
log = logging.getLogger("evalkit")


def _fail(exc: Exception) -> None:
    sys.stderr.write(f"evalkit: error: {exc}\n")
    raise SystemExit(2) from exc      # the cause is what a failed sweep job's mark names


def _job(cfg) -> None:
    """A Hydra job; one of a --multirun sweep that fails marks the sweep unfinished (evalkit/report/sweep_failure.py)
    and says where in one more line."""
    from evalkit.report.sweep_failure import unmark

    try:
        _run(cfg)
        unmark()              # an earlier attempt of this job (requeued, rerun) may have marked the sweep
    except BaseException as exc:
        from evalkit.report.paper_table import refresh_from_job
        from evalkit.report.sweep_failure import mark

        marked = mark(exc)
        if marked:
            sys.stderr.write(f"evalkit: sweep job {marked[0]} failed: the sweep is marked unfinished in {marked[1]}\n")
            refresh_from_job()                  # a paper table's page names this cell's failure
        raise


def _run(cfg) -> None:
    """One pipeline run, built in a staging directory and swapped in whole; Ctrl-C / SIGTERM end it in one line."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from evalkit.app import interrupt
    from evalkit.app.rundir import Staging, check_reuse
    from evalkit.app.validate import check_config

    final = Path(HydraConfig.get().runtime.output_dir)
    try:
        check_config(cfg)   # also in --multirun jobs, which skip the preflight
        check_reuse(final, OmegaConf.to_container(cfg, resolve=True), bool(cfg.run.overwrite))
    except EvalkitError as exc:
        _fail(exc)
    staging = Staging(final)
    with interrupt.stop_on_signals():
        try:
            from evalkit.pipeline import run

            staging.write_hydra_record(cfg)
            run(cfg, staging.path)
            staging.publish()
        except (EvalkitError, FileNotFoundError) as exc:   # bad input, missing model or data: one line, exit 2
            staging.discard()
            _fail(exc)
        except OSError as exc:                              # disk full, size limit, read-only: one line, exit 2
            from evalkit.storage.atomic import is_write_failure

            staging.discard()
            if not is_write_failure(exc):
                raise
            _fail(EvalkitError(f"could not write: {exc}"))
        except KeyboardInterrupt as exc:                     # SIGINT or SIGTERM (interrupt.Interrupted)
            staging.discard()
            interrupt.report(exc)
            raise SystemExit(interrupt.exit_code(exc)) from None
        except BaseException:
            staging.discard()
            raise
    log.info("report: %s", final / "report.md")


def main() -> None:
    import hydra

    from evalkit.app.slurm_jobs import failed_jobs

    with failed_jobs(sys.argv[1:]):   # a SLURM job that failed: one line naming it and its log
        hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")(_job)()


def check_group_options(overrides: list[str]) -> None:
    """`group=option` must name a file under configs/<group>/; list the options when it does not."""
    from evalkit.app.help import groups

    known = groups(Path(CONFIG_DIR))
    for override in overrides:
        key, eq, value = override.lstrip("+~").partition("=")
        if not eq or key not in known or key.startswith("hydra/") or value in ("null", ""):
            continue
        for option in value.split(","):   # --multirun sweeps: a,b,c
            if option not in known[key]:
                hint = did_you_mean(option, known[key])
                _fail(EvalkitError(f"{key}={option!r} is not an option of group '{key}'"
                                   + (f" ({hint})" if hint else "") + f": choose one of {', '.join(known[key])}"))


def _short(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def preflight(overrides: list[str]) -> None:
    """Compose and validate the config before Hydra runs: a bad key or value is one line naming it, exit 2."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from omegaconf import OmegaConf, open_dict

    from evalkit.app.schema import register
    from evalkit.config import check_targets
    from evalkit.app.validate import check_config, known_keys_hint

    register()
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, OmegaConfBaseException) else exc
        key, value = getattr(cause, "full_key", None), getattr(cause, "value", None)
        where = f" (key: {key}" + (f", value: {value!r}" if value is not None else "") + ")" if key else \
            (f" (override: {exc.override})" if getattr(exc, "override", None) else "")
        _fail(EvalkitError(f"bad configuration: {_short(cause)}{where}{known_keys_hint(key)}"))
    try:
        tree = OmegaConf.to_container(cfg, resolve=False)
        hydra_node = tree.pop("hydra", {})
        check_targets(tree)                                   # _target_: evalkit's own classes only, and
        check_targets(hydra_node, "hydra")                    # Hydra's own plugins (launchers, sweepers, callbacks)
        with open_dict(cfg):
            del cfg["hydra"]
        check_config(cfg)
    except OmegaConfBaseException as exc:                    # e.g. an interpolation to a missing key, met on use
        key = getattr(exc, "full_key", None)
        _fail(EvalkitError(f"bad configuration: {_short(exc)}" + (f" (key: {key})" if key else "")))
    except MissingDependency as exc:                         # the config is fine; the machine lacks a package
        _fail(exc)
    except (EvalkitError, ValueError) as exc:
        _fail(EvalkitError(f"bad configuration: {exc}"))


def entry() -> None:
    args = sys.argv[1:]
    if args and args[0] in SUBCOMMANDS:
        import importlib

        if any(a in HELP_FLAGS for a in args[1:]):   # answered by the light parser, before the heavy module loads
            from evalkit.commands import parser

            parser(args[0]).parse_args(args[1:])

        module, function = SUBCOMMANDS[args[0]].target.split(":")
        raise SystemExit(getattr(importlib.import_module(module), function)(args[1:]))
    if any(a in HELP_FLAGS for a in args):
        from evalkit.app.help import help_text

        sys.stdout.write(help_text(Path(CONFIG_DIR), SUBCOMMANDS))
        raise SystemExit(0)
    if not Path(CONFIG_DIR).is_dir():
        _fail(EvalkitError(f"config directory {CONFIG_DIR} not found: install evalkit from its repository (pip install -e .)"))
    check_group_options([a for a in args if not a.startswith("-")])
    from evalkit.app.validate import check_launcher

    try:
        check_launcher(args)
    except EvalkitError as exc:
        _fail(exc)
    from evalkit.app.schema import register

    register()
    if not any(a.startswith("-") for a in args):   # a single run: compose and check it before Hydra starts
        preflight(args)
    main()
