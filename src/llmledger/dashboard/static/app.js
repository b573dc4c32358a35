/* llmledger dashboard: the shared core (formatting, colours, exact money, DOM, routing, API, panels, charts, tables)
 * and the router. The pages live in overview.js, live.js, explore.js and session.js and register in LL.pages.
 * Plain scripts, no build step; everything shared hangs off window.LL. */
'use strict';

(function () {
  const LL = (window.LL = { pages: {} });
  window.llmledgerCharts = {};

  const EMPTY_USAGE = 'No usage recorded in this range. Widen the range, send calls through the gateway (`/v1`, `/anthropic`) or an instrumented client, or run `llmledger demo` for a sample ledger.';
  LL.EMPTY_USAGE = EMPTY_USAGE;

  // ---------------------------------------------------------------- formatting

  const intFmt = new Intl.NumberFormat('en-US');
  const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
  const usd2 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2,
    maximumFractionDigits: 2 });
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  /** Money from the API's exact decimal string: $1,234.56 from $1 up, 4 significant digits below ($0.0042). */
  function money(value) {
    if (value === null || value === undefined || value === '') return '—';
    const x = typeof value === 'number' ? value : parseFloat(value);
    if (!Number.isFinite(x)) return String(value);
    const abs = Math.abs(x);
    if (abs === 0) return '$0.00';
    if (abs >= 1) return usd2.format(x);
    // 4 significant digits, at least 4 decimals so a column of small amounts lines up
    const decimals = Math.min(12, Math.max(4, Math.ceil(-Math.log10(abs)) + 3));
    let text = abs.toFixed(decimals);
    if (parseFloat(text) >= 1) return usd2.format(x);
    if (decimals > 4) text = text.replace(/0+$/, '').padEnd(6, '0'); // "0." and at least 4 decimals
    return (x < 0 ? '-$' : '$') + text;
  }

  /** Short money for chart axes: $1.2k, $35, $0.05. */
  function moneyAxis(value) {
    const x = Number(value);
    const abs = Math.abs(x);
    if (abs === 0) return '$0';
    if (abs >= 1000) return '$' + compactFmt.format(x);
    if (abs >= 10) return '$' + x.toFixed(0);
    if (abs >= 1) return '$' + x.toFixed(abs % 1 === 0 ? 0 : 1);
    return (x < 0 ? '-$' : '$') + String(Number(abs.toPrecision(2)));
  }

  const int = (n) => (n === null || n === undefined ? '—' : intFmt.format(n));
  const compact = (n) => (n === null || n === undefined ? '—' : compactFmt.format(n));

  /** A fraction ("0.4123" or 0.41) as a percentage. */
  function pct(fraction, digits = 1) {
    if (fraction === null || fraction === undefined || fraction === '') return '—';
    const x = parseFloat(fraction) * 100;
    if (!Number.isFinite(x)) return '—';
    return (x !== 0 && Math.abs(x) < 0.1 ? x.toFixed(2) : x.toFixed(digits)) + '%';
  }

  /** Parse an API time as UTC (a value without an offset is UTC). */
  function parseTime(iso) {
    if (!iso) return null;
    let s = String(iso);
    if (/^\d{4}-\d{2}-\d{2}$/.test(s)) s += 'T00:00:00Z';
    else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(s)) s += ':00Z';
    else if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(s)) s += 'Z';
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  const pad = (n) => String(n).padStart(2, '0');
  const ymd = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const hm = (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;

  /** 2026-11-23 14:05:09 (UTC; the column header says so). */
  function time(iso, { seconds = true } = {}) {
    const d = parseTime(iso);
    if (!d) return iso ? String(iso) : '—';
    return `${ymd(d)} ${hm(d)}${seconds ? ':' + pad(d.getUTCSeconds()) : ''}`;
  }
  function shortDate(d) { return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`; }

  /** Chart label for a day ("Nov 3") or an hour ("13:00") bucket. */
  function bucketLabel(bucket, unit) {
    const d = parseTime(bucket);
    if (!d) return String(bucket);
    return unit === 'hour' ? hm(d) : shortDate(d);
  }
  function bucketTitle(bucket, unit) {
    const d = parseTime(bucket);
    if (!d) return String(bucket);
    return unit === 'hour' ? `${ymd(d)} ${hm(d)} UTC` : `${ymd(d)} (UTC)`;
  }

  function duration(ms) {
    if (!Number.isFinite(ms) || ms < 0) return '—';
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    const m = Math.round(s / 60);
    if (m < 60) return `${m} min`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ${m % 60} min`;
    return `${Math.round(h / 24)} days`;
  }
  function ago(iso) {
    const d = parseTime(iso);
    return d ? duration(Date.now() - d.getTime()) + ' ago' : '—';
  }
  const name = (v) => (v === null || v === undefined || v === '' ? '(none)' : String(v));

  LL.fmt = { money, moneyAxis, int, compact, pct, time, parseTime, ymd, hm, shortDate, bucketLabel, bucketTitle,
    duration, ago, name };

  // ---------------------------------------------------------------- exact money

  // The API sends money as decimal strings; sums and differences shown as money are done exactly in BigInt
  // micro-micro-dollars (12 places), never in floats.
  const SCALE = 12;
  const ONE = 10n ** BigInt(SCALE);
  function dec(value) {
    if (value === null || value === undefined || value === '') return 0n;
    let s = String(value).trim();
    if (/e/i.test(s)) s = Number(s).toFixed(SCALE);
    const neg = s.startsWith('-');
    if (neg || s.startsWith('+')) s = s.slice(1);
    const [i, f = ''] = s.split('.');
    const v = BigInt(i || '0') * ONE + BigInt((f + '0'.repeat(SCALE)).slice(0, SCALE) || '0');
    return neg ? -v : v;
  }
  function decStr(v) {
    const neg = v < 0n;
    const a = neg ? -v : v;
    return `${neg ? '-' : ''}${a / ONE}.${(a % ONE).toString().padStart(SCALE, '0')}`;
  }
  const decSum = (values) => values.reduce((acc, v) => acc + dec(v), 0n);
  LL.dec = { parse: dec, str: decStr, sum: decSum };

  // ---------------------------------------------------------------- colours

  // One colour per series name everywhere: a fixed palette indexed by a stable hash of the name.
  const PALETTE = ['#3b7dd8', '#f08c2e', '#4fa35a', '#e05a5a', '#8f6cc4', '#2bb0ae', '#d9ad1f', '#e681ad', '#996650',
    '#2c4f8a'];
  const GRAY = '#a3abb6';
  function hash(text) { // FNV-1a, 32 bit
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }
  function color(seriesName) {
    if (seriesName === null || seriesName === undefined || seriesName === '' || seriesName === 'other'
        || seriesName === '(none)') return GRAY;
    return PALETTE[hash(String(seriesName)) % PALETTE.length];
  }
  /**
   * Colours for the series of one chart, in order: each name keeps its hue; a name whose hue an earlier series
   * already took gets a lighter or darker shade of it, so two series never look the same within a chart.
   */
  function assign(names) {
    const taken = new Map();
    return names.map((n) => {
      const base = color(n);
      if (base === GRAY) return GRAY;
      const k = taken.get(base) || 0;
      taken.set(base, k + 1);
      return shade(base, SHADES[k % SHADES.length]);
    });
  }
  const SHADES = [0, 0.45, -0.35, 0.7, -0.55];
  function shade(hex, t) {
    if (!t) return hex;
    const n = parseInt(hex.slice(1), 16);
    const mix = (c) => Math.round(t > 0 ? c + (255 - c) * t : c * (1 + t));
    const rgb = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(mix);
    return '#' + rgb.map((c) => c.toString(16).padStart(2, '0')).join('');
  }
  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }
  // The token parts are not series names; they keep fixed colours (inputs blue, outputs orange) on every page.
  const PARTS = {
    uncached: { label: 'Uncached input', color: '#2f6fbf' },
    cache_read: { label: 'Cache read', color: '#8fb8ec' },
    cache_write: { label: 'Cache write', color: '#5b5fc7' },
    output: { label: 'Output', color: '#ee8a2a' },
    reasoning: { label: 'Reasoning', color: '#f5c46b' },
  };
  LL.colors = { color, assign, alpha, GRAY, PALETTE, PARTS, hash };

  // ---------------------------------------------------------------- DOM

  /** h('a', {href, class, text, dataset, onclick}, ...children): attributes are set, never parsed as HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  /** Text with `code` spans, for messages that name a command. */
  function richText(text) {
    return String(text).split(/(`[^`]+`)/).filter(Boolean)
      .map((part) => (part.startsWith('`') ? h('code', { text: part.slice(1, -1) }) : part));
  }
  LL.dom = { h, append, richText };

  // ---------------------------------------------------------------- route and hash state

  const PAGES = ['overview', 'live', 'explore', 'session'];
  const GLOBAL_PARAMS = ['since', 'until', 'where'];

  function parseRoute() {
    const raw = location.hash.replace(/^#/, '');
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const parts = path.split('/').filter(Boolean);
    let page = parts[0] || 'overview';
    let id = null;
    if (page === 'sessions' && parts.length > 1) {
      page = 'session';
      id = parts.slice(1).join('/');
      try { id = decodeURIComponent(id); } catch (e) { /* a malformed escape: keep the id as typed */ }
    }
    if (!PAGES.includes(page) || page === 'session' && !id) page = 'overview';
    return { page, id, params };
  }

  /** The global selection (since, until, where) of the current hash. */
  function globalParams(params = LL.route.params) {
    const out = new URLSearchParams();
    for (const [k, v] of params) if (GLOBAL_PARAMS.includes(k)) out.append(k, v);
    return out;
  }
  function pageHref(page, params = globalParams()) {
    const qs = params.toString();
    return `#/${page}${qs ? '?' + qs : ''}`;
  }
  function sessionHref(id) {
    const qs = globalParams().toString();
    return `#/sessions/${encodeURIComponent(id)}${qs ? '?' + qs : ''}`;
  }
  /** Change some hash parameters (null removes one; an array sets a repeated one) and re-render. */
  function setParams(changes) {
    const r = LL.route;
    const params = new URLSearchParams(r.params);
    for (const [k, v] of Object.entries(changes)) {
      params.delete(k);
      if (v === null || v === undefined || v === '') continue;
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
    }
    const base = r.page === 'session' ? `#/sessions/${encodeURIComponent(r.id)}` : `#/${r.page}`;
    const qs = params.toString();
    location.hash = base + (qs ? '?' + qs : '');
  }
  LL.routes = { parseRoute, globalParams, pageHref, sessionHref, setParams };

  /** The API selection for the current view: since/until/where plus extra parameters. */
  function selection(extra = {}, { withRange = true } = {}) {
    const q = new URLSearchParams();
    const p = LL.route.params;
    if (withRange) {
      if (p.get('since')) q.set('since', p.get('since'));
      if (p.get('until')) q.set('until', p.get('until'));
    }
    for (const w of p.getAll('where')) q.append('where', w);
    for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
    return q;
  }
  LL.selection = selection;

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(message, type, status) {
      super(message);
      this.type = type || 'error';
      this.status = status || 0;
    }
  }
  const apiUrl = (path, query) => {
    const qs = query ? query.toString() : '';
    return `/api/v1${path}${qs ? '?' + qs : ''}`;
  };
  /** The same request as a download (format=csv or parquet). */
  function exportUrl(path, query, format = 'csv') {
    const q = new URLSearchParams(query || '');
    q.delete('cursor');
    q.set('format', format);
    return apiUrl(path, q);
  }
  async function api(path, query, signal) {
    let res;
    try {
      res = await fetch(apiUrl(path, query), { credentials: 'same-origin', signal, headers: { Accept: 'application/json' } });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(`Could not reach the llmledger server: ${e.message}.`, 'network');
    }
    if (res.status === 401) {
      location.href = '/login';
      throw new ApiError('Your session has ended; log in again.', 'unauthorized', 401);
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const msg = body && body.error && body.error.message;
      throw new ApiError(msg || `The server answered HTTP ${res.status} ${res.statusText}.`.replace(' .', '.'),
        body && body.error && body.error.type, res.status);
    }
    if (body === null) throw new ApiError(`${apiUrl(path)} did not answer with JSON.`, 'bad_response', res.status);
    return body;
  }
  LL.api = { api, apiUrl, exportUrl, ApiError };

  // ---------------------------------------------------------------- panels

  /**
   * A panel: <section class="panel" data-panel=name data-state=...> with a title, tools (controls, export links),
   * a status line (loading / empty / error message) and a body.
   */
  function panel(parent, panelName, { title, unit, span = 12, tools = [], statusHeight } = {}) {
    const unitEl = h('span', { class: 'unit', text: unit || '' });
    const titleEl = h('h2', { text: title });
    const toolsEl = h('div', { class: 'panel-tools' }, tools);
    const status = h('div', { class: 'panel-status', role: 'status' });
    const body = h('div', { class: 'panel-body' });
    const el = h('section', { class: `panel span-${span}`, 'data-panel': panelName, 'data-state': 'loading',
      'aria-busy': 'true' },
    h('header', { class: 'panel-head' }, h('div', { class: 'panel-title' }, titleEl, unitEl), toolsEl),
    status, body);
    if (statusHeight) el.style.setProperty('--status-height', `${statusHeight}px`);
    parent.append(el);
    const p = {
      name: panelName, el, body, tools: toolsEl,
      setTitle(text, unitText) { titleEl.textContent = text; if (unitText !== undefined) unitEl.textContent = unitText; },
      setState(state, message) {
        el.dataset.state = state;
        el.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
        status.replaceChildren();
        if (state === 'loading') status.append(message || 'Loading…');
        else if (state === 'empty' || state === 'error') status.append(h('span', {}, richText(message || '')));
        if (state !== 'ready') { destroyCharts(panelName); body.replaceChildren(); }
      },
      /** Export links for the panel's data (replaces earlier ones). */
      setExports(path, query, formats = ['csv']) {
        for (const a of toolsEl.querySelectorAll('[data-export]')) a.remove();
        for (const f of formats) toolsEl.append(exportLink(path, query, f));
      },
    };
    p.setState('loading');
    return p;
  }
  function exportLink(path, query, format = 'csv') {
    return h('a', { class: 'export', 'data-export': format, href: exportUrl(path, query, format), download: '',
      title: `Download this data as ${format.toUpperCase()}` }, format === 'csv' ? 'CSV' : 'Parquet');
  }

  /**
   * Load a panel: show loading, fetch, then render (ready), the empty message, or the API's error message.
   * `quiet` (auto-refresh) keeps what is shown until the new data is in.
   */
  async function fill(p, ctx, fetcher, render, { isEmpty, empty = EMPTY_USAGE, quiet = false } = {}) {
    if (!quiet || p.el.dataset.state !== 'ready') p.setState('loading');
    let data;
    try {
      data = await fetcher();
    } catch (e) {
      if (!ctx.alive() || e.name === 'AbortError') return;
      if (!(e instanceof ApiError)) console.error(e);
      p.setState('error', e.message);
      return;
    }
    if (!ctx.alive()) return;
    try {
      if (isEmpty && isEmpty(data)) {
        p.setState('empty', typeof empty === 'function' ? empty(data) : empty);
        return;
      }
      const keepCharts = quiet && p.el.dataset.state === 'ready' && hasCharts(p.name);
      if (!keepCharts) { destroyCharts(p.name); p.body.replaceChildren(); }
      p.setState('ready'); // before drawing, so charts measure a visible box (render is synchronous)
      render(data, { refresh: keepCharts });
    } catch (e) {
      console.error(e);
      p.setState('error', `This panel could not be drawn: ${e.message}`);
    }
  }
  LL.panel = panel;
  LL.fill = fill;
  LL.exportLink = exportLink;

  // ---------------------------------------------------------------- charts

  function chartDefaults() {
    const C = window.Chart;
    C.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    C.defaults.font.size = 11;
    C.defaults.color = '#5f6b7a';
    C.defaults.borderColor = '#eceef2';
    C.defaults.animation = false;
    C.defaults.responsive = true;
    C.defaults.maintainAspectRatio = false;
    C.defaults.plugins.legend.position = 'bottom';
    C.defaults.plugins.legend.labels.boxWidth = 10;
    C.defaults.plugins.legend.labels.boxHeight = 10;
    C.defaults.plugins.legend.labels.padding = 10;
    C.defaults.plugins.tooltip.backgroundColor = 'rgba(17, 24, 39, 0.92)';
    C.defaults.plugins.tooltip.padding = 8;
    C.defaults.plugins.tooltip.boxPadding = 4;
    C.defaults.plugins.tooltip.titleFont = { weight: '600' };
    C.defaults.elements.bar.borderRadius = 0;
    C.defaults.elements.point.radius = 0;
    C.defaults.elements.point.hoverRadius = 4;
    C.defaults.elements.line.borderWidth = 2;
    C.defaults.interaction = { mode: 'index', intersect: false };
  }

  /** A Chart.js chart in a new box under `parent`, reachable as window.llmledgerCharts[key]. */
  function chart(key, parent, config, { boxClass = '', label = '' } = {}) {
    destroyChart(key);
    const canvas = h('canvas', { 'data-chart': key, role: 'img', 'aria-label': label || key });
    parent.append(h('div', { class: `chart-box ${boxClass}`.trim() }, canvas));
    const instance = new window.Chart(canvas, config);
    window.llmledgerCharts[key] = instance;
    return instance;
  }
  function destroyChart(key) {
    const c = window.llmledgerCharts[key];
    if (c) { c.destroy(); delete window.llmledgerCharts[key]; }
  }
  const ownsChart = (panelName, key) => key === panelName || key.startsWith(panelName + ':');
  const hasCharts = (panelName) => Object.keys(window.llmledgerCharts).some((k) => ownsChart(panelName, k));
  /** Destroy the charts of one panel (its name, or name:suffix), or all of them. */
  function destroyCharts(panelName) {
    for (const key of Object.keys(window.llmledgerCharts)) {
      if (!panelName || ownsChart(panelName, key)) destroyChart(key);
    }
  }
  const moneyTooltip = (ctx) => `${ctx.dataset.label}: ${money(ctx.raw)}`;
  const moneyAxisOptions = (title) => ({
    beginAtZero: true,
    ticks: { callback: (v) => moneyAxis(v), maxTicksLimit: 6 },
    title: { display: Boolean(title), text: title },
  });
  const num = (v) => (v === null || v === undefined ? null : parseFloat(v));
  LL.charts = { chart, destroyChart, destroyCharts, moneyTooltip, moneyAxisOptions, num };

  // ---------------------------------------------------------------- tables

  /**
   * <table data-table=name> with one <tr data-row> per row. columns: {label, value(row) -> text|Node, num, cls,
   * title, optional (hidden in narrow panels)}. `foot`: a row of cells (or a list of rows) for <tfoot>.
   */
  function table(tableName, columns, rows, { foot, rowAttrs } = {}) {
    const head = h('tr', {}, columns.map((c) => h('th', { class: [c.num ? 'num' : '', c.optional ? 'opt' : '']
      .join(' ').trim() || null, title: c.title, scope: 'col' }, c.label)));
    const t = h('table', { class: 'data', 'data-table': tableName }, h('thead', {}, head),
      h('tbody', {}, tableRows(columns, rows, rowAttrs)));
    if (foot) {
      const footRows = Array.isArray(foot[0]) ? foot : [foot];
      t.append(h('tfoot', {}, footRows.map((f) => h('tr', {}, columns.map((c, i) => cell(c, f[i]))))));
    }
    return h('div', { class: 'table-wrap' }, t);
  }
  /** The <tr data-row> elements for rows (also used to append a next page to a table). */
  function tableRows(columns, rows, rowAttrs, offset = 0) {
    return rows.map((row, i) => h('tr', Object.assign({ 'data-row': '' }, rowAttrs ? rowAttrs(row, i + offset) : {}),
      columns.map((c) => cell(c, c.value(row, i + offset)))));
  }
  function cell(column, content) {
    const td = h('td', { class: [column.num ? 'num' : '', column.cls || '', column.optional ? 'opt' : ''].join(' ').trim()
      || null });
    if (content !== null && content !== undefined) append(td, [content]);
    return td;
  }
  /** A dimension value cell: "(none)" for null, with a colour swatch when asked (true: the name's colour). */
  function nameCell(value, { swatch = false } = {}) {
    const text = name(value);
    return h('span', { title: text }, swatch ? swatchEl(value, typeof swatch === 'string' ? swatch : null) : null,
      h('span', { class: value === null || value === undefined || value === '' ? 'none' : null, text }));
  }
  /** A money cell: exact value on hover. */
  function moneyCell(value) {
    if (value === null || value === undefined) return h('span', { class: 'faint', text: '—' });
    return h('span', { title: `$${value}`, 'data-value': value, text: money(value) });
  }
  /** A row's spend: never a silent $0 — calls with no price say so. */
  function spendCell(row) {
    if (row.unpriced && row.unpriced >= row.requests) {
      return badge('unpriced', 'warn', `${row.unpriced} call(s) with no known price: not in the totals`);
    }
    const cellEl = moneyCell(row.cost);
    return row.unpriced ? [cellEl, ' ', badge(`+${row.unpriced} unpriced`, 'warn',
      `${row.unpriced} call(s) with no known price are not in this amount`)] : cellEl;
  }
  function badge(text, kind = 'gray', title) { return h('span', { class: `badge ${kind}`, title, text }); }
  // colours are set through the CSSOM, never as style attributes, so a strict CSP can forbid inline styles
  function swatchEl(seriesName, fixedColor) {
    const s = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    s.style.background = fixedColor || color(seriesName);
    return s;
  }
  function shareBar(fraction) {
    const b = h('span', { class: 'share-bar', 'aria-hidden': 'true' });
    b.style.width = `${Math.max(1, Math.round(Math.min(1, fraction) * 48))}px`;
    return b;
  }
  LL.tables = { table, tableRows, nameCell, moneyCell, spendCell, badge, swatch: swatchEl, shareBar };

  /** Inline SVG sparkline of a series of numbers. */
  function sparkline(values, { width = 90, height = 20, hot = false } = {}) {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', `spark${hot ? ' hot' : ''}`);
    svg.setAttribute('width', width);
    svg.setAttribute('height', height);
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('aria-hidden', 'true');
    if (!values || values.length === 0) return svg;
    const max = Math.max(...values, 1);
    const step = values.length > 1 ? (width - 2) / (values.length - 1) : 0;
    const pts = values.map((v, i) => [1 + i * step, height - 1 - (v / max) * (height - 2)]);
    if (pts.length === 1) pts.push([width - 1, pts[0][1]]);
    const line = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
    const area = document.createElementNS(NS, 'path');
    area.setAttribute('class', 'spark-area');
    area.setAttribute('d', `${line} L${pts[pts.length - 1][0].toFixed(1)},${height} L${pts[0][0].toFixed(1)},${height} Z`);
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('d', line);
    svg.append(area, path);
    return svg;
  }
  LL.sparkline = sparkline;

  // ---------------------------------------------------------------- header: range picker, user, filter strip

  const RANGES = ['24h', '7d', '30d', '90d'];
  const DAY_MS = 86400000;
  const isDate = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s || '');
  const addDays = (s, n) => ymd(new Date(parseTime(s).getTime() + n * DAY_MS));

  function bindHeader() {
    for (const b of document.querySelectorAll('[data-range]')) {
      b.addEventListener('click', () => setParams({ since: b.dataset.range === '30d' ? null : b.dataset.range,
        until: null }));
    }
    for (const input of document.querySelectorAll('[data-range-input]')) {
      input.addEventListener('change', onDateInput);
    }
  }
  // The "to" date is inclusive for people; the API's `until` is exclusive, so it is sent as the next day.
  function onDateInput() {
    const since = document.querySelector('[data-range-input="since"]').value;
    const until = document.querySelector('[data-range-input="until"]').value;
    setParams({ since: since || (until ? addDays(until, -30) : null), until: until ? addDays(until, 1) : null });
  }
  function renderHeader() {
    const { page, params } = LL.route;
    document.body.dataset.page = page;
    for (const a of document.querySelectorAll('[data-nav]')) {
      a.href = pageHref(a.dataset.nav);
      if (a.dataset.nav === page || (page === 'session' && a.dataset.nav === 'explore')) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const since = params.get('since') || '30d';
    const until = params.get('until');
    const rangeOff = page === 'live' || page === 'session';
    const picker = document.querySelector('[data-range-picker]');
    picker.classList.toggle('is-disabled', rangeOff);
    picker.title = rangeOff ? (page === 'live' ? 'Live always shows the last hours; pick them on the page.'
      : 'A session is shown whole, whatever the range.') : '';
    for (const b of picker.querySelectorAll('[data-range]')) {
      b.disabled = rangeOff;
      b.setAttribute('aria-pressed', String(!until && b.dataset.range === since));
    }
    const sinceInput = picker.querySelector('[data-range-input="since"]');
    const untilInput = picker.querySelector('[data-range-input="until"]');
    sinceInput.disabled = untilInput.disabled = rangeOff;
    sinceInput.value = isDate(since) ? since : (isDate((since || '').slice(0, 10)) ? since.slice(0, 10) : '');
    untilInput.value = isDate(until) ? addDays(until, -1) : (until && isDate(until.slice(0, 10)) ? until.slice(0, 10) : '');
    renderUser();
    renderContext();
  }
  function renderUser() {
    const el = document.querySelector('[data-user]');
    const me = LL.me;
    if (!me) { el.replaceChildren(); return; }
    el.replaceChildren(h('strong', { text: me.user }),
      me.role === 'tenant' ? ` · tenant ${me.tenant}, read-only` : (me.role && me.role !== me.user ? ` · ${me.role}` : ''));
  }

  /** Active where filters as removable chips under the top bar (the Explore page has the builder). */
  function renderContext() {
    const el = document.querySelector('[data-context]');
    const { page, params } = LL.route;
    const where = params.getAll('where');
    el.replaceChildren();
    if (page === 'explore' || (where.length === 0 && !(LL.me && LL.me.role === 'tenant'))) return;
    if (page === 'session') {
      el.append(h('span', { class: 'context-label', text: 'A session is shown whole; filters and the range do not apply.' }));
      return;
    }
    append(el, [h('span', { class: 'context-label', text: 'Filtered:' }), filterChips(where),
      where.length ? h('a', { href: pageHref('explore'), text: 'edit in Explore' }) : null]);
  }
  /** Chips for where filters, each with a remove button; a tenant user's fixed tenant comes first. */
  function filterChips(where) {
    const chips = h('div', { class: 'chips' });
    if (LL.me && LL.me.role === 'tenant') {
      chips.append(h('span', { class: 'chip fixed', 'data-chip-fixed': `tenant=${LL.me.tenant}`,
        title: 'Set by your login' }, `tenant = ${LL.me.tenant}`));
    }
    for (const w of where) {
      const m = /^([^!=]+)(!=|=)(.*)$/.exec(w);
      const label = m ? [h('span', { text: m[1] }), h('span', { class: 'op', text: m[2] === '!=' ? ' ≠ ' : ' = ' }),
        h('span', { text: m[3] === '' ? '(none)' : m[3] })] : [w];
      chips.append(h('span', { class: 'chip', 'data-chip': w }, label,
        h('button', { type: 'button', 'data-chip-remove': w, 'aria-label': `Remove filter ${w}`, title: 'Remove filter',
          onclick: () => removeWhere(w) }, '×')));
    }
    return chips;
  }
  function addWhere(w) {
    const where = LL.route.params.getAll('where');
    if (!where.includes(w)) setParams({ where: [...where, w] });
  }
  function removeWhere(w) {
    setParams({ where: LL.route.params.getAll('where').filter((x) => x !== w) });
  }
  LL.filters = { filterChips, addWhere, removeWhere };

  /** A <select> of options ([value, label] or value) with one selected. */
  function select(attrs, options, selected, onchange) {
    const s = h('select', attrs, options.map((o) => {
      const [value, label] = Array.isArray(o) ? o : [o, o];
      return h('option', { value, selected: value === selected }, label);
    }));
    if (onchange) s.addEventListener('change', () => onchange(s.value));
    return s;
  }
  LL.dom.select = select;

  /** Range text for panel subtitles, e.g. "last 30 days" or "2026-11-01 to 2026-11-14". */
  function rangeLabel() {
    const p = LL.route.params;
    const since = p.get('since') || '30d';
    const until = p.get('until');
    const m = /^(\d+)([hd])$/.exec(since);
    let text = m ? `last ${m[1]} ${m[2] === 'h' ? 'hours' : (m[1] === '1' ? 'day' : 'days')}` : `from ${since.replace('T', ' ')}`;
    if (until) text = isDate(since) && isDate(until) ? `${since} to ${addDays(until, -1)}` : `${text} until ${until}`;
    return text;
  }
  /** Whether the range is short enough for hourly buckets (48 h or less). */
  function hourly() {
    const p = LL.route.params;
    if (p.get('until')) return false;
    const m = /^(\d+)h$/.exec(p.get('since') || '');
    return Boolean(m && Number(m[1]) <= 48);
  }
  LL.rangeLabel = rangeLabel;
  LL.hourly = hourly;

  // ---------------------------------------------------------------- router

  let current = null; // { controller, timers, gen }
  let generation = 0;

  /** What a page's render gets: its root, an alive() check, a memoising get(), and timers cleaned on leave. */
  function makeContext(main) {
    const gen = ++generation;
    const controller = new AbortController();
    const cache = new Map();
    const timers = [];
    const ctx = {
      main,
      route: LL.route,
      me: LL.me,
      alive: () => gen === generation,
      signal: controller.signal,
      get(path, query) {
        const key = apiUrl(path, query);
        if (!cache.has(key)) cache.set(key, api(path, query, controller.signal));
        return cache.get(key);
      },
      fresh(path, query) { return api(path, query, controller.signal); },
      every(ms, fn) { timers.push(setInterval(() => { if (!document.hidden && ctx.alive()) fn(); }, ms)); },
      dispose() { controller.abort(); timers.forEach(clearInterval); },
    };
    return ctx;
  }

  function render() {
    LL.route = parseRoute();
    if (current) current.dispose();
    destroyCharts();
    renderHeader();
    const main = document.getElementById('main');
    main.replaceChildren();
    window.scrollTo(0, 0);
    current = makeContext(main);
    const page = LL.pages[LL.route.page];
    page(current);
  }

  async function boot() {
    chartDefaults();
    bindHeader();
    LL.route = parseRoute();
    try {
      LL.me = await api('/me');
    } catch (e) {
      if (e.status === 401) return;
      LL.me = null;
      const main = document.getElementById('main');
      main.replaceChildren(h('section', { class: 'panel span-12', 'data-panel': 'app-error', 'data-state': 'error' },
        h('div', { class: 'panel-status', role: 'alert', text: `The dashboard could not start: ${e.message}` })));
      return;
    }
    window.addEventListener('hashchange', render);
    render();
  }
  document.addEventListener('DOMContentLoaded', boot);
})();
