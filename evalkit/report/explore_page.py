"""The explorer's HTML: one file, no network. The summary is parsed at load; a language's top-10 details are parsed
only when one of its queries is first opened; the query list is paged (PAGE rows in the DOM at a time)."""
from __future__ import annotations

import html
import json

PAGE = 50


def _json(data) -> str:
    """JSON safe inside <script type="application/json">: no `</` can close the element."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def render_page(summary: dict, details: dict[str, dict]) -> str:
    blocks = "\n".join(f'<script type="application/json" id="d-{html.escape(lang)}">{_json(d)}</script>'
                       for lang, d in details.items())
    return (TEMPLATE.replace("%TITLE%", html.escape(summary["title"]))
            .replace("%SUMMARY%", _json(summary)).replace("%DETAILS%", blocks).replace("%PAGE%", str(PAGE)))


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%TITLE%</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{padding:10px 16px;background:#fff;border-bottom:1px solid #ddd;position:sticky;top:0;z-index:2}
h1{font-size:17px;margin:0 0 8px}
.controls{display:flex;flex-wrap:wrap;gap:10px;align-items:center}
.controls label{font-size:12px;color:#555}
select,button{font:inherit;padding:2px 6px}
main{display:flex;gap:12px;padding:12px 16px;align-items:flex-start}
#list{flex:0 0 46%;min-width:380px;overflow-x:auto}
#detail{flex:1;min-width:0}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:3px 6px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{font-size:12px;color:#555;background:#f3f3f3}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
#rows tr{cursor:pointer}
#rows tr:focus,#rows tr.sel{outline:2px solid #0a66c2;outline-offset:-2px;background:#eaf2fb}
tr.langhead td{background:#f3f3f3;font-weight:600;cursor:default}
.up{color:#0a7d32}.down{color:#b3261e}.same{color:#777}
.pager{display:flex;gap:8px;align-items:center;margin:6px 0}
.qtext{max-width:240px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.sys{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:10px}
.sys table td{font-size:12.5px}
.g2{background:#1e8e3e;color:#fff}.g1{background:#a8dab5}.g0{background:#f4c7c3}.gu{background:#e8e8e8;color:#666}
.grade{display:inline-block;min-width:18px;text-align:center;border-radius:3px;padding:0 3px;font-size:12px}
.cut{font-size:11.5px;color:#8a4b00}.cut.lost{color:#b3261e;font-weight:600}
.docid{font-family:ui-monospace,monospace;font-size:11.5px;color:#444}
.meta{color:#555;font-size:12.5px;margin:4px 0 10px}
.help{font-size:12px;color:#666}
#empty{padding:20px;color:#666}
tr.missed td{background:#fffaf0}
</style></head>
<body>
<header><h1>%TITLE%</h1>
<div class="controls">
<label>language <select id="f-lang"></select></label>
<label>length bucket <select id="f-bucket"></select></label>
<label>metric <select id="f-metric"></select></label>
<label>system <select id="f-b"></select></label>
<label>vs <select id="f-a"></select></label>
<label>order <select id="f-order"><option value="asc">largest drop first</option>
<option value="desc">largest gain first</option><option value="abs">largest change first</option></select></label>
<span class="help">keys: j/k or ↑/↓ move · Enter open · Esc close · n/p or →/← page · l language</span>
</div></header>
<main>
<section id="list" aria-label="queries">
<div class="pager"><button id="prev" aria-label="previous page">◀</button><span id="pageinfo"></span>
<button id="next" aria-label="next page">▶</button><span id="count"></span></div>
<table><thead><tr><th>lang</th><th>qid</th><th>bucket</th><th>query</th><th class="num" id="h-a">A</th>
<th class="num" id="h-b">B</th><th class="num">Δ</th></tr></thead><tbody id="rows"></tbody></table>
</section>
<section id="detail" aria-live="polite"><div id="empty">Open a query (click it, or select it and press Enter)
to see each system's top documents side by side.</div></section>
</main>
<script type="application/json" id="summary">%SUMMARY%</script>
%DETAILS%
<script>
"use strict";
const S = JSON.parse(document.getElementById("summary").textContent);
const PAGE = %PAGE%;
const Q = S.q, N = Q.qid.length;
const details = {};
const $ = id => document.getElementById(id);
let view = [], page = 0, sel = 0, openIdx = -1;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}
function fmt(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1); }
function option(sel, value, label) { sel.append(el("option", {value: String(value), text: label})); }
function detailsOf(lang) {
  if (!details[lang]) details[lang] = JSON.parse(document.getElementById("d-" + lang).textContent);
  return details[lang];
}

function setup() {
  option($("f-lang"), -1, "all");
  S.langs.forEach((l, i) => option($("f-lang"), i, l));
  option($("f-bucket"), -1, "all");
  S.buckets.forEach((b, i) => option($("f-bucket"), i, b));
  S.metrics.forEach(m => option($("f-metric"), m, m));
  S.systems.forEach((s, i) => { option($("f-a"), i, s.name); option($("f-b"), i, s.name); });
  $("f-a").value = "0";
  $("f-b").value = String(S.systems.length - 1);
  for (const id of ["f-lang", "f-bucket", "f-metric", "f-a", "f-b", "f-order"])
    $(id).addEventListener("change", () => { page = 0; sel = 0; refresh(); });
  $("prev").addEventListener("click", () => go(page - 1));
  $("next").addEventListener("click", () => go(page + 1));
  document.addEventListener("keydown", onKey);
  refresh();
}

function delta(i, m, a, b) {
  const va = Q.v[m][a][i], vb = Q.v[m][b][i];
  return va === null || vb === null ? 0 : vb - va;
}

function refresh() {
  const lang = +$("f-lang").value, bucket = +$("f-bucket").value, m = $("f-metric").value;
  const a = +$("f-a").value, b = +$("f-b").value, order = $("f-order").value;
  $("h-a").textContent = S.systems[a].name;
  $("h-b").textContent = S.systems[b].name;
  const idx = [];
  for (let i = 0; i < N; i++)
    if ((lang < 0 || Q.lang[i] === lang) && (bucket < 0 || Q.bucket[i] === bucket)) idx.push(i);
  const d = new Float64Array(N);
  for (const i of idx) d[i] = delta(i, m, a, b);
  const key = order === "asc" ? i => d[i] : order === "desc" ? i => -d[i] : i => -Math.abs(d[i]);
  idx.sort((x, y) => (Q.lang[x] - Q.lang[y]) || (key(x) - key(y)) || (Q.qid[x] < Q.qid[y] ? -1 : 1));
  view = idx;
  render();
}

function pages() { return Math.max(1, Math.ceil(view.length / PAGE)); }
function go(p) { page = Math.min(Math.max(p, 0), pages() - 1); sel = 0; render(); }

function render() {
  const m = $("f-metric").value, a = +$("f-a").value, b = +$("f-b").value;
  const body = $("rows");
  body.replaceChildren();
  let lastLang = -1;
  const start = page * PAGE;
  view.slice(start, start + PAGE).forEach((i, k) => {
    if (Q.lang[i] !== lastLang) {
      lastLang = Q.lang[i];
      body.append(el("tr", {class: "langhead"}, el("td", {colspan: "7", text: S.langs[lastLang]})));
    }
    const dv = delta(i, m, a, b);
    const tr = el("tr", {tabindex: "0", "data-i": String(i), "data-k": String(k)},
      el("td", {text: S.langs[Q.lang[i]]}), el("td", {text: Q.qid[i]}), el("td", {text: S.buckets[Q.bucket[i]]}),
      el("td", {class: "qtext", title: Q.text[i], text: Q.text[i]}),
      el("td", {class: "num", text: fmt(Q.v[m][a][i])}), el("td", {class: "num", text: fmt(Q.v[m][b][i])}),
      el("td", {class: "num " + (dv > 0 ? "up" : dv < 0 ? "down" : "same"),
                text: (dv > 0 ? "+" : "") + (dv * 100).toFixed(1)}));
    tr.addEventListener("click", () => { sel = k; mark(); openQuery(i); });
    body.append(tr);
  });
  $("pageinfo").textContent = `page ${page + 1} / ${pages()}`;
  $("count").textContent = `${view.length} ${view.length === 1 ? "query" : "queries"}`;
  mark();
}

function rowsOnPage() { return Array.from($("rows").querySelectorAll("tr[data-i]")); }
function mark(focus) {
  const rows = rowsOnPage();
  rows.forEach((r, k) => r.classList.toggle("sel", k === sel));
  if (focus && rows[sel]) rows[sel].focus();
}

function onKey(ev) {
  if (ev.target.tagName === "SELECT" && ev.key !== "Escape") return;
  const rows = rowsOnPage();
  const k = ev.key;
  if (k === "j" || k === "ArrowDown") { sel = Math.min(sel + 1, rows.length - 1); mark(true); }
  else if (k === "k" || k === "ArrowUp") { sel = Math.max(sel - 1, 0); mark(true); }
  else if (k === "Enter" || k === "o") { if (rows[sel]) openQuery(+rows[sel].dataset.i); }
  else if (k === "Escape") { closeQuery(); mark(true); }
  else if (k === "n" || k === "ArrowRight") go(page + 1);
  else if (k === "p" || k === "ArrowLeft") go(page - 1);
  else if (k === "l") $("f-lang").focus();
  else return;
  ev.preventDefault();
}

function closeQuery() {
  openIdx = -1;
  $("detail").replaceChildren(el("div", {id: "empty", text: "No query open."}));
}

function move(baseRank, rank) {
  if (baseRank === null || baseRank === undefined) return el("span", {class: "up", text: "new", title: "not in the baseline's candidates"});
  const d = baseRank - rank;
  if (d === 0) return el("span", {class: "same", text: "=", title: "same rank as in the baseline"});
  return el("span", {class: d > 0 ? "up" : "down", text: (d > 0 ? "▲" : "▼") + Math.abs(d),
                     title: `rank ${baseRank} in the baseline`});
}

function cutNote(len, cut, ans) {
  const notes = [];
  if (cut !== null && cut !== undefined && len - 2 > cut) {
    const lost = ans !== null && ans !== undefined && ans >= cut;
    notes.push(el("div", {class: "cut" + (lost ? " lost" : ""),
      text: `cut at token ${cut} of ${len}` + (ans !== null && ans !== undefined ?
            (lost ? `; answer at token ${ans}, after the cut` : `; answer at token ${ans}, kept`) : "")}));
  } else if (ans !== null && ans !== undefined) {
    notes.push(el("div", {class: "cut", text: `answer at token ${ans}`}));
  }
  return notes;
}

function openQuery(i) {
  openIdx = i;
  const lang = S.langs[Q.lang[i]], D = detailsOf(lang), qd = D.q[Q.qid[i]];
  const box = $("detail");
  const vals = S.metrics.map(m => `${m}: ` + S.systems.map((s, j) => `${s.name} ${fmt(Q.v[m][j][i])}`).join(" · "));
  const head = [el("h2", {text: Q.text[i]}),
    el("div", {class: "meta", text: `${lang} · qid ${Q.qid[i]} · bucket ${S.buckets[Q.bucket[i]]} (${S.tokenizer} tokens)`}),
    ...vals.map(v => el("div", {class: "meta", text: v}))];
  const grid = el("div", {class: "sys"});
  S.systems.forEach((s, j) => {
    const cut = qd ? qd.cut[j] : null;
    const tbody = el("tbody");
    (qd ? qd.rows[j] : []).forEach(([docid, grade, baseRank, ans], r) => {
      const [title, len] = D.docs[docid] || ["", 0];
      const g = grade === null || grade === undefined ? "u" : String(grade);
      tbody.append(el("tr", {"data-doc": docid, class: "top"},
        el("td", {class: "num", text: String(r + 1)}),
        el("td", {}, el("div", {text: title}), el("div", {class: "docid", text: docid}), ...cutNote(len, cut, ans)),
        el("td", {}, el("span", {class: "grade g" + g, text: g === "u" ? "–" : g,
                                 title: g === "u" ? "unjudged" : "grade " + g})),
        el("td", {class: "num", text: String(len)}),
        el("td", {class: "num"}, j === 0 ? el("span", {class: "same", text: ""}) : move(baseRank, r + 1))));
    });
    const missed = qd && qd.missed ? qd.missed[j] : [];
    if (missed.length) tbody.append(el("tr", {class: "langhead"},
      el("td", {colspan: "5", text: "relevant, outside the top " + S.top})));
    missed.forEach(([docid, grade, rank, baseRank, ans]) => {
      const [title, len] = D.docs[docid] || ["", 0];
      tbody.append(el("tr", {"data-doc": docid, class: "missed"},
        el("td", {class: "num", text: rank === null ? "–" : String(rank),
                  title: rank === null ? "not among this system's candidates" : "rank " + rank}),
        el("td", {}, el("div", {text: title}), el("div", {class: "docid", text: docid}), ...cutNote(len, cut, ans)),
        el("td", {}, el("span", {class: "grade g" + grade, text: String(grade), title: "grade " + grade})),
        el("td", {class: "num", text: String(len)}),
        el("td", {class: "num"}, j === 0 || rank === null ? el("span", {class: "same", text: ""}) : move(baseRank, rank))));
    });
    const caption = s.name + (s.max_length ? ` (max_length ${s.max_length})` : "");
    grid.append(el("div", {class: "system", "data-system": String(j)}, el("h3", {text: caption}),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {class: "num", text: "#"}), el("th", {text: "document"}),
        el("th", {text: "grade"}), el("th", {class: "num", text: "tokens"}), el("th", {class: "num", text: "move"}))),
        tbody)));
  });
  box.replaceChildren(...head, grid);
}

setup();
</script>
</body></html>
"""
