/* Explore: filter, group, and look at single requests and sessions, for engineers. */
'use strict';

(function () {
  const { h, select, richText } = LL.dom;
  const F = LL.fmt;
  const { table, tableRows, nameCell, moneyCell, spendCell, badge, swatch, shareBar } = LL.tables;
  const { chart, moneyAxisOptions, num } = LL.charts;
  const { assign, GRAY } = LL.colors;
  const D = LL.dec;

  // Offered before /dimensions answers (custom tag names are added when it does).
  const STANDARD_DIMS = ['provider', 'model', 'tenant', 'team', 'feature', 'user', 'environment', 'prompt_version',
    'status', 'cost_status', 'source', 'session', 'key'];
  const DEFAULT_BY = 'feature,model';
  const PIVOT_COLUMNS = 6; // second-dimension values shown as columns; the rest are summed as "other"
  const CHART_ROWS = 15;
  const CHART_STACKS = 8;
  const OUTCOMES_EMPTY = 'No outcome events yet. Record one with `llmledger.outcome("ticket_resolved")` inside a '
    + 'session (see README).';

  LL.pages.explore = function explore(ctx) {
    const tenantUser = Boolean(ctx.me && ctx.me.role === 'tenant');
    const dims = ctx.get('/dimensions', LL.selection());
    filters(ctx, dims, tenantUser);
    breakdown(ctx, dims, tenantUser);
    requests(ctx);
    sessions(ctx, tenantUser);
    histograms(ctx);
    outcomes(ctx, tenantUser);
  };

  const allowed = (tenantUser) => (d) => !(tenantUser && d === 'tenant');

  // ---------------------------------------------------------------- filter builder

  function filters(ctx, dimsPromise, tenantUser) {
    const where = ctx.route.params.getAll('where');
    const p = LL.panel(ctx.main, 'explore-filters', { title: 'Filters', unit: `${LL.rangeLabel()} · apply to every panel`,
      statusHeight: 34 });
    // the chips stay visible in every state, so a filter the server rejects can still be removed
    const chips = h('div', { class: 'chips-row' },
      where.length || tenantUser ? LL.filters.filterChips(where)
        : h('span', { class: 'muted', text: 'No filters: every call in the range.' }),
      where.length ? h('button', { type: 'button', class: 'link-btn', 'data-filter': 'clear',
        onclick: () => LL.routes.setParams({ where: null }) }, 'Clear all') : null);
    p.el.append(chips);
    LL.fill(p, ctx, () => dimsPromise, (d) => {
      const names = (d.dimensions || STANDARD_DIMS).filter(allowed(tenantUser));
      const values = d.values || {};
      const dimSel = select({ 'data-filter': 'dimension', id: 'filter-dimension', 'aria-label': 'Dimension' }, names,
        names.includes('model') ? 'model' : names[0]);
      const opSel = select({ 'data-filter': 'op', 'aria-label': 'Operator' }, [['=', 'is'], ['!=', 'is not']], '=');
      const list = h('datalist', { id: 'filter-values' });
      const input = h('input', { 'data-filter': 'value', list: 'filter-values', placeholder: 'value', autocomplete: 'off',
        'aria-label': 'Value', spellcheck: 'false' });
      const fillList = () => list.replaceChildren(...(values[dimSel.value] || [])
        .filter((v) => v !== null).map((v) => h('option', { value: v })));
      dimSel.addEventListener('change', () => { fillList(); input.value = ''; input.focus(); });
      fillList();
      const add = () => {
        const v = input.value.trim();
        if (!v) { input.focus(); return; }
        LL.filters.addWhere(`${dimSel.value}${opSel.value}${v}`);
      };
      input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); add(); } });
      p.body.append(h('div', { class: 'toolbar' }, h('label', { for: 'filter-dimension', text: 'Where' }), dimSel, opSel, input, list,
        h('button', { type: 'button', class: 'btn primary', 'data-filter': 'add', onclick: add }, 'Add filter')));
    });
  }

  // ---------------------------------------------------------------- group by: chart and table

  function breakdown(ctx, dimsPromise, tenantUser) {
    const by = (ctx.route.params.get('by') || DEFAULT_BY).split(',').filter(Boolean).slice(0, 2);
    const names = [...new Set([...STANDARD_DIMS, ...by])].filter(allowed(tenantUser));
    const onChange = () => {
      const a = g1.value;
      const b = g2.value && g2.value !== a ? g2.value : '';
      const value = [a, b].filter(Boolean).join(',');
      LL.routes.setParams({ by: value === DEFAULT_BY ? null : value });
    };
    const g1 = select({ 'data-groupby': '1', 'aria-label': 'Group by' }, names, by[0], onChange);
    const g2 = select({ 'data-groupby': '2', 'aria-label': 'Then by' }, [['', '(nothing)'], ...names], by[1] || '',
      onChange);
    // custom tag names join the selects once /dimensions answers
    dimsPromise.then((d) => {
      for (const n of (d.dimensions || []).filter(allowed(tenantUser))) {
        if (!names.includes(n)) { names.push(n); g1.append(h('option', { value: n }, n)); g2.append(h('option', { value: n }, n)); }
      }
    }, () => {});
    const title = by[1] ? `Cost by ${by[0]} and ${by[1]}` : `Cost by ${by[0]}`;
    const p = LL.panel(ctx.main, 'explore-breakdown', { title, unit: 'USD',
      tools: [h('label', {}, 'group by ', g1), h('label', {}, 'then ', g2)], statusHeight: 240 });
    const q = LL.selection({ by: by.join(','), limit: 100 });
    p.setExports('/breakdown', q);
    LL.fill(p, ctx, () => ctx.get('/breakdown', q), (b) => {
      const dims = b.by && b.by.length ? b.by : by;
      if (dims.length > 1) renderPivot(p, b, dims[0], dims[1]);
      else renderSingle(p, b, dims[0]);
      if (b.truncated) {
        p.body.append(h('p', { class: 'note', text: `Showing the ${b.rows.length} costliest rows; add a filter to narrow.` }));
      }
    }, { isEmpty: (b) => !b.rows.length });
  }

  function barBox(parent, rows) {
    const box = h('div');
    parent.append(box);
    return { box, height: Math.max(140, rows * 24 + 50) };
  }

  function renderSingle(p, b, dim) {
    const rows = b.rows;
    const totalF = parseFloat(b.total.cost) || 0;
    const shown = rows.slice(0, CHART_ROWS);
    const colors = assign(rows.map((r) => r[dim]));
    const { box, height } = barBox(p.body, shown.length);
    const c = chart('explore-breakdown', box, {
      type: 'bar',
      data: { labels: shown.map((r) => F.name(r[dim])), datasets: [{ label: 'USD', data: shown.map((r) => num(r.cost)),
        backgroundColor: colors.slice(0, shown.length), borderWidth: 0, maxBarThickness: 18 }] },
      options: {
        indexAxis: 'y',
        scales: { x: moneyAxisOptions('USD'), y: { grid: { display: false } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: {
          label: (it) => `${F.money(it.raw)} (${F.pct(totalF ? it.raw / totalF : 0)})` } } },
      },
    }, { label: `Cost by ${dim}` });
    c.canvas.parentNode.style.height = `${height}px`;
    const top = rows.length ? parseFloat(rows[0].cost) || 1 : 1;
    p.body.append(h('div', { class: 'section' }, table('breakdown', [
      { label: dim, cls: 'name', value: (r, i) => nameCell(r[dim], { swatch: colors[i] }) },
      { label: 'USD', num: true, value: (r) => [shareBar(parseFloat(r.cost) / top), spendCell(r)] },
      { label: 'Share', num: true, value: (r) => F.pct(totalF ? parseFloat(r.cost) / totalF : 0) },
      ...metricColumns(),
    ], rows, { rowAttrs: (r) => ({ 'data-key': F.name(r[dim]) }),
      foot: ['Total', moneyCell(b.total.cost), '100%', ...metricFoot(b.total)] })));
  }

  function metricColumns() {
    return [
      { label: 'Requests', num: true, value: (r) => F.int(r.requests) },
      { label: 'Input tokens', num: true, value: (r) => F.int(r.input_tokens) },
      { label: 'Cached', num: true, value: (r) => F.pct(r.cached_share, 0), title: 'Share of input read from cache' },
      { label: 'Output tokens', num: true, value: (r) => F.int(r.output_tokens) },
      { label: 'Reasoning', num: true, value: (r) => F.int(r.reasoning_tokens), title: 'Part of the output tokens' },
      { label: 'USD / request', num: true, title: 'Average over the calls with a price', value: (r) => moneyCell(perRequest(r)) },
      { label: 'Unpriced', num: true, value: (r) => (r.unpriced ? badge(F.int(r.unpriced), 'warn', 'Calls with no price, not in the cost') : zero()) },
      { label: 'Failed', num: true, value: (r) => (r.errors ? F.int(r.errors) : zero()) },
    ];
  }
  function perRequest(r) {
    const priced = r.requests - (r.unpriced || 0);
    return priced > 0 ? D.str(D.parse(r.cost) / BigInt(priced)) : null;
  }
  function metricFoot(t) { return metricColumns().map((c) => c.value(t)); }
  const zero = () => h('span', { class: 'faint', text: '0' });

  /** Rows are the first dimension; the costliest values of the second are columns, the rest "other". */
  function pivot(rows, d1, d2) {
    const key = (v) => (v === null || v === undefined ? '\u0000' : String(v));
    const byRow = new Map();
    const byCol = new Map();
    for (const r of rows) {
      const k1 = key(r[d1]);
      const k2 = key(r[d2]);
      if (!byRow.has(k1)) byRow.set(k1, { value: r[d1], total: 0n, requests: 0, unpriced: 0, tokens: 0, cells: new Map() });
      const row = byRow.get(k1);
      const cost = D.parse(r.cost);
      row.total += cost;
      row.requests += r.requests;
      row.unpriced += r.unpriced || 0;
      row.tokens += r.input_tokens + r.output_tokens;
      if (!row.cells.has(k2)) row.cells.set(k2, { cost: 0n, requests: 0, unpriced: 0 });
      addTo(row.cells.get(k2), cost, r);
      if (!byCol.has(k2)) byCol.set(k2, { key: k2, value: r[d2], total: 0n, requests: 0, unpriced: 0 });
      const col = byCol.get(k2);
      col.total += cost;
      col.requests += r.requests;
      col.unpriced += r.unpriced || 0;
    }
    const desc = (a, b) => (a.total < b.total ? 1 : (a.total > b.total ? -1 : 0));
    const cols = [...byCol.values()].sort(desc);
    return { rows: [...byRow.values()].sort(desc), cols: cols.slice(0, PIVOT_COLUMNS), rest: cols.slice(PIVOT_COLUMNS) };
  }

  function addTo(cellSum, cost, r) {
    cellSum.cost += cost;
    cellSum.requests += r.requests;
    cellSum.unpriced += r.unpriced || 0;
    return cellSum;
  }
  /** The sum of some cells of a row (or of the columns' totals), in the shape spendCell reads. */
  function sumCells(items) {
    const out = { cost: 0n, requests: 0, unpriced: 0 };
    for (const c of items) if (c) addTo(out, c.cost, c);
    return out;
  }

  function renderPivot(p, b, d1, d2) {
    const pv = pivot(b.rows, d1, d2);
    // chart: the costliest first-dimension values, stacked by the costliest second-dimension values
    const shown = pv.rows.slice(0, CHART_ROWS);
    const stacks = [...pv.cols, ...pv.rest].slice(0, CHART_STACKS);
    const others = [...pv.cols, ...pv.rest].slice(CHART_STACKS);
    const colors = assign(stacks.map((c) => c.value));
    const cellCost = (r, c) => (r.cells.has(c.key) ? r.cells.get(c.key).cost : 0n);
    const datasets = stacks.map((c, i) => ({ label: F.name(c.value), data: shown.map((r) => num(D.str(cellCost(r, c)))),
      backgroundColor: colors[i], borderWidth: 0, maxBarThickness: 18 }));
    if (others.length) {
      datasets.push({ label: 'other', backgroundColor: GRAY, borderWidth: 0, maxBarThickness: 18,
        data: shown.map((r) => num(D.str(others.reduce((a, c) => a + cellCost(r, c), 0n)))) });
    }
    const { box, height } = barBox(p.body, shown.length);
    const c = chart('explore-breakdown', box, {
      type: 'bar',
      data: { labels: shown.map((r) => F.name(r.value)), datasets },
      options: {
        indexAxis: 'y',
        scales: { x: Object.assign(moneyAxisOptions('USD'), { stacked: true }), y: { stacked: true, grid: { display: false } } },
        plugins: { legend: { position: 'right', labels: { filter: (it, data) => data.datasets[it.datasetIndex].data.some((v) => v) } },
          tooltip: { mode: 'nearest', intersect: true, callbacks: { label: (it) => `${d2} ${it.dataset.label}: ${F.money(it.raw)}` } } },
      },
    }, { label: `Cost by ${d1}, stacked by ${d2}` });
    c.canvas.parentNode.style.height = `${height + 20}px`;

    // a cell with no calls is a dash; one whose calls have no price says so (spendCell), never a silent $0
    const cell = (v) => (v && v.requests ? spendCell({ cost: D.str(v.cost), requests: v.requests, unpriced: v.unpriced })
      : h('span', { class: 'faint', text: '—' }));
    const strong = (v) => h('strong', {}, cell(v));
    const columns = [
      { label: d1, cls: 'name', value: (r) => nameCell(r.value) },
      { label: 'USD', num: true, value: (r) => strong({ cost: r.total, requests: r.requests, unpriced: r.unpriced }) },
      ...pv.cols.map((c, i) => ({ label: [swatch(c.value, colors[i]), F.name(c.value)], num: true, title: `${d2} = ${F.name(c.value)}`,
        value: (r) => cell(r.cells.get(c.key)) })),
    ];
    if (pv.rest.length) {
      columns.push({ label: `other ${d2}`, num: true, title: pv.rest.map((c) => F.name(c.value)).join(', '),
        value: (r) => cell(sumCells(pv.rest.map((c) => r.cells.get(c.key)))) });
    }
    columns.push({ label: 'Requests', num: true, value: (r) => F.int(r.requests) },
      { label: 'Tokens', num: true, value: (r) => F.compact(r.tokens) });
    const total = sumCells(pv.rows.map((r) => ({ cost: r.total, requests: r.requests, unpriced: r.unpriced })));
    const colSum = (c) => ({ cost: c.total, requests: c.requests, unpriced: c.unpriced });
    const foot = ['Total', strong(total), ...pv.cols.map((c) => cell(colSum(c)))];
    if (pv.rest.length) foot.push(cell(sumCells(pv.rest.map(colSum))));
    foot.push(F.int(pv.rows.reduce((a, r) => a + r.requests, 0)), F.compact(pv.rows.reduce((a, r) => a + r.tokens, 0)));
    p.body.append(h('div', { class: 'section' }, h('div', { class: 'sub-head' },
      h('h3', {}, `${d1} × ${d2}`, h('span', { class: 'unit', text: ` · USD; rows are ${d1}, columns the costliest ${d2} values` }))),
    table('breakdown', columns, pv.rows, { rowAttrs: (r) => ({ 'data-key': F.name(r.value) }), foot })));
  }

  // ---------------------------------------------------------------- requests

  const REQUEST_COLUMNS = [
    { label: 'Time (UTC)', cls: 'mono', value: (r) => h('span', { title: r.id }, F.time(r.ts)) },
    { label: 'Provider', value: (r) => r.provider },
    { label: 'Model', cls: 'name', value: (r) => nameCell(r.model, { swatch: true }) },
    { label: 'Input', num: true, value: (r) => F.int(r.input_tokens), title: 'Input tokens, cached included' },
    { label: 'Cache read', num: true, title: 'Input tokens read from the prompt cache',
      value: (r) => (r.cache_read_tokens ? h('span', { title: r.cache_write_tokens ? `${F.int(r.cache_write_tokens)} written to cache` : null },
        F.int(r.cache_read_tokens)) : zero()) },
    { label: 'Output', num: true, value: (r) => F.int(r.output_tokens), title: 'Output tokens, reasoning included' },
    { label: 'Reasoning', num: true, value: (r) => (r.reasoning_tokens ? F.int(r.reasoning_tokens) : zero()) },
    { label: 'USD', num: true, value: costCell },
    { label: 'Status', value: statusCell },
    { label: 'Latency', num: true, value: (r) => latency(r.latency_ms) },
    { label: 'Session', cls: 'name', value: (r) => (r.session_id
      ? h('a', { class: 'mono', href: LL.routes.sessionHref(r.session_id), text: r.session_id }) : h('span', { class: 'faint', text: '—' })) },
    { label: 'Tags', value: (r) => tagButtons(r.tags) },
  ];

  function costCell(r) {
    const parts = [];
    if (r.cost_status === 'unpriced' || r.cost === null || r.cost === undefined) {
      parts.push(badge('unpriced', 'warn', 'No price for this model: not in any total'));
    } else {
      parts.push(moneyCell(r.cost));
      if (r.cost_status === 'partial') parts.push(' ', badge('partial', 'warn', 'Some token kinds have no price'));
      if (r.cost_status === 'reported') parts.push(' ', badge('reported', 'info', 'Cost reported by the provider'));
    }
    if (r.estimated) parts.push(' ', badge('est.', 'gray', 'Token counts estimated, not reported by the provider'));
    return h('span', { 'data-cost-status': r.cost_status }, parts);
  }
  function statusCell(r) {
    if (r.status === 'ok') return h('span', { class: 'status-ok', text: r.http_status ? String(r.http_status) : 'ok' });
    if (r.status === 'error') return badge(`error${r.http_status ? ' ' + r.http_status : ''}`, 'error');
    return badge(r.status || 'unknown', 'gray', r.status === 'aborted' ? 'The client stopped the call' : null);
  }
  function latency(ms) {
    if (ms === null || ms === undefined) return h('span', { class: 'faint', text: '—' });
    return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10000 ? 0 : 1)} s` : `${ms} ms`;
  }
  /** Tags on one line (all of them on hover); a click filters on one. */
  function tagButtons(tags) {
    const entries = Object.entries(tags || {});
    return h('span', { class: 'tags-line', title: entries.map(([k, v]) => `${k}=${v}`).join('\n') || null },
      entries.map(([k, v]) => h('button', { type: 'button', class: 'tag', title: `Filter on ${k} = ${v}`,
        onclick: () => LL.filters.addWhere(`${k}=${v}`) }, `${k}=${v}`)));
  }

  function requests(ctx) {
    const q = LL.selection({ limit: 100 });
    const p = LL.panel(ctx.main, 'explore-requests', { title: 'Requests', unit: 'newest first · UTC · USD',
      statusHeight: 200 });
    p.setExports('/events', q, ['csv', 'parquet']);
    LL.fill(p, ctx, () => ctx.get('/events', q), (d) => {
      let count = d.rows.length;
      let cursor = d.next_cursor;
      const wrap = table('requests', REQUEST_COLUMNS, d.rows, { rowAttrs: (r) => ({ 'data-id': r.id }) });
      const tbody = wrap.querySelector('tbody');
      const info = h('span', {});
      const error = h('span', { class: 'warn-text', role: 'alert' });
      const more = h('button', { type: 'button', class: 'btn', 'data-action': 'load-more' }, 'Load more');
      const update = () => {
        info.textContent = cursor ? `${F.int(count)} shown` : `All ${F.int(count)} requests shown`;
        more.hidden = !cursor;
      };
      more.addEventListener('click', async () => {
        more.disabled = true;
        more.textContent = 'Loading…';
        error.textContent = '';
        try {
          const next = await ctx.fresh('/events', LL.selection({ limit: 100, cursor }));
          if (!ctx.alive()) return;
          tbody.append(...tableRows(REQUEST_COLUMNS, next.rows, (r) => ({ 'data-id': r.id }), count));
          count += next.rows.length;
          cursor = next.next_cursor;
        } catch (e) {
          if (e.name !== 'AbortError') error.textContent = e.message;
        }
        more.disabled = false;
        more.textContent = 'Load more';
        update();
      });
      update();
      p.body.append(h('div', { class: 'scroll-y' }, wrap), h('div', { class: 'more-row' }, more, info, error));
    }, { isEmpty: (d) => !d.rows.length });
  }

  // ---------------------------------------------------------------- histograms

  const HIST_FIELDS = [['input_tokens', 'Input tokens per call'], ['output_tokens', 'Output tokens per call']];

  // log2 bins: powers of two read best in binary units (1024 is "1k", 2048 "2k", as token counters say)
  function tokenLabel(n) {
    const x = Number(n);
    const pow2 = x >= 1024 && (x & (x - 1)) === 0 && x <= 2 ** 30;
    if (pow2) return x >= 2 ** 20 ? `${x / 2 ** 20}M` : `${x / 1024}k`;
    if (x >= 1e6) return `${+(x / 1e6).toFixed(x < 1e7 ? 1 : 0)}M`;
    if (x >= 1000) return `${+(x / 1000).toFixed(x < 10000 ? 1 : 0)}k`;
    return String(x);
  }

  function histograms(ctx) {
    const p = LL.panel(ctx.main, 'explore-histograms', { title: 'Tokens per call',
      unit: 'number of calls per token range (log₂ bins)', span: 7, statusHeight: 220 });
    const queries = HIST_FIELDS.map(([field]) => LL.selection({ field }));
    LL.fill(p, ctx, () => Promise.all(queries.map((q) => ctx.get('/histogram', q))), (results) => {
      const grid = h('div', { class: 'two-col' });
      p.body.append(grid);
      results.forEach((res, i) => {
        const [field, title] = HIST_FIELDS[i];
        const col = h('div', { 'data-histogram': field }, h('div', { class: 'sub-head' },
          h('h3', {}, title, h('span', { class: 'unit', text: ' · calls' })), LL.exportLink('/histogram', queries[i])));
        grid.append(col);
        const bins = trimBins(res.bins || []);
        if (!bins.length) { col.append(h('p', { class: 'note', text: 'No calls.' })); return; }
        chart(`explore-histograms:${field}`, col, {
          type: 'bar',
          data: { labels: bins.map((b) => `${tokenLabel(b.low)}–${tokenLabel(b.high)}`),
            datasets: [{ label: 'calls', data: bins.map((b) => b.count), backgroundColor: i ? '#ee8a2a' : '#2f6fbf',
              borderWidth: 0, categoryPercentage: 0.9, barPercentage: 1 }] },
          options: {
            scales: { x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 6 },
              title: { display: true, text: 'tokens per call' } },
            y: { beginAtZero: true, ticks: { callback: (v) => F.compact(v), maxTicksLimit: 5 },
              title: { display: true, text: 'calls' } } },
            plugins: { legend: { display: false }, tooltip: { callbacks: {
              title: (items) => `${F.int(bins[items[0].dataIndex].low)} to ${F.int(bins[items[0].dataIndex].high)} tokens`,
              label: (it) => `${F.int(it.raw)} calls` } } },
          },
        }, { boxClass: 'short', label: title });
      });
    }, { isEmpty: (rs) => rs.every((r) => !(r.bins || []).some((b) => b.count)) });
  }
  // leading and trailing empty bins carry nothing
  function trimBins(bins) {
    let a = 0;
    let b = bins.length;
    while (a < b && !bins[a].count) a++;
    while (b > a && !bins[b - 1].count) b--;
    return bins.slice(a, b);
  }

  // ---------------------------------------------------------------- sessions and outcomes

  function tagValue(tags, key) {
    const entries = Object.entries(tags || {});
    return h('span', { title: entries.map(([k, v]) => `${k}=${v}`).join('\n') || 'no tags shared by every call',
      class: tags && tags[key] !== undefined ? null : 'faint' }, tags && tags[key] !== undefined ? tags[key] : '—');
  }

  function sessions(ctx, tenantUser) {
    const q = LL.selection({ limit: 20 });
    const p = LL.panel(ctx.main, 'explore-sessions', { title: 'Costliest sessions', unit: 'agent runs · USD · UTC',
      statusHeight: 200 });
    p.setExports('/sessions', q);
    LL.fill(p, ctx, () => ctx.get('/sessions', q), (d) => {
      p.body.append(table('sessions', [
        { label: 'Session', cls: 'name', value: (s) => h('a', { class: 'mono', href: LL.routes.sessionHref(s.session_id),
          text: s.session_id }) },
        { label: 'Calls', num: true, value: (s) => F.int(s.calls) },
        { label: 'USD', num: true, value: (s) => spendCell({ cost: s.cost, requests: s.calls, unpriced: s.unpriced }) },
        { label: 'Input per call', value: (s) => h('span', { title: 'Input tokens of each call, in order' },
          LL.sparkline(s.input_per_call || [], { hot: s.growth >= 4 })) },
        { label: 'Growth', num: true, title: "Last call's input over the first's",
          value: (s) => h('span', { class: s.growth >= 4 ? 'warn-text' : null }, `×${Number(s.growth).toFixed(1)}`) },
        { label: 'Started (UTC)', cls: 'mono', value: (s) => F.time(s.first, { seconds: false }) },
        { label: 'Took', num: true, value: (s) => F.duration(F.parseTime(s.last) - F.parseTime(s.first)) },
        { label: 'Feature', cls: 'name', value: (s) => tagValue(s.tags, 'feature') },
        ...(tenantUser ? [] : [{ label: 'Tenant', cls: 'name', optional: true, value: (s) => tagValue(s.tags, 'tenant') }]),
      ], d.sessions, { rowAttrs: (s) => ({ 'data-key': s.session_id }) }));
    }, { isEmpty: (d) => !d.sessions.length,
      empty: 'No sessions in this range. Calls that share a session id are grouped into one (see README).' });
  }

  function outcomes(ctx, tenantUser) {
    const names = ['feature', 'tenant', 'team', 'model', 'provider', 'environment'].filter(allowed(tenantUser));
    let by = ctx.route.params.get('outcome_by') || '';
    if (by && !names.includes(by)) names.push(by);
    const picker = select({ 'data-outcomes-by': '', 'aria-label': 'Outcomes by' }, [['', '(all)'], ...names], by,
      (v) => LL.routes.setParams({ outcome_by: v || null }));
    const p = LL.panel(ctx.main, 'explore-outcomes', { title: 'Cost per outcome', unit: 'USD',
      span: 5, tools: [h('label', {}, 'by ', picker)], statusHeight: 200 });
    const q = LL.selection({ by });
    p.setExports('/outcomes', q);
    LL.fill(p, ctx, () => ctx.get('/outcomes', q), (d) => {
      const columns = [{ label: 'Outcome', cls: 'name', value: (r) => r.outcome }];
      if (by) columns.push({ label: by, cls: 'name', value: (r) => nameCell(r[by]) });
      columns.push(
        { label: 'Outcomes', num: true, value: (r) => F.int(r.outcomes) },
        { label: 'Sessions', num: true, optional: true, value: (r) => F.int(r.sessions) },
        { label: 'USD', num: true, value: (r) => moneyCell(r.cost) },
        { label: 'USD per outcome', num: true, value: (r) => (r.cost_per_outcome === null
          ? h('span', { class: 'faint', text: '—' }) : h('strong', {}, moneyCell(r.cost_per_outcome))) });
      p.body.append(table('outcomes', columns, d.rows, { rowAttrs: (r) => ({ 'data-key': r.outcome }) }));
      if (d.note) p.body.append(h('p', { class: 'note' }, ...richText(d.note)));
    }, { isEmpty: (d) => !d.rows.length, empty: OUTCOMES_EMPTY });
  }
})();
