"""The subcommands' argument parsers, kept apart from their (heavy) modules so that `--help` answers at once.

Each module's `main(argv)` parses with `parser(name)`; a description is its module's docstring, read from the
source file without importing the module.
"""
from __future__ import annotations

import argparse
import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


def measure_name(value: str) -> str:
    """A measure as evalkit or ir_measures names it (nDCG@10, P(rel=2)@10), in its canonical form."""
    from evalkit.errors import EvalkitError
    from evalkit.metrics.measures import canonical

    try:
        return canonical(value)
    except EvalkitError as error:
        raise argparse.ArgumentTypeError(str(error).split(": ", 1)[1]) from None


def module_doc(name: str, first_line: bool = False) -> str:
    """A subcommand module's docstring, parsed from its source (no import)."""
    module = SUBCOMMANDS[name].target.split(":")[0]   # located by path: find_spec would import the parent packages
    origin = Path(__file__).resolve().parents[1].joinpath(*module.split(".")).with_suffix(".py")
    doc = ast.get_docstring(ast.parse(origin.read_text(encoding="utf-8"))) or ""
    return doc.splitlines()[0] if first_line and doc else doc


def _compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dirs", nargs="+", help="run directories or multirun sweep directories")
    p.add_argument("--baseline", help="system the others are tested against (default: first run without reranker)")
    p.add_argument("--metric", action="append", help="metric(s) to compare, repeatable or comma-separated "
                                                     "(default: every common measure)")
    p.add_argument("--out", help="output directory (default: the sweep directory when one sweep is given, "
                                 "else results/compare/<run names>)")
    p.add_argument("--formats", default="md", help="comma-separated report formats (md, html, ...; `evalkit --help` lists them all)")
    p.add_argument("--test", choices=["randomization", "t"], default="randomization")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resamples", type=int, default=10_000, help="bootstrap / randomization resamples")
    p.add_argument("--equivalence", type=float, metavar="POINTS", help="also test equivalence within +-POINTS "
                   "(x100, as the reports: 1 = one nDCG point; TOST per language and per bucket, Holm) and score "
                   "agreement: equivalence.md / .json")
    p.add_argument("--equivalence-metric", default="ndcg@10", type=measure_name,
                   help="per-query metric of the equivalence test (default: %(default)s)")
    p.add_argument("--allow-protocol-mismatch", action="store_true",
                   help="compare runs whose protocols differ in what a metric means (e.g. candidates.depth) "
                        "instead of refusing; a banner on every table and plot names the fields")


def _table(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep_dir", type=Path, help="the sweep directory of `evalkit --multirun experiment=<table>`")
    p.add_argument("--out", type=Path, help="output directory (default: the sweep directory)")


def _regress(p: argparse.ArgumentParser) -> None:
    p.epilog = ("Metric values, thresholds and margins are x100, as in every report: --tolerance 1.0 is one point\n"
                "(nDCG@10 60.1 -> 59.1). Run scores (--max-score-change) are the reranker's own.")
    p.add_argument("--baseline", required=True, help="baseline name (results/baselines/<name>) or a directory")
    p.add_argument("--current", required=True, type=Path, help="run directory to gate")
    p.add_argument("--root", type=Path, default=Path("results") / "baselines",
                   help="baselines directory (default: %(default)s)")
    p.add_argument("--tolerance", type=float, default=1.0, metavar="POINTS",
                   help="drop (x100) that may count as a regression when significant (default: %(default)s)")
    p.add_argument("--hard-limit", type=float, default=5.0, metavar="POINTS",
                   help="drop (x100) that fails without any test (default: %(default)s)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="significance level, Holm-corrected over languages (default: %(default)s)")
    p.add_argument("--test", choices=["randomization", "t"], default="randomization",
                   help="paired test on per-query values (default: %(default)s)")
    p.add_argument("--n-resamples", type=int, default=10_000, help="randomization resamples (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the test and the bootstrap (default: %(default)s)")
    p.add_argument("--allow-protocol-change", action="append", default=[], metavar="FIELD",
                   help="compare although this protocol field differs (repeatable)")
    p.add_argument("--max-query-change", type=float, metavar="POINTS",
                   help="fail if any per-query metric value (x100) moves by more")
    p.add_argument("--max-score-change", type=float, metavar="SCORE",
                   help="fail if any run score moves by more (raw scores; needs run files)")
    p.add_argument("--equivalence", type=float, metavar="POINTS", help="fail unless the current run is equivalent "
                   "to the baseline within +-POINTS (x100; TOST per language, Holm; per length bucket reported)")
    p.add_argument("--equivalence-metric", default="ndcg@10", type=measure_name,
                   help="per-query metric of the equivalence test (default: %(default)s)")
    p.add_argument("--summary", type=Path, help="append the Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")
    p.add_argument("--junit", type=Path, help="write JUnit XML here")
    p.add_argument("--update", action="store_true", help="bless --current as baseline --baseline instead of gating")
    p.add_argument("--message", default="", help="with --update: why this baseline is blessed")
    p.add_argument("--with-runs", action="store_true", help="with --update: keep the final system's run files")


def _subset(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="cut a subset from a full run directory")
    create.add_argument("--run", required=True, type=Path, help="a full run directory (results/<benchmark>/<run>)")
    create.add_argument("--name", required=True)
    create.add_argument("--per-language", required=True, type=int)
    create.add_argument("--seed", type=int, default=0)
    create.add_argument("--root", type=Path, default=Path("results") / "subsets",
                        help="where subsets live (default results/subsets)")


def _merge(p: argparse.ArgumentParser) -> None:
    p.add_argument("shards", nargs="+", type=Path, metavar="SHARD_DIR")
    p.add_argument("--out", required=True, type=Path, metavar="DIR")


def _explore(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dirs", nargs="+", type=Path, help="run directories; the first one's first stage is the baseline")
    p.add_argument("--out", type=Path, help="output file (default: RUN_DIR/explore.html of the first run)")
    p.add_argument("--title", help="page title")


def _probe(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", required=True, help="the endpoint's API format (a reranker.api.format choice)")
    p.add_argument("--base-url", required=True)
    p.add_argument("--model", help="the provider's model name")
    p.add_argument("--route", help="vllm: rerank | score")
    p.add_argument("--key-env", help="NAME of the environment variable holding the API key")
    p.add_argument("--normalized", action="store_true", help="do not ask for raw scores")
    p.add_argument("--truncate-tokens", type=int, help="cohere max_tokens_per_doc / vllm truncate_prompt_tokens")
    p.add_argument("--tokenizer", help="counts document tokens (default: --local-model's, else the bundled XLM-R)")
    p.add_argument("--local-model", help="also probe this local checkpoint (reranker=hf) for comparison")
    p.add_argument("--local-max-length", type=int, help="the local model's max_length (default: its own limit)")
    p.add_argument("--max-offset", type=int, default=2048)
    p.add_argument("--step", type=int, default=32)
    p.add_argument("--tol", type=float, default=1e-4, help="scores closer than this to the control count as equal")
    p.add_argument("--out", default="probe", help="output directory (probe.json)")


@dataclass(frozen=True)
class Subcommand:
    target: str                                        # "module:function" taking argv, returning an exit code
    arguments: Callable[[argparse.ArgumentParser], None]


SUBCOMMANDS: dict[str, Subcommand] = {                 # the one list of subcommands: --help, dispatch, parsers
    "compare": Subcommand("evalkit.report.compare_cli:main", _compare),
    "table": Subcommand("evalkit.report.paper_table:main", _table),
    "regress": Subcommand("evalkit.gate.regress:main", _regress),
    "subset": Subcommand("evalkit.gate.subset:main", _subset),
    "merge": Subcommand("evalkit.executors.merge:main", _merge),
    "explore": Subcommand("evalkit.report.explore:main", _explore),
    "probe": Subcommand("evalkit.rerank.api.probe:main", _probe),
}


def parser(name: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"evalkit {name}", description=module_doc(name),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    SUBCOMMANDS[name].arguments(p)
    return p
