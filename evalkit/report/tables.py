"""The comparison's tables as formatted text cells (shared by the Markdown, LaTeX and HTML renderers)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from evalkit.metrics.aggregate import MACRO
from evalkit.report.comparison import Comparison, protocol_line
from evalkit.report.markdown import markdown_table, protocol_block

MARK = "†"


@dataclass
class Section:
    title: str
    protocol: str            # one line of protocol, printed above the table
    note: str
    header: list[str]
    rows: list[list[str]]


def pct(value: float) -> str:
    return f"{100 * value:.2f}"


def settings_line(c: Comparison, banner: bool = True) -> str:
    s = c.settings
    prefix = c.banner + " " if c.banner and banner else ""
    return prefix + (
            f"{int(s['level'] * 100)}% CIs: percentile bootstrap over queries ({s['n_resamples']} resamples; the "
            f"`avg` CI resamples within each language). Test vs `{c.baseline}`: paired {s['test']} test "
            f"({s['n_resamples']} resamples), Holm-corrected across languages; {MARK} = p_holm < "
            f"{1 - s['level']:.2f}. Seed: {s['seed']}. Scores ×100; `avg` = macro average over languages.")


def _marks(stats: pd.DataFrame, metric: str) -> dict[tuple[str, str], str]:
    part = stats[stats.metric == metric]
    return {(r.system, str(r.group)): MARK if r.significant else "" for r in part.itertuples()}


def _headers(c: Comparison) -> list[str]:
    return [f"{s} (baseline)" if s == c.baseline else s for s in c.systems]


def language_sections(c: Comparison) -> list[Section]:
    out = []
    for metric in c.metrics:
        cis = c.cis[c.cis.metric == metric].set_index(["system", "lang"])
        marks = _marks(c.stats, metric)
        rows = []
        for lang in [*c.languages, MACRO]:
            n = int(cis.loc[(c.systems[0], lang), "n"])
            cells = []
            for s in c.systems:
                r = cis.loc[(s, lang)]
                mark = marks.get((s, "all" if lang == MACRO else lang), "")
                cells.append(f"{pct(r['mean'])}{mark} ({pct(r['lo'])}–{pct(r['hi'])})")
            rows.append([lang, str(n), *cells])
        out.append(Section(f"{metric} per language", protocol_line(c.protocol),
                           "mean (95% CI); n = queries (avg: all queries)", ["lang", "n", *_headers(c)], rows))
        diffs = c.stats[c.stats.metric == metric]
        if len(diffs):
            counts = c.counts[c.counts.metric == metric].set_index(["system", "lang"])
            rows = []
            for r in diffs.itertuples():
                lang = MACRO if r.group == "all" else str(r.group)
                n = counts.loc[(r.system, lang)]
                rows.append([r.system, lang, str(r.n), f"{100 * r.diff:+.2f}",
                             f"{100 * r.ci_lo:+.2f} – {100 * r.ci_hi:+.2f}", f"{r.p:.4f}", f"{r.p_holm:.4f}",
                             MARK if r.significant else "", str(n.improved), str(n.degraded), str(n.equal)])
            out.append(Section(f"{metric}: difference vs {c.baseline}", protocol_line(c.protocol),
                               f"Δ = system − baseline; {c.settings['test']} test, seed {c.settings['seed']}; "
                               f"+ / − / = : queries improved, degraded, equal vs {c.baseline} (as PyTerrier)",
                               ["system", "lang", "n", "Δ", "95% CI of Δ", "p", "p_holm", "sig.", "+", "−", "="],
                               rows))
    return out


def bucket_sections(c: Comparison) -> list[Section]:
    out = []
    for metric in c.metrics:
        means = c.bucket_means[c.bucket_means.metric == metric].set_index(["system", "bucket"])
        marks = _marks(c.bucket_stats, metric)
        rows = [[b, str(int(means.loc[(c.systems[0], b), "count"])),
                 *(f"{pct(means.loc[(s, b), 'mean'])}{marks.get((s, b), '')} "
                   f"({pct(means.loc[(s, b), 'lo'])}–{pct(means.loc[(s, b), 'hi'])})" for s in c.systems)]
                for b in c.buckets]
        out.append(Section(f"{metric} per document-length bucket", protocol_line(c.protocol),
                           "bucket = token length of the query's longest relevant document; languages pooled; "
                           f"mean (95% CI); {MARK}: differs from {c.baseline}, Holm across buckets",
                           ["bucket", "n", *_headers(c)], rows))
        diffs = c.bucket_stats[(c.bucket_stats.metric == metric) & (c.bucket_stats.group != "all")]
        if len(diffs):
            order = {b: i for i, b in enumerate(c.buckets)}
            diffs = diffs.assign(_o=diffs.group.map(order)).sort_values(["system", "_o"], kind="stable")
            rows = [[r.system, str(r.group), str(r.n), f"{100 * r.diff:+.2f}",
                     f"{100 * r.ci_lo:+.2f} – {100 * r.ci_hi:+.2f}", f"{r.p_holm:.4f}", MARK if r.significant else ""]
                    for r in diffs.itertuples()]
            out.append(Section(f"{metric}: difference vs {c.baseline} per length bucket", protocol_line(c.protocol),
                               f"Δ = system − {c.baseline}, paired over the bucket's queries; "
                               f"{c.settings['test']} test, Holm across one system's buckets. "
                               + from_which_length(diffs, c.buckets),
                               ["system", "bucket", "n", "Δ", "95% CI of Δ", "p_holm", "sig."], rows))
    return out


def from_which_length(diffs: pd.DataFrame, buckets: list[str]) -> str:
    """Per system, the shortest bucket from which it is significantly behind (or ahead of) the baseline in that
    bucket and every longer one: the length from which, say, full context beats MaxP; or that the longest bucket
    shows no significant difference."""
    parts = []
    for system, part in diffs.groupby("system", sort=False):
        sign = {str(r.group): (0 if not r.significant else -1 if r.diff < 0 else 1) for r in part.itertuples()}
        ordered = [b for b in buckets if b in sign and b != "no relevant"]
        if not ordered or sign[ordered[-1]] == 0:
            parts.append(f"{system}: no significant difference in the longest bucket"
                         + (f" ({ordered[-1]})" if ordered else ""))
            continue
        side, start = sign[ordered[-1]], ordered[-1]
        for b in reversed(ordered):
            if sign[b] != side:
                break
            start = b
        parts.append(f"{system}: {'behind' if side < 0 else 'ahead of'} the baseline from bucket {start} on")
    return "From which length: " + "; ".join(parts) + "." if parts else ""


def ceiling_section(c: Comparison) -> Section:
    rows = []
    for r in c.ceiling.itertuples():
        room = r.ceiling - r.first_stage
        share = f"{100 * (r.achieved - r.first_stage) / room:.1f}%" if room > 0 else "–"
        rows.append([r.system, r.metric, pct(r.first_stage), pct(r.achieved), pct(r.ceiling), share])
    return Section("First-stage ceiling vs achieved", protocol_line(c.protocol),
                   "ceiling = the run's candidates ordered by their judgments (a perfect reranker); "
                   "captured = (achieved − first stage) / (ceiling − first stage); macro averages",
                   ["system", "metric", "first stage", "achieved", "ceiling", "captured"], rows)


def published_section(c: Comparison) -> Section | None:
    if c.published.empty:
        return None
    rows = [[r.system, r.ref, r.status, r.metric, r.lang, f"{r.ours:.2f}", f"{r.lo:.2f}–{r.hi:.2f}",
             f"{r.published:.2f}", f"{r.delta:+.2f}", "yes" if r.inside else "no", r.note]
            for r in c.published.itertuples()]
    return Section("vs published", protocol_line(c.protocol),
                   "published numbers are ×100 as printed (results/published); inside = published value within our "
                   "95% CI; secondary = read in third-party summaries only",
                   ["system", "published row", "status", "metric", "lang", "ours", "95% CI", "published", "Δ",
                    "inside", "note"], rows)


def differs_section(c: Comparison) -> Section | None:
    """The header: exactly the settings that differ between the systems (their titles are built from them)."""
    rows = [[key, *(values.get(s, "∅") for s in c.systems)] for key, values in c.differs.items()]
    note = ("from each run's resolved config (config.yaml) and config-group choices; titles name the settings "
            "not implied by a differing choice")
    if not rows and not c.not_compared:
        return None
    if not rows:
        note = "no setting differs between the runs' resolved configs"
    if c.not_compared:
        note += "; not compared: " + "; ".join(f"{m} (not reported by {', '.join(runs)})"
                                               for m, runs in c.not_compared.items())
    return Section("Settings that differ", protocol_line(c.protocol), note, ["setting", *_headers(c)], rows)


def condensed_section(c: Comparison) -> Section | None:
    """Pairs whose verdict changes between a measure and its condensed twin (unjudged documents removed)."""
    if c.condensed is None or c.condensed.empty:
        return None
    changed = c.condensed[c.condensed.changed]
    rows = [[r.system, r.lang, r.metric, f"{100 * r.diff:+.2f} {r.verdict}", r.condensed,
             f"{100 * r.diff_condensed:+.2f} {r.verdict_condensed}"] for r in changed.itertuples()]
    note = (f"Δ vs {c.baseline} and its verdict ({MARK} = p_holm < {1 - c.settings['level']:.2f}); a verdict that "
            "changes under condensed evaluation means the difference is about unjudged documents, not relevance")
    if not rows:
        note = "no verdict changes between the standard and the condensed measures: " + note
    return Section("Standard vs condensed: verdicts that change", protocol_line(c.protocol), note,
                   ["system", "lang", "measure", "Δ, verdict", "condensed", "Δ, verdict (condensed)"], rows)


def rank_section(c: Comparison) -> Section | None:
    if c.ranks is None:
        return None
    rows = [[r.metric, r.system, str(r.rank), f"{r.lo}–{r.hi}", f"{100 * r.first:.1f}%"]
            for r in c.ranks.itertuples()]
    return Section("Rank stability (macro average)", protocol_line(c.protocol),
                   f"rank 1 = best; {int(100 * c.settings['level'])}% interval and share of resamples where the "
                   f"system is first, over {c.settings['n_resamples']} bootstrap resamples of queries within "
                   f"languages (seed {c.settings['seed']})", ["metric", "system", "rank", "interval", "first"], rows)


def _num(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.1f}" if value >= 10 else f"{value:.3g}"


def _count(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def cost_section(c: Comparison) -> Section | None:
    """Quality versus cost: per system its macro and per-language quality, pairs/s, ms/query and per-query
    latency, the Pareto front marked; the caveat first when timings come from different setups."""
    if c.cost is None:
        return None
    cost, langs = c.cost, c.languages
    rows = []
    for system, part in cost.points.groupby("system", sort=False):
        by_lang = part.set_index("lang")
        r = by_lang.loc[MACRO]
        flops = "–" if pd.isna(r.flops_per_pair) else f"{r.flops_per_pair / 1e9:.3g}"
        rows.append([system, "◆" if r.front else "", pct(r.quality),
                     *(pct(by_lang.loc[lang, "quality"]) if lang in by_lang.index else "–" for lang in langs),
                     _count(r.pairs_scored), _count(r.tokens), _num(r.stage_seconds),
                     _num(r.pairs_per_s), _num(r.ms_per_query), f"{_num(r.p50_ms)} / {_num(r.p95_ms)}", flops,
                     r.measured_on])
    rows += [[system, "", "–", *("–" for _ in langs), "–", "–", "–", "–", "–", "–", "–", why]
             for system, why in cost.unmeasured.items()]
    note = (f"{cost.metric} ×100 against the rerank stage's cost (metrics.json `efficiency`): pairs scored (chunks, "
            f"for a chunking run), model tokens and stage seconds as the run counted them; pairs/s = pairs "
            f"scored / stage wall time; ms/query = stage time / queries (amortised); p50/p95 = per-query latency "
            f"(local models: a probe of single-query calls, cache bypassed; endpoints: per request); ◆ = on the "
            f"Pareto front of pairs/s and {cost.metric} (avg): no other system is both faster and better")
    if cost.caveat:
        note = f"{cost.caveat}. {note}"
    return Section(f"Quality versus cost: {cost.metric}", protocol_line(c.protocol), note,
                   ["system", "front", f"{cost.metric} avg", *langs, "pairs scored", "tokens", "stage s", "pairs/s",
                    "ms/query", "p50 / p95 ms",
                    "GFLOP/pair", "measured on"], rows)


def sections(c: Comparison) -> list[Section]:
    found = [differs_section(c), *language_sections(c), condensed_section(c), rank_section(c), *bucket_sections(c),
             ceiling_section(c), cost_section(c), published_section(c)]
    found = [s for s in found if s is not None]
    if c.banner:   # on every table, whatever the format
        found = [replace(s, note=f"{c.banner} {s.note}") for s in found]
    return found


def render_markdown(c: Comparison, title: str) -> str:
    banner = [f"> **{c.banner}**", ""] if c.banner else []
    parts = [f"# {title}", "", *banner, settings_line(c, banner=False), "", "## Protocol", "",
             protocol_block(c.protocol), ""]
    for s in sections(c):   # the protocol is stated once, above; a section without rows is its sentence alone
        parts += [f"## {s.title}", "", f"*{s.note}*", "", *([markdown_table(s.header, s.rows), ""] if s.rows else [])]
    return "\n".join(parts)
