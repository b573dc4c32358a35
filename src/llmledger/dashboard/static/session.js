/* One session (agent run): its calls, how its input context grew call by call, and what it cost. */
'use strict';

(function () {
  const { h } = LL.dom;
  const F = LL.fmt;
  const { table, nameCell, moneyCell, spendCell, badge } = LL.tables;
  const { chart, num, moneyAxisOptions } = LL.charts;
  const { PARTS } = LL.colors;
  const D = LL.dec;
  const COST_LINE = '#c0362c';

  LL.pages.session = function session(ctx) {
    const id = ctx.route.id;
    const path = `/sessions/${encodeURIComponent(id)}`;
    const p = LL.panel(ctx.main, 'session-view', { title: `Session ${id}`, unit: 'UTC · USD',
      tools: [h('a', { class: 'back', href: LL.routes.pageHref('explore') }, '← Explore')], statusHeight: 300 });
    p.setExports(path, new URLSearchParams());
    LL.fill(p, ctx, () => ctx.get(path), (d) => {
      facts(p.body, d.session);
      growthChart(p.body, d.calls);
      calls(p.body, d.calls);
      outcomes(p.body, d.outcomes || []);
    }, { isEmpty: (d) => !d.calls || !d.calls.length, empty: 'This session has no calls in the ledger.' });
  };

  function fact(key, label, value, raw) {
    return h('div', { class: 'kpi' }, h('div', { class: 'kpi-label', text: label }),
      h('div', { class: 'kpi-value', 'data-kpi': key, 'data-value': raw === undefined ? null : String(raw) }, value));
  }

  function facts(parent, s) {
    const first = F.parseTime(s.first);
    const last = F.parseTime(s.last);
    const priced = s.calls - (s.unpriced || 0); // calls with no price are not in the cost, so not in its average
    parent.append(h('div', { class: 'session-facts' },
      fact('calls', 'Calls', F.int(s.calls), s.calls),
      fact('cost', 'Cost', spendCell({ cost: s.cost, requests: s.calls, unpriced: s.unpriced }), s.cost),
      fact('growth', 'Input growth', h('span', { class: s.growth >= 4 ? 'warn-text' : null,
        title: "The last call's input over the first's" }, `×${Number(s.growth).toFixed(1)}`), s.growth),
      fact('cost_per_call', 'Average per call', F.money(priced > 0 ? D.str(D.parse(s.cost) / BigInt(priced)) : null)),
      fact('duration', 'Took', first && last ? F.duration(last - first) : '—')));
    const rows = [];
    if (s.parent_id) {
      rows.push(h('dt', { text: 'Parent session' }),
        h('dd', {}, h('a', { class: 'mono', href: LL.routes.sessionHref(s.parent_id), text: s.parent_id })));
    }
    rows.push(h('dt', { text: 'First → last' }), h('dd', { class: 'mono', text: `${F.time(s.first)} → ${F.time(s.last)} UTC` }));
    const tags = Object.entries(s.tags || {});
    rows.push(h('dt', { text: 'Tags' }), h('dd', {}, tags.length
      ? tags.map(([k, v]) => h('span', { class: 'tag', text: `${k}=${v}` }))
      : h('span', { class: 'faint', text: 'none shared by every call' })));
    parent.append(h('dl', { class: 'facts' }, rows));
  }

  function growthChart(parent, callRows) {
    const section = h('div', { class: 'section' }, h('div', { class: 'sub-head' },
      h('h3', {}, 'Input context growing call by call', h('span', { class: 'unit',
        text: ' · input tokens per call (bars) and cumulative cost in USD (line)' }))));
    parent.append(section);
    const labels = callRows.map((c, i) => `#${i + 1}`);
    chart('session-view', section, {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { type: 'line', label: 'Cumulative cost (USD)', yAxisID: 'y1', data: callRows.map((c) => num(c.cumulative_cost)),
            borderColor: COST_LINE, backgroundColor: COST_LINE, borderWidth: 2, pointRadius: callRows.length > 60 ? 0 : 2,
            order: 0 },
          { type: 'bar', label: PARTS.uncached.label, yAxisID: 'y', stack: 'input', order: 1,
            data: callRows.map((c) => Math.max(0, c.input_tokens - (c.cache_read_tokens || 0))),
            backgroundColor: PARTS.uncached.color, borderWidth: 0, maxBarThickness: 28 },
          { type: 'bar', label: PARTS.cache_read.label, yAxisID: 'y', stack: 'input', order: 1,
            data: callRows.map((c) => c.cache_read_tokens || 0), backgroundColor: PARTS.cache_read.color, borderWidth: 0,
            maxBarThickness: 28 },
        ],
      },
      options: {
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 },
            title: { display: true, text: 'call, in order' } },
          y: { stacked: true, beginAtZero: true, ticks: { callback: (v) => F.compact(v), maxTicksLimit: 6 },
            title: { display: true, text: 'input tokens' } },
          y1: Object.assign(moneyAxisOptions('cumulative USD'), { position: 'right', grid: { drawOnChartArea: false } }),
        },
        plugins: { tooltip: { callbacks: {
          title: (items) => `Call ${items[0].dataIndex + 1} · ${F.time(callRows[items[0].dataIndex].ts)} UTC`,
          label: (it) => (it.dataset.yAxisID === 'y1' ? `${it.dataset.label}: ${F.money(it.raw)}`
            : `${it.dataset.label}: ${F.int(it.raw)} tokens`),
        } } },
      },
    }, { boxClass: 'tall', label: 'Input tokens per call and cumulative cost' });
  }

  function calls(parent, callRows) {
    const section = h('div', { class: 'section' }, h('div', { class: 'sub-head' }, h('h3', {}, 'Calls',
      h('span', { class: 'unit', text: ` · ${callRows.length}, oldest first` }))));
    section.append(h('div', { class: 'scroll-y' }, table('session-calls', [
      { label: '#', num: true, value: (c, i) => String(i + 1) },
      { label: 'Time (UTC)', cls: 'mono', value: (c) => h('span', { title: c.id }, F.time(c.ts)) },
      { label: 'Model', cls: 'name', value: (c) => [nameCell(c.model, { swatch: true }), h('span', { class: 'faint', text: ` ${c.provider || ''}` })] },
      { label: 'Input', num: true, value: (c) => F.int(c.input_tokens) },
      { label: 'Cache read', num: true, value: (c) => F.int(c.cache_read_tokens) },
      { label: 'Output', num: true, value: (c) => F.int(c.output_tokens) },
      { label: 'Reasoning', num: true, value: (c) => F.int(c.reasoning_tokens) },
      { label: 'USD', num: true, value: (c) => (c.cost_status === 'unpriced' || c.cost === null
        ? badge('unpriced', 'warn', 'No price for this model: not in any total') : moneyCell(c.cost)) },
      { label: 'Running total', num: true, value: (c) => moneyCell(c.cumulative_cost) },
      { label: 'Status', value: (c) => (c.status === 'ok' ? h('span', { class: 'status-ok', text: 'ok' })
        : badge(c.status, c.status === 'error' ? 'error' : 'gray')) },
    ], callRows, { rowAttrs: (c) => ({ 'data-id': c.id }) })));
    parent.append(section);
  }

  function outcomes(parent, rows) {
    const section = h('div', { class: 'section', 'data-outcomes': '' }, h('div', { class: 'sub-head' }, h('h3', {}, 'Outcomes')));
    if (!rows.length) {
      section.append(h('p', { class: 'note' }, ...LL.dom.richText(
        'No outcomes recorded in this session. Record one with `llmledger.outcome("ticket_resolved")` (see README).')));
    } else {
      section.append(table('session-outcomes', [
        { label: 'Outcome', value: (o) => o.name },
        { label: 'Time (UTC)', cls: 'mono', value: (o) => F.time(o.ts) },
        { label: 'Value', value: (o) => (o.value === null || o.value === undefined ? h('span', { class: 'faint', text: '—' }) : o.value) },
      ], rows));
    }
    parent.append(section);
  }
})();
