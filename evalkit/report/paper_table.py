"""A paper table as a two-click reproduction page (in the style of Pyserini's 2CR pages): table.md / table.html in
the sweep directory of `evalkit --multirun experiment=mgte_table5` (or mgte_table4), rebuilt by `evalkit table`.

The cells are the preset's own rows x columns (`table.rows`, `table.columns` in the sweep's multirun.yaml), not the
jobs that ran: Hydra's basic launcher stops at the first job that fails with evalkit's one-line error, so later cells
show "not run", a failed cell its reason (FAILED.txt, evalkit/report/sweep_failure.py), each with the command that
runs it. A run cell reads its run's metrics.json (systems.<table.system>.by_language) and is OK when
|evalkit - published| <= table.tolerance (x100): published averages are rounded to 0.1, so 0.05 is exactly the
rounding: OK means evalkit's number rounds to the published one.
"""
from __future__ import annotations

import json
import logging
import re
import shlex
import sys
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Optional

import yaml

from evalkit.data.hub import is_local
from evalkit.errors import EvalkitError
from evalkit.report.published import load_tables
from evalkit.storage.atomic import atomic_write_text

log = logging.getLogger(__name__)
EPSILON = 1e-9          # float noise at the tolerance's edge


@dataclass(frozen=True)
class Cell:
    column: str
    row: str
    state: str                       # OK | FAIL | no published value | failed | not run
    command: str
    value: Optional[float] = None    # x100
    published: Optional[float] = None
    reason: str = ""
    by_language: dict[str, float] = field(default_factory=dict)   # x100, without avg
    protocol: str = ""               # what the run recorded: candidates, depth, max length

    @property
    def delta(self) -> Optional[float]:
        return None if self.value is None or self.published is None else self.value - self.published


@dataclass(frozen=True)
class Page:
    spec: dict                       # the sweep's `table` section
    cells: dict[tuple[str, str], Cell]
    sweep_dir: Path
    stand_in: bool
    published_status: str
    published_source: str


def cell_name(column: str, row: str) -> str:
    return f"{column}-{row}"


def _sweep_config(sweep_dir: Path) -> dict:
    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        raise EvalkitError(f"{path}: not found: give the directory of an `evalkit --multirun experiment=<table>` sweep")
    cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not (cfg.get("table") or {}).get("name"):
        raise EvalkitError(f"{path}: this sweep is not a paper table (no table.name; e.g. experiment=mgte_table5)")
    return cfg


def commands(cfg: dict) -> tuple[list[str], list[str]]:
    """(the sweep's own overrides minus any cell choice, the cells its sweeper runs)."""
    name = cfg["table"]["name"]
    group = f"+experiment/{name}"
    task = [o for o in ((cfg.get("hydra") or {}).get("overrides") or {}).get("task") or []
            if not o.startswith(f"{group}=")]
    swept = str(((cfg.get("hydra") or {}).get("sweeper") or {}).get("params", {}).get(group) or "")
    return task, [c.strip() for c in swept.split(",") if c.strip()]


def cell_command(task: list[str], name: str, cell: str) -> str:
    """A command a user can paste: the sweep's overrides with this cell chosen."""
    return "evalkit " + " ".join(shlex.quote(o) for o in [*task, f"+experiment/{name}={cell}"])


def _runs(sweep_dir: Path) -> dict[str, Path]:
    """cell -> its finished run directory (a job dir holding metrics.json and its .hydra record)."""
    out = {}
    for d in sorted(p for p in sweep_dir.iterdir() if p.is_dir()):
        record = d / ".hydra" / "config.yaml"
        if (d / "metrics.json").is_file() and record.is_file():
            cell = ((yaml.safe_load(record.read_text(encoding="utf-8")) or {}).get("table") or {}).get("cell")
            if cell:
                out[str(cell)] = d
    return out


def _failures(sweep_dir: Path, name: str) -> dict[str, str]:
    """cell -> the one-line reason of its failed job (FAILED.txt lines: `job N (overrides): reason; its directory`)."""
    path = sweep_dir / "FAILED.txt"
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        m = re.match(r"job \d+ \((.*?)\): (.*); its directory: ", line)
        cell = m and re.search(rf"\+experiment/{re.escape(name)}=(\S+)", m.group(1))
        if cell:
            out[cell.group(1)] = m.group(2)
    return out


def collect(sweep_dir: Path) -> Page:
    sweep_dir = Path(sweep_dir)
    cfg = _sweep_config(sweep_dir)
    spec = cfg["table"]
    tables = load_tables()
    if spec.get("published") not in tables:
        raise EvalkitError(f"table.published={spec.get('published')!r}: not a table of results/published/*.yaml")
    published = tables[spec["published"]]
    task, swept = commands(cfg)
    runs, failures = _runs(sweep_dir), _failures(sweep_dir, spec["name"])
    cells = {}
    for column, col in spec["columns"].items():
        for row, info in spec["rows"].items():
            cell = cell_name(column, row)
            command = cell_command(task, spec["name"], cell)
            scores = ((published["rows"].get(info["published"]) or {}).get(col["benchmark"]) or {}).get(col["metric"])
            pub = float(scores["avg"]) if scores and "avg" in scores else None
            if cell in runs:
                cells[column, row] = _run_cell(column, row, command, runs[cell], spec, col["metric"], pub)
            elif cell in failures:
                cells[column, row] = Cell(column, row, "failed", command, published=pub, reason=failures[cell])
            else:
                why = "" if cell in swept else "not in this preset's sweep (hydra.sweeper.params): its first stage " \
                                               "or data is not in this evalkit yet"
                cells[column, row] = Cell(column, row, "not run", command, published=pub, reason=why)
    stand_in = bool(spec.get("stand_in")) or any(is_local(str(v)) for v in (spec.get("sources") or {}).values() if v)
    return Page(spec, cells, sweep_dir, stand_in, str(published["status"]), str(published["source"]))


def _run_cell(column: str, row: str, command: str, run: Path, spec: dict, metric: str,
              published: Optional[float]) -> Cell:
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    system = (metrics.get("systems") or {}).get(spec.get("system", "reranked")) or {}
    values = (system.get("by_language") or {}).get(metric)
    if not values or "avg" not in values:
        return Cell(column, row, "failed", command, published=published,
                    reason=f"{run / 'metrics.json'}: no {metric} for system {spec.get('system')!r}")
    p = metrics.get("protocol") or {}
    protocol = f"{p.get('candidates')} top {p.get('depth')}" + (
        f", reranker {p.get('reranker')} max length {p.get('max_length')}" if p.get("reranker") not in (None, "none")
        else "")
    value = 100 * float(values["avg"])
    state = "no published value" if published is None else \
        "OK" if abs(value - published) <= float(spec.get("tolerance", 0.05)) + EPSILON else "FAIL"
    return Cell(column, row, state, command, value, published,
                by_language={k: 100 * float(v) for k, v in values.items() if k != "avg"}, protocol=protocol)


def _num(x: Optional[float], sign: bool = False) -> str:
    return "—" if x is None else (f"{x:+.2f}" if sign else f"{x:.2f}")


def _summary(cell: Cell) -> str:
    if cell.value is not None:
        return f"{_num(cell.value)} / {_num(cell.published)} ({_num(cell.delta, True)}) {cell.state}"
    return f"{cell.state} (published {_num(cell.published)})"


def _banner(page: Page) -> list[str]:
    out = [f"Published numbers: {page.published_source}; status: {page.published_status}"
           + (" (transcribed from secondary sources: confirm the decimals against the paper)"
              if page.published_status == "secondary" else "") + "."]
    if page.stand_in:
        out.insert(0, "STAND-IN DATA: these cells ran on sample-sized stand-ins in the benchmarks' layouts "
                      "(table.sources / table.stand_in), not on the paper's benchmarks: the numbers are computed, "
                      "but they are not comparable with the published ones.")
    tol = float(page.spec.get("tolerance", 0.05))
    out.append(f"Cell: evalkit / published (evalkit − published) verdict, x100. OK when |evalkit − published| <= "
               f"{tol:g} (table.tolerance). Published averages are rounded to 0.1: "
               + ("0.05 is that rounding, so OK means evalkit's average rounds to the published value." if tol == 0.05
                  else f"{tol:g} also admits differences beyond that rounding."))
    return out


def render_markdown(page: Page) -> str:
    spec, cols = page.spec, list(page.spec["columns"])
    lines = [f"# {spec.get('title') or spec['name']}", ""]
    for i, b in enumerate(_banner(page)):
        lines += [f"> {b}" if i == 0 and page.stand_in else b, ""]
    lines += ["| system | " + " | ".join(spec["columns"][c]["label"] for c in cols) + " |",
              "|---|" + "---|" * len(cols)]
    for row, info in spec["rows"].items():
        lines.append(f"| {info['label']} | " + " | ".join(_summary(page.cells[c, row]) for c in cols) + " |")
    lines += ["", "## Protocol per column", ""]
    lines += [f"- **{spec['columns'][c]['label']}**: {spec['columns'][c]['protocol']}" for c in cols]
    for label, langs, rows in _language_tables(page):
        lines += ["", f"## {label} per language / dataset (evalkit, x100; the sources give published averages only)",
                  "", "| system | " + " | ".join(langs) + " |", "|---|" + "---|" * len(langs)]
        lines += [f"| {system} | " + " | ".join(values) + " |" for system, values in rows]
    lines += ["", "## Commands", ""]
    for (c, row), cell in page.cells.items():
        note = f" — {cell.state}" + (f": {cell.reason}" if cell.reason else "") + \
               (f" ({cell.protocol})" if cell.protocol else "")
        lines += [f"- {spec['columns'][c]['label']}, {spec['rows'][row]['label']}{note}", "",
                  "  ```", f"  {cell.command}", "  ```"]
    return "\n".join(lines) + "\n"


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
#cells td { max-width: 18em; }
th:first-child, td:first-child { text-align: left; }
.banner { background: #fff3cd; border: 1px solid #d9b44a; padding: 0.6em; }
.OK { background: #e3f4e1; } .FAIL { background: #f8d7d7; } .failed { background: #f8d7d7; }
.not-run, .no-published-value { background: #eee; color: #555; }
details summary { cursor: pointer; } details { text-align: left; }
code { display: block; font-size: 0.75em; white-space: pre-wrap; word-break: break-all; }
"""


def _html_cell(cell: Cell) -> str:
    klass = cell.state.replace(" ", "-")
    head = (f"{_num(cell.value)} <span class=\"pub\">/ {_num(cell.published)}</span> "
            f"<span class=\"delta\">({_num(cell.delta, True)})</span> <b class=\"verdict\">{escape(cell.state)}</b>"
            if cell.value is not None else f"<b class=\"verdict\">{escape(cell.state)}</b> "
                                           f"<span class=\"pub\">(published {_num(cell.published)})</span>")
    detail = "".join(f"<div>{escape(x)}</div>" for x in (cell.reason, cell.protocol) if x)
    return (f"<td class=\"{klass}\" data-cell=\"{escape(cell_name(cell.column, cell.row))}\">{head}<details>"
            f"<summary>command</summary>{detail}<code>{escape(cell.command)}</code></details></td>")


def _language_tables(page: Page) -> list[tuple[str, list[str], list[tuple[str, list[str]]]]]:
    """Per column that has runs: (label, its languages / datasets / tasks, [(system, values x100)])."""
    spec, out = page.spec, []
    for c, col in spec["columns"].items():
        langs = sorted({k for row in spec["rows"] for k in page.cells[c, row].by_language})
        if langs:
            out.append((col["label"], langs, [(info["label"], [_num(page.cells[c, row].by_language.get(k))
                                                               for k in langs]) for row, info in spec["rows"].items()]))
    return out


def _html_table(header: list[str], rows: list[list[str]], html_cells: bool = False, ident: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(c if html_cells and i else f"<td>{escape(c)}</td>" for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"


def render_html(page: Page) -> str:
    spec, cols = page.spec, list(page.spec["columns"])
    title = escape(spec.get("title") or spec["name"])
    notes = "".join(f"<p class=\"{'banner' if i == 0 and page.stand_in else 'note'}\">{escape(b)}</p>\n"
                    for i, b in enumerate(_banner(page)))
    cells = _html_table(["system", *(spec["columns"][c]["label"] for c in cols)],
                        [[info["label"], *(_html_cell(page.cells[c, row]) for c in cols)]
                         for row, info in spec["rows"].items()], html_cells=True, ident=' id="cells"')
    protocol = "".join(f"<li><b>{escape(spec['columns'][c]['label'])}</b>: {escape(spec['columns'][c]['protocol'])}"
                       "</li>" for c in cols)
    languages = "".join(f"<h3>{escape(label)} per language / dataset (evalkit, x100)</h3>\n"
                        + _html_table(["system", *langs], [[system, *values] for system, values in rows])
                        for label, langs, rows in _language_tables(page)) or "<p>no cell has run</p>"
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<link rel=\"icon\" "
            f"href=\"data:,\">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
            f"{notes}{cells}<h2>Protocol per column</h2>\n<ul>{protocol}</ul>\n"
            f"<h2>Per language (dataset, task)</h2>\n{languages}</body>\n</html>\n")


def write_page(sweep_dir: Path, out: Optional[Path] = None) -> list[Path]:
    """table.md and table.html of a paper-table sweep, published atomically."""
    page = collect(Path(sweep_dir))
    out = Path(out or sweep_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "table.md", out / "table.html"]
    atomic_write_text(paths[0], render_markdown(page))
    atomic_write_text(paths[1], render_html(page))
    return paths


def is_table_sweep(sweep_dir: Path) -> bool:
    path = Path(sweep_dir) / "multirun.yaml"
    return path.is_file() and bool(((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("table") or {})
                                   .get("name"))


def refresh_from_job() -> None:
    """In a --multirun job of a paper table (one that failed too): rewrite the page, so that a sweep the launcher
    stopped still has it. Never raises: the job's own result is what the user must see."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
            sweep = Path(HydraConfig.get().sweep.dir)
            if is_table_sweep(sweep):
                write_page(sweep)
    except Exception as problem:
        log.warning("could not write the paper table page (%s)", problem)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from evalkit.commands import parser

    args = parser("table").parse_args(argv)
    try:
        written = write_page(args.sweep_dir, args.out)
    except (EvalkitError, OSError, yaml.YAMLError) as exc:
        sys.stderr.write(f"evalkit table: error: {exc}\n")
        return 2
    for path in written:
        log.info("wrote %s", path)
    return 0
