"""One self-contained HTML file: tables plus PNG plots embedded as base64; no scripts, no external resources.

The protocol is shown once, at the top (the per-table protocol lines of compare.md would repeat it). A run's page
(`run_metrics` given) also has report.md's per-language tables with the first-stage ceiling, from the same rows.
"""
from __future__ import annotations

import base64
from html import escape

from evalkit.report.comparison import Comparison, protocol_line
from evalkit.report.plots import plots, system_colours
from evalkit.report.tables import Section, sections, settings_line

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
thead th { border-bottom: 2px solid #444; }
.protocol { font-family: monospace; font-size: 0.8em; color: #555; }
.note { font-style: italic; font-size: 0.85em; }
.omitted { font-style: italic; color: #555; margin: 0.3em 0 1.5em; }
.key { color: #666; font-size: 0.85em; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.3em 0 0.8em; vertical-align: -0.1em; }
img { display: block; max-width: 100%; margin: 0.5em 0 2em; }
"""


def _table(section: Section) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in section.header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in section.rows)
    return (f"<h2>{escape(section.title)}</h2>\n<p class=\"note\">{escape(section.note)}</p>\n"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n")


def run_language_sections(metrics: dict) -> list[Section]:
    """report.md's per-language tables (first stage, reranked, Δ, ceiling), built by its own row function from the
    run's metrics.json values: computed once, by the pipeline."""
    from evalkit.report.markdown import language_tables

    note = ("ceiling = the candidates ordered by their judgments (a perfect reranker); Δ = reranked − first stage; "
            "avg = macro average over languages")
    return [Section(f"{m} per {'language' if header[0] == 'lang' else header[0]}: first stage and its ceiling", "",
                    note, header, rows)
            for m, header, rows in language_tables(metrics)]


def efficiency_section(metrics: dict) -> Section:
    """report.md's efficiency table, from the same rows."""
    from evalkit.report.markdown import efficiency_rows

    note, rows = efficiency_rows(metrics)
    return Section("Efficiency (rerank stage)", "", note, ["", ""], rows)


def _plots(c: Comparison) -> str:
    out = []
    for p in plots(c):
        if p.png is None:
            out.append(f"<h3>{escape(p.title)}</h3>\n<p class=\"omitted\">Not drawn: {escape(p.reason)}</p>\n")
        else:
            out.append(f"<h3>{escape(p.title)}</h3>\n<img alt=\"{escape(p.title)}\" "
                       f"src=\"data:image/png;base64,{base64.b64encode(p.png).decode('ascii')}\">\n")
    return "".join(out)


def render_html(c: Comparison, title: str, run_metrics: dict | None = None) -> str:
    protocol = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>" for k, v in c.protocol.items())
    colours = system_colours(c)
    legend = "".join(f"<span class=\"swatch\" data-system=\"{escape(s)}\" style=\"background:{colours[s]}\"></span>"
                     f"<span class=\"system\">{escape(s)}</span>"
                     + (f" <span class=\"key\">({escape(c.keys[s])})</span>" if c.keys.get(s, s) != s else "")
                     for s in c.systems)
    tables = [*(run_language_sections(run_metrics) if run_metrics else []), *sections(c),
              *([efficiency_section(run_metrics)] if run_metrics else [])]
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<link rel=\"icon\" href=\"data:,\">\n<title>{escape(title)}</title>\n"
            f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n"
            f"<p>{escape(settings_line(c))}</p>\n<p class=\"legend\">Systems:{legend}</p>\n"
            f"<h2 id=\"protocol\">Protocol</h2>\n<p class=\"protocol\">{escape(protocol_line(c.protocol))}</p>\n"
            f"<table>{protocol}</table>\n"
            + "".join(_table(s) for s in tables) + f"<h2>Plots</h2>\n{_plots(c)}</body>\n</html>\n")
