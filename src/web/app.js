// Tricolor flows UI: a live flow table (Server-Sent Events) with pause/play, filters kept in the
// URL, a details drawer with the enforced and pending policy traces, explain and a suggested
// allow policy for denied flows, a who-talks-to-whom graph and per-rule statistics. Plain DOM,
// no framework, no external requests: everything comes from the aggregator that serves this page.
// Every value from a flow is set with textContent (flow names come from the network).

const MAX_ROWS = 5000;
const FIELDS = ['action', 'pending', 'srcNs', 'src', 'dstNs', 'dst', 'port', 'proto', 'policy', 'reporter', 'ip', 'range', 'fuzzy'];

const $ = (id) => document.getElementById(id);
const rows = new Map(); // id → flow
let source = null;
let paused = false;
let selected = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// ---- filters <-> URL <-> API filter -------------------------------------------------------

function readForm() {
  const f = {};
  for (const k of FIELDS) {
    const input = $(`f-${k}`);
    if (!input) continue;
    const v = input.type === 'checkbox' ? (input.checked ? '1' : '') : input.value.trim();
    if (v !== '') f[k] = v;
  }
  return f;
}

function writeForm(f) {
  for (const k of FIELDS) {
    const input = $(`f-${k}`);
    if (!input) continue;
    if (input.type === 'checkbox') input.checked = f[k] === '1';
    else input.value = f[k] ?? (k === 'range' ? '300' : '');
  }
}

function formFromURL() {
  const q = new URLSearchParams(location.search);
  const f = {};
  for (const k of FIELDS) if (q.get(k)) f[k] = q.get(k);
  return f;
}

function saveURL(f, tab) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) q.set(k, v);
  if (tab && tab !== 'flows') q.set('tab', tab);
  const s = q.toString();
  history.replaceState(null, '', s === '' ? location.pathname : `?${s}`);
}

/** The API filter (Goldmane's grammar) for the form's values. */
function apiFilter(f) {
  const type = f.fuzzy === '1' ? 'fuzzy' : 'exact';
  const out = {};
  const str = (key, v) => { if (v) out[key] = v.split(',').map((x) => ({ value: x.trim(), type })); };
  str('source_namespaces', f.srcNs);
  str('source_names', f.src);
  str('dest_namespaces', f.dstNs);
  str('dest_names', f.dst);
  if (f.action) out.actions = [f.action];
  if (f.pending) out.pending_actions = [f.pending];
  if (f.port) out.dest_ports = f.port.split(',').map((p) => Number(p.trim()));
  if (f.proto) out.protocols = [f.proto];
  if (f.reporter) out.reporters = [f.reporter];
  if (f.ip) out.ips = f.ip.split(',').map((x) => x.trim());
  if (f.policy) out.policies = f.policy.split(',').map((p) => {
    const parts = p.trim().split('/');
    return parts.length > 1 ? { tier: parts[0], name: parts.slice(1).join('/') } : { name: parts[0] };
  });
  return out;
}

function currentTab() {
  return new URLSearchParams(location.search).get('tab') || 'flows';
}

// ---- the flow table ---------------------------------------------------------------------------

function clock(s) {
  const d = new Date(s * 1000);
  return d.toLocaleTimeString([], { hour12: false }) + (Date.now() / 1000 - s > 86400 ? ` ${d.toISOString().slice(0, 10)}` : '');
}

function sideName(e) {
  if (e.type === 'net') return e.name === 'pub' ? 'PUBLIC NETWORK' : e.name === 'pvt' ? 'PRIVATE NETWORK' : e.name;
  const n = e.type === 'hep' ? `host ${e.name}` : e.type === 'ns' ? `netset ${e.name}` : e.name;
  return e.namespace ? `${e.namespace}/${n}` : n;
}

function hitText(h) {
  if (!h) return '—';
  if (h.kind === 'EndOfTier') return `${h.tier}: end of tier`;
  if (h.kind === 'Profile') return h.name === '__NO_MATCH__' ? 'no profile' : `profile ${h.name}`;
  return `${h.tier}/${h.namespace ? h.namespace + '/' : ''}${h.name} #${h.ruleIndex}`;
}

function pendingAction(f) {
  const p = f.policies.pending;
  return p.length ? p[p.length - 1].action : f.action;
}

function renderRow(f) {
  const tr = el('tr', `row-${f.action}`);
  tr.dataset.id = f.id;
  tr.dataset.action = f.action;
  const last = f.policies.enforced[f.policies.enforced.length - 1];
  const cells = [
    [clock(f.end)],
    [f.action, `act act-${f.action}`],
    [sideName(f.src)],
    [f.src.ips.join(', ') || '—', 'muted'],
    [sideName(f.dst)],
    [f.dst.ips.join(', ') || '—', 'muted'],
    [f.proto.toUpperCase()],
    [f.destPort || ''],
    [f.reporter],
    [hitText(last)],
    [pendingAction(f), `act act-${pendingAction(f)}`],
  ];
  for (const [t, cls] of cells) tr.append(el('td', cls, t));
  if (selected === f.id) tr.classList.add('selected');
  tr.addEventListener('click', () => openDrawer(f.id));
  return tr;
}

function redraw() {
  const body = $('flow-rows');
  const sorted = [...rows.values()].sort((a, b) => b.end - a.end || (a.id < b.id ? -1 : 1));
  body.replaceChildren(...sorted.map(renderRow));
  $('row-count').textContent = `${rows.size} flow${rows.size === 1 ? '' : 's'}`;
  $('waiting').classList.toggle('hidden', rows.size > 0);
}

let redrawPending = false;
function upsert(f) {
  rows.set(f.id, f);
  if (rows.size > MAX_ROWS) {
    const oldest = [...rows.values()].sort((a, b) => a.end - b.end).slice(0, rows.size - MAX_ROWS);
    for (const o of oldest) rows.delete(o.id);
  }
  // Streamed rows land in batches (as Whisker inserts them once a second), not one repaint each.
  if (!redrawPending) {
    redrawPending = true;
    setTimeout(() => { redrawPending = false; redraw(); }, 250);
  }
}

function setStatus(kind, text) {
  $('status-dot').className = `dot ${kind}`;
  $('status-text').textContent = text;
}

function query(f, extra) {
  const q = new URLSearchParams({ filter: JSON.stringify(apiFilter(f)), startTimeGte: String(-Number(f.range || 300)), ...extra });
  return q.toString();
}

let page = 0;
async function loadPage(f) {
  const r = await fetch(`/api/v1/flows?${query(f, { page: String(page), pageSize: '500' })}`);
  const body = await r.json();
  if (!r.ok) { setStatus('down', body.error ? body.error.message : r.statusText); return; }
  for (const fl of body.flows) rows.set(fl.id, fl);
  $('btn-more').classList.toggle('hidden', page + 1 >= body.meta.totalPages);
  redraw();
}

function connect() {
  disconnect();
  const f = readForm();
  const range = Number(f.range || 300);
  if (range > 3600) {
    // History beyond the live hour: pages from the store, no stream.
    setStatus('paused', 'history');
    page = 0;
    void loadPage(f);
    return;
  }
  $('btn-more').classList.add('hidden');
  source = new EventSource(`/api/v1/flows?watch=1&${query(f)}`);
  source.addEventListener('open', () => setStatus('live', 'live'));
  source.addEventListener('flow', (ev) => { if (!paused) upsert(JSON.parse(ev.data)); });
  source.addEventListener('error', () => setStatus('down', 'reconnecting…'));
}

function disconnect() {
  if (source) source.close();
  source = null;
}

function applyFilters() {
  const f = readForm();
  saveURL(f, currentTab());
  rows.clear();
  redraw();
  if (!paused) connect();
  refreshHints(f);
  if (currentTab() === 'graph') void loadGraph();
  if (currentTab() === 'stats') void loadStats();
}

function setPaused(p, reason) {
  paused = p;
  const b = $('btn-pause');
  b.textContent = p ? 'Play' : 'Pause';
  b.className = p ? 'play' : 'pause';
  if (p) { disconnect(); setStatus('paused', 'paused'); } else { connect(); }
  const t = $('toast');
  t.textContent = reason || '';
  t.classList.toggle('hidden', !reason);
}

async function refreshHints(f) {
  for (const type of ['source_namespace', 'source_name', 'dest_namespace', 'dest_name', 'policy_name']) {
    try {
      const r = await fetch(`/api/v1/filter-hints?type=${type}&startTimeGte=-3600`);
      if (!r.ok) continue;
      const { hints } = await r.json();
      $(`hints-${type}`).replaceChildren(...hints.map((h) => { const o = el('option'); o.value = h; return o; }));
    } catch { /* hints are a convenience */ }
  }
  void f;
}

// ---- drawer -----------------------------------------------------------------------------------

function traceRows(tbody, hits) {
  tbody.replaceChildren(...hits.map((h, i) => {
    const tr = el('tr');
    const name = h.kind === 'EndOfTier' ? '(end of tier)' : `${h.namespace ? h.namespace + '/' : ''}${h.name}`;
    const trig = h.trigger ? `${h.trigger.namespace ? h.trigger.namespace + '/' : ''}${h.trigger.name}` : '';
    for (const [t, cls] of [[i], [h.tier], [h.kind], [name], [h.ruleIndex < 0 ? 'default' : h.ruleIndex], [h.action, `act act-${h.action}`], [trig]]) tr.append(el('td', cls, t));
    return tr;
  }));
  if (hits.length === 0) {
    const tr = el('tr');
    tr.append(el('td', 'muted', 'none'));
    tbody.replaceChildren(tr);
  }
}

function openDrawer(id) {
  const f = rows.get(id);
  if (!f) return;
  selected = id;
  if (!paused) setPaused(true, 'Paused while a flow is open: close it to continue');
  $('drawer').classList.remove('hidden');
  $('drawer-title').textContent = `${sideName(f.src)} → ${sideName(f.dst)} ${f.proto.toUpperCase()}${f.destPort ? '/' + f.destPort : ''}`;
  const kv = [
    ['Action', f.action], ['Staged action', pendingAction(f)], ['Reporter', `${f.reporter} (node ${f.node})`],
    ['Start', new Date(f.start * 1000).toISOString()], ['End', new Date(f.end * 1000).toISOString()],
    ['Source', `${sideName(f.src)} (${f.src.type})`], ['Source IPs', f.src.ips.join(', ') || '—'], ['Source labels', f.src.labels.join(', ') || '—'],
    ['Destination', `${sideName(f.dst)} (${f.dst.type})`], ['Dest IPs', f.dst.ips.join(', ') || '—'], ['Dest labels', f.dst.labels.join(', ') || '—'],
    ['Service', f.service ? `${f.service.namespace}/${f.service.name}:${f.service.port}` : '—'],
    ['Packets in / out', `${f.stats.packetsIn} / ${f.stats.packetsOut}`], ['Bytes in / out', `${f.stats.bytesIn} / ${f.stats.bytesOut}`],
    ['Connections', `${f.stats.started} started, ${f.stats.completed} completed, ${f.stats.live} live`],
  ];
  $('detail-fields').tBodies[0].replaceChildren(...kv.map(([k, v]) => { const tr = el('tr'); tr.append(el('td', '', k), el('td', '', v)); return tr; }));
  traceRows($('enforced').tBodies[0], f.policies.enforced);
  traceRows($('pending').tBodies[0], f.policies.pending);
  $('drawer-json').textContent = JSON.stringify(f, null, 2);
  $('explain-out').classList.add('hidden');
  $('suggest-box').classList.add('hidden');
  $('btn-suggest').classList.toggle('hidden', f.action !== 'deny');
  $('stage-result').textContent = '';
  for (const tr of $('flow-rows').children) tr.classList.toggle('selected', tr.dataset.id === id);
}

function closeDrawer() {
  selected = null;
  $('drawer').classList.add('hidden');
  for (const tr of $('flow-rows').children) tr.classList.remove('selected');
  if (paused && !$('toast').classList.contains('hidden')) setPaused(false);
}

let lastExplain = null;
async function explainSelected(showSuggestion) {
  if (!selected) return;
  const r = await fetch(`/api/v1/flows/${encodeURIComponent(selected)}/explain`);
  const body = await r.json();
  lastExplain = body;
  const out = $('explain-out');
  out.classList.remove('hidden');
  if (!r.ok) { out.textContent = body.error ? body.error.message : r.statusText; return; }
  const lines = [];
  if (body.command) lines.push(`$ ${body.command}`);
  if (body.explain) {
    const e = body.explain;
    lines.push(`${e.verdict}: ${e.from} -> ${e.to} ${e.protocol}${e.port ? '/' + e.port : ''}`);
    for (const [dir, t] of [['egress', e.egress], ['ingress', e.ingress]]) {
      lines.push(`${dir} at ${t.endpoint ?? '(not an endpoint)'}: ${t.verdict} — ${t.reason}`);
      for (const s of t.steps) lines.push(`    ${s.profile ? 'profile ' + s.profile : [s.tier ? 'tier ' + s.tier : '', s.policy ? 'policy ' + s.policy : ''].filter(Boolean).join(', ')}${s.ruleIndex !== undefined ? ', rule ' + s.ruleIndex : ''}: ${s.result}`);
    }
  }
  if (body.note) lines.push(body.note);
  out.textContent = lines.join('\n');
  if (showSuggestion && body.suggestion) {
    $('suggest-box').classList.remove('hidden');
    $('suggest-yaml').textContent = body.suggestion.yaml;
  }
}

async function stageSuggestion() {
  if (!lastExplain || !lastExplain.suggestion) return;
  const r = await fetch('/api/v1/policies/stage', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(lastExplain.suggestion.resource) });
  const body = await r.json();
  $('stage-result').textContent = r.ok ? `staged ${body.staged.kind} ${body.staged.namespace ? body.staged.namespace + '/' : ''}${body.staged.name}: new flows show its effect as the pending trace` : `not staged: ${body.error.message}`;
}

// ---- graph and stats --------------------------------------------------------------------------

async function loadGraph(ns) {
  const f = readForm();
  const q = new URLSearchParams({ startTimeGte: String(-Number(f.range || 300)), filter: JSON.stringify(apiFilter(f)) });
  const all = await (await fetch(`/api/v1/graph?${q}`)).json();
  drawGraph(all.edges);
  const focus = ns ?? null;
  if (focus !== null) q.set('namespace', focus);
  const detail = focus === null ? all : await (await fetch(`/api/v1/graph?${q}`)).json();
  $('graph-title').textContent = focus === null ? 'Namespace to namespace' : `Workloads talking with namespace ${focus}`;
  $('graph-edges').tBodies[0].replaceChildren(...detail.edges.map((e) => {
    const tr = el('tr');
    for (const [t, cls] of [[e.source || '(outside)'], [e.dest || '(outside)'], [e.action, `act act-${e.action}`], [e.flows], [e.packets], [e.bytes]]) tr.append(el('td', cls, t));
    return tr;
  }));
}

function drawGraph(edges) {
  const svg = $('graph');
  const NS = 'http://www.w3.org/2000/svg';
  const names = [...new Set(edges.flatMap((e) => [e.source || '(outside)', e.dest || '(outside)']))].sort();
  const pos = new Map();
  names.forEach((n, i) => {
    const a = (2 * Math.PI * i) / Math.max(names.length, 1) - Math.PI / 2;
    pos.set(n, [400 + 200 * Math.cos(a), 260 + 200 * Math.sin(a)]);
  });
  const kids = [];
  const maxFlows = Math.max(1, ...edges.map((e) => e.flows));
  for (const e of edges) {
    const [x1, y1] = pos.get(e.source || '(outside)');
    const [x2, y2] = pos.get(e.dest || '(outside)');
    const line = document.createElementNS(NS, 'line');
    line.setAttribute('x1', x1); line.setAttribute('y1', y1); line.setAttribute('x2', x2); line.setAttribute('y2', y2);
    line.setAttribute('stroke-width', String(1 + (5 * e.flows) / maxFlows));
    line.setAttribute('class', `edge-${e.action}`);
    const title = document.createElementNS(NS, 'title');
    title.textContent = `${e.source} → ${e.dest}: ${e.action}, ${e.flows} flows`;
    line.append(title);
    kids.push(line);
  }
  for (const n of names) {
    const [x, y] = pos.get(n);
    const g = document.createElementNS(NS, 'g');
    g.setAttribute('class', 'ns-node');
    const c = document.createElementNS(NS, 'circle');
    c.setAttribute('cx', x); c.setAttribute('cy', y); c.setAttribute('r', '30');
    const t = document.createElementNS(NS, 'text');
    t.setAttribute('x', x); t.setAttribute('y', String(y + 4));
    t.textContent = n;
    g.append(c, t);
    g.addEventListener('click', () => void loadGraph(n === '(outside)' ? '' : n));
    kids.push(g);
  }
  svg.replaceChildren(...kids);
}

async function loadStats() {
  const f = readForm();
  const q = new URLSearchParams({ groupBy: 'rule', startTimeGte: String(-Number(f.range || 300)), filter: JSON.stringify(apiFilter(f)) });
  const body = await (await fetch(`/api/v1/stats?${q}`)).json();
  $('stats').tBodies[0].replaceChildren(...body.stats.map((s) => {
    const tr = el('tr');
    const name = s.kind === 'EndOfTier' ? '(end of tier)' : `${s.namespace ? s.namespace + '/' : ''}${s.name}`;
    for (const [t, cls] of [[s.tier], [s.kind], [name], [s.ruleIndex < 0 ? 'default' : s.ruleIndex], [s.action, `act act-${s.action}`], [s.flows], [s.connections], [s.packetsIn + s.packetsOut], [s.bytesIn + s.bytesOut]]) tr.append(el('td', cls, t));
    return tr;
  }));
}

function showTab(tab) {
  for (const b of document.querySelectorAll('.tab')) b.classList.toggle('active', b.dataset.tab === tab);
  for (const v of ['flows', 'graph', 'stats']) $(`view-${v}`).classList.toggle('hidden', v !== tab);
  saveURL(readForm(), tab);
  if (tab === 'graph') void loadGraph();
  if (tab === 'stats') void loadStats();
}

// ---- wiring -----------------------------------------------------------------------------------

function init() {
  writeForm(formFromURL());
  $('filters').addEventListener('change', applyFilters);
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); applyFilters(); });
  $('btn-denied').addEventListener('click', () => { $('f-action').value = 'deny'; applyFilters(); });
  $('btn-clear').addEventListener('click', () => { writeForm({}); applyFilters(); });
  $('btn-pause').addEventListener('click', () => setPaused(!paused));
  $('btn-more').addEventListener('click', () => { page++; void loadPage(readForm()); });
  $('drawer-close').addEventListener('click', closeDrawer);
  $('btn-explain').addEventListener('click', () => void explainSelected(false));
  $('btn-suggest').addEventListener('click', () => void explainSelected(true));
  $('btn-stage').addEventListener('click', () => void stageSuggestion());
  $('btn-copy').addEventListener('click', () => void navigator.clipboard?.writeText($('suggest-yaml').textContent));
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => showTab(b.dataset.tab));
  for (const b of document.querySelectorAll('.dtab')) b.addEventListener('click', () => {
    for (const x of document.querySelectorAll('.dtab')) x.classList.toggle('active', x === b);
    $('drawer-table').classList.toggle('hidden', b.dataset.dtab !== 'table');
    $('drawer-json').classList.toggle('hidden', b.dataset.dtab !== 'json');
  });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeDrawer(); });
  redraw();
  connect();
  refreshHints(readForm());
  if (currentTab() !== 'flows') showTab(currentTab());
}

init();
