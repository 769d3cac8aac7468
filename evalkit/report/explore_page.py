"""The explorer's HTML: the page holds the summary (queries, values), parsed at load; an opened query's details
(top 10s, passage texts, cuts, answer spans) come from its shard file, loaded on demand by a <script> element (a
file:// page may load scripts beside it, not fetch them) and kept for the last KEEP shards; the query list is paged
(PAGE rows in the DOM at a time). No network: every path the page loads is relative, under its `_files/` folder."""
from __future__ import annotations

import html
import json

PAGE = 50
KEEP = 32


def _json(data) -> str:
    """JSON safe inside a <script>: no `</` can close the element."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def shard_script(k: int, build: str, data: dict) -> str:
    """One shard file: a call that hands the page its data (the build id tells a stale shard from a fresh one)."""
    return f"evalkitShard({k},{_json(build)},{_json(data)});\n"


def render_page(summary: dict) -> str:
    return (TEMPLATE.replace("%TITLE%", html.escape(summary["title"])).replace("%SUMMARY%", _json(summary))
            .replace("%PAGE%", str(PAGE)).replace("%KEEP%", str(KEEP)))


TEMPLATE = r"""<!DOCTYPE html>
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
#list{flex:0 0 40%;min-width:380px;overflow-x:auto}
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
.qtext{white-space:normal;overflow-wrap:anywhere}
.sys{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:10px}
.sys table td{font-size:12.5px}
.g2{background:#1e8e3e;color:#fff}.g1{background:#a8dab5}.g0{background:#f4c7c3}.g3,.g4{background:#0b5d26;color:#fff}
.gu{background:#fff;color:#8a4b00;border:1px dashed #8a4b00}
tr.unjudged td:first-child{box-shadow:inset 4px 0 0 #e0a030}
.unj{display:inline-block;font-size:11px;color:#8a4b00;margin-left:4px}
.passage{position:relative;font-size:12.5px;line-height:1.45;color:#333;max-height:7.4em;overflow-y:auto;padding:2px 4px;background:#fcfcfc;border-left:2px solid #e6e6e6;white-space:pre-wrap;overflow-wrap:anywhere}
.passage mark.hl{background:#fff2a8;color:inherit;padding:0}
.passage .ans{background:#c9ecd3;box-shadow:inset 0 -2px #1e8e3e}
.passage .after{color:#999}
.passage .cutmark{color:#b3261e;font-weight:700;padding:0 2px}
.passage .more{color:#777;font-style:italic}
.judged{font-size:12px;color:#555;margin:-4px 0 6px}
tr.text td{border-bottom:1px solid #ddd;padding-top:0}
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
<script>
"use strict";
const S = JSON.parse(document.getElementById("summary").textContent);
const PAGE = %PAGE%, KEEP = %KEEP%;
const Q = S.q, N = Q.qid.length;
const shards = new Map(), waiting = new Map();
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
// a shard file calls this; the page keeps the last KEEP shards
window.evalkitShard = (k, build, data) => {
  if (build !== S.build) { failed(k, "it belongs to another build of this page: reload"); return; }
  shards.delete(k);
  shards.set(k, data);
  while (shards.size > KEEP) shards.delete(shards.keys().next().value);
  const then = waiting.get(k) || [];
  waiting.delete(k);
  then.forEach(f => f());
};
function failed(k, why) {
  waiting.delete(k);
  $("detail").replaceChildren(el("div", {id: "empty", class: "error", text: `could not load ${S.files}/${k}.js: ${why}`}));
}
function withShard(k, then) {
  if (shards.has(k)) return then();
  if (waiting.has(k)) { waiting.get(k).push(then); return; }
  waiting.set(k, [then]);
  const s = document.createElement("script");
  s.src = `${S.files}/${k}.js`;
  s.onerror = () => failed(k, "missing (the page's _files folder must sit beside it)");
  document.head.append(s);
}
// query terms to highlight: words of 3+ characters and numbers (in scripts written without spaces, bigrams), less
// those found in more than COMMON of the shard's passages (function words: "the", "على", "的")
const COMMON = 0.3;
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}]/u;
function termPattern(query, D) {
  const terms = new Set();
  for (const w of query.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) || []) {
    if (UNSPACED.test(w)) { for (let k = 0; k + 1 < w.length; k++) terms.add(w.slice(k, k + 2)); if (w.length === 1) terms.add(w); }
    else if (w.length >= 3 || /^\p{N}+$/u.test(w)) terms.add(w);
  }
  const texts = Object.values(D.docs).map(([, , windows]) => windows.map(w => w[1]).join(" ").toLowerCase());
  for (const t of [...terms])
    if (texts.length >= 10 && texts.filter(x => x.includes(t)).length > COMMON * texts.length) terms.delete(t);
  if (!terms.size) return null;
  const esc = t => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const alts = [...terms].sort((a, b) => b.length - a.length)
    .map(t => UNSPACED.test(t) ? esc(t) : `(?<![\\p{L}\\p{N}\\p{M}])${esc(t)}`);
  return new RegExp(alts.join("|"), "giu");
}
// a passage: its windows (the head, and text around each mark) with query terms <mark>ed, the answer span boxed
// and, where the reranker's input ended, a ✂ after which the text is greyed; offsets count UTF-16 units
const CUT_TITLE = "the reranker's input was cut here: it never saw the greyed text after this";
function piece(box, text, offset, pattern, answer, cutAt) {
  const n = text.length, bits = new Uint8Array(n);
  if (pattern) for (const m of text.matchAll(pattern)) bits.fill(1, m.index, m.index + m[0].length);
  if (answer) for (let k = Math.max(answer[0] - offset, 0); k < Math.min(answer[1] - offset, n); k++) bits[k] |= 2;
  const cut = cutAt === null || cutAt === undefined ? Infinity : cutAt - offset;
  for (let k = Math.max(cut, 0); k < n; k++) bits[k] |= 4;
  let start = 0;
  for (let k = 1; k <= n; k++) {
    if (k < n && bits[k] === bits[start]) continue;
    const t = text.slice(start, k), b = bits[start];
    let node = (b & 1) ? el("mark", {class: "hl", text: t}) : document.createTextNode(t);
    if (b & 2) node = el("span", {class: "ans", title: "answer span"}, node);
    if (b & 4) node = el("span", {class: "after"}, node);
    if (start === cut) box.append(el("span", {class: "cutmark", text: "✂", title: CUT_TITLE}));
    box.append(node);
    start = k;
  }
  if (cut === n) box.append(el("span", {class: "cutmark", text: "✂", title: CUT_TITLE}));
}
function passage(windows, total, pattern, answer, cutAt) {
  const box = el("div", {class: "passage", dir: "auto"});
  let end = 0;
  for (const [start, text] of windows) {
    if (start > end) box.append(el("span", {class: "more", text: ` … ${start - end} characters … `}));
    piece(box, text, start, pattern, answer, cutAt);
    end = start + text.length;
  }
  if (total > end) box.append(el("span", {class: "more", text: ` … ${total - end} more characters`}));
  return box;
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

function cutNote(len, cut, ans, chunk) {
  const notes = [];
  if (chunk) {   // reranker.long_docs chunking: the chunk whose score the document got (maxp) or the best one
    const [n, best, start, end] = chunk;
    notes.push(el("div", {class: "cut chunk",
      text: `chunk ${best + 1} of ${n} scored best (model tokens ${start}–${end})` +
            (ans !== null && ans !== undefined ? `; answer at token ${ans}` : "")}));
  } else if (cut !== null && cut !== undefined && len - 2 > cut) {
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
  if (!shards.has(Q.shard[i])) $("detail").replaceChildren(el("div", {id: "empty", text: "loading…"}));
  withShard(Q.shard[i], () => { if (openIdx === i) showQuery(i); });
}

function textRow(D, qd, j, docid, pattern) {
  const [, , windows, total] = D.docs[docid] || ["", 0, [], 0];
  return el("tr", {class: "text", "data-doc": docid},
    el("td", {}), el("td", {colspan: "4"}, passage(windows, total, pattern, qd.answer[docid], qd.cut_at[j][docid])));
}

function grade(g) {
  if (g === null || g === undefined)
    return [el("span", {class: "grade gu", text: "–", title: "unjudged: no judgment in the qrels"}),
            el("span", {class: "unj", text: "unjudged"})];
  return [el("span", {class: "grade g" + g, text: String(g), title: "grade " + g})];
}

function showQuery(i) {
  const lang = S.langs[Q.lang[i]], D = shards.get(Q.shard[i]), qd = D.q[Q.qid[i]];
  const box = $("detail"), pattern = termPattern(Q.text[i], D);
  const vals = S.metrics.map(m => `${m}: ` + S.systems.map((s, j) => `${s.name} ${fmt(Q.v[m][j][i])}`).join(" · "));
  const head = [el("h2", {text: Q.text[i]}),
    el("div", {class: "meta", text: `${lang} · qid ${Q.qid[i]} · bucket ${S.buckets[Q.bucket[i]]} (${S.tokenizer} tokens)`}),
    ...vals.map(v => el("div", {class: "meta", text: v}))];
  const grid = el("div", {class: "sys"});
  S.systems.forEach((s, j) => {
    const cut = qd.cut[j];
    const tbody = el("tbody");
    const rows = qd.rows[j];
    rows.forEach(([docid, g, baseRank, ans], r) => {
      const [title, len] = D.docs[docid] || ["", 0];
      const unjudged = g === null || g === undefined;
      tbody.append(el("tr", {"data-doc": docid, class: "top" + (unjudged ? " unjudged" : "")},
        el("td", {class: "num", text: String(r + 1)}),
        el("td", {}, el("div", {text: title, dir: "auto"}), el("div", {class: "docid", text: docid}), ...cutNote(len, cut, ans, (qd.chunk || [])[j]?.[docid])),
        el("td", {}, ...grade(g)),
        el("td", {class: "num", text: String(len)}),
        el("td", {class: "num"}, j === 0 ? el("span", {class: "same", text: ""}) : move(baseRank, r + 1))),
        textRow(D, qd, j, docid, pattern));
    });
    const missed = qd.missed[j];
    if (missed.length) tbody.append(el("tr", {class: "langhead"},
      el("td", {colspan: "5", text: "relevant, outside the top " + S.top})));
    missed.forEach(([docid, g, rank, baseRank, ans]) => {
      const [title, len] = D.docs[docid] || ["", 0];
      tbody.append(el("tr", {"data-doc": docid, class: "missed"},
        el("td", {class: "num", text: rank === null ? "–" : String(rank),
                  title: rank === null ? "not among this system's candidates" : "rank " + rank}),
        el("td", {}, el("div", {text: title, dir: "auto"}), el("div", {class: "docid", text: docid}), ...cutNote(len, cut, ans, (qd.chunk || [])[j]?.[docid])),
        el("td", {}, ...grade(g)),
        el("td", {class: "num", text: String(len)}),
        el("td", {class: "num"}, j === 0 || rank === null ? el("span", {class: "same", text: ""}) : move(baseRank, rank))),
        textRow(D, qd, j, docid, pattern));
    });
    const n = rows.filter(([, g]) => g === null || g === undefined).length;
    const caption = s.name + (s.max_length ? ` (max_length ${s.max_length})` : "");
    grid.append(el("div", {class: "system", "data-system": String(j)}, el("h3", {text: caption}),
      el("div", {class: "judged", text: `${n} of the top ${rows.length} unjudged`}),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {class: "num", text: "#"}), el("th", {text: "document"}),
        el("th", {text: "grade"}), el("th", {class: "num", text: "tokens"}), el("th", {class: "num", text: "move"}))),
        tbody)));
  });
  box.replaceChildren(...head, grid);
  for (const p of box.querySelectorAll(".passage")) {   // a long passage opens at its answer, else at its cut
    const mark = p.querySelector(".ans") || p.querySelector(".cutmark");
    if (mark && mark.offsetTop > p.clientHeight) p.scrollTop = mark.offsetTop - 20;
  }
}

setup();
</script>
</body></html>
"""
