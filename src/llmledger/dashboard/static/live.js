/* Live: the last hours, refreshed every 15 s, for on-call engineers. */
'use strict';

(function () {
  const { h, select } = LL.dom;
  const F = LL.fmt;
  const { table, nameCell, spendCell, badge } = LL.tables;
  const { chart, num } = LL.charts;

  const REFRESH_MS = 15000;
  const HOURS = ['1', '6', '24'];
  const TOKENS_COLOR = '#2f6fbf';
  const USD_COLOR = '#1d7a46';

  LL.pages.live = function live(ctx) {
    const params = ctx.route.params;
    const hours = HOURS.includes(params.get('hours')) ? params.get('hours') : '6';
    const alertState = ['resolved', 'all'].includes(params.get('alerts')) ? params.get('alerts') : 'firing';
    const tenantUser = Boolean(ctx.me && ctx.me.role === 'tenant');
    const q = LL.selection({ hours }, { withRange: false });

    const updated = h('span', { class: 'updated', 'data-updated': '' }, 'updating…');
    const lastHour = LL.panel(ctx.main, 'live-last-hour', { title: 'Last hour', unit: 'USD · UTC',
      tools: [h('span', { class: 'live-dot', 'aria-hidden': 'true' }), updated], statusHeight: 64 });
    const hoursPicker = select({ 'data-hours': '', 'aria-label': 'Hours shown' },
      HOURS.map((x) => [x, `last ${x} h`]), hours, (v) => LL.routes.setParams({ hours: v === '6' ? null : v }));
    const rate = LL.panel(ctx.main, 'live-rate', { title: 'Throughput and spend rate', unit: 'UTC',
      tools: [hoursPicker], statusHeight: 230 });
    rate.setExports('/live', q);
    const statePicker = select({ 'data-alerts-state': '', 'aria-label': 'Alerts shown' },
      [['firing', 'firing'], ['resolved', 'resolved'], ['all', 'all']], alertState,
      (v) => LL.routes.setParams({ alerts: v === 'firing' ? null : v }));
    const alerts = LL.panel(ctx.main, 'live-alerts', { title: 'Alerts', unit: alertState === 'firing'
      ? 'firing now' : `${alertState}, latest 50`, span: 6, tools: [statePicker], statusHeight: 120 });
    const alertsQuery = LL.selection({ state: alertState, limit: 50 }, { withRange: false });
    alerts.setExports('/alerts', alertsQuery);
    const unpriced = LL.panel(ctx.main, 'live-unpriced', { title: 'Unpriced calls', unit: 'last 24 h', span: 3,
      statusHeight: 120 });
    const spool = LL.panel(ctx.main, 'live-spool', { title: 'Spool', unit: 'events waiting on disk', span: 3,
      statusHeight: 120 });
    const top = LL.panel(ctx.main, 'live-top', { title: 'Top consumers now', unit: 'USD', statusHeight: 150 });

    let loading = false; // a refresh waits for the one before it, so an older answer never replaces a newer one
    const load = (quiet) => {
      if (loading) return;
      loading = true;
      const data = ctx.fresh('/live', q);
      data.then((d) => {
        if (!ctx.alive()) return;
        const at = F.parseTime(d.generated_at) || new Date();
        updated.textContent = `updated ${F.hm(at)}:${String(at.getUTCSeconds()).padStart(2, '0')} UTC`;
        updated.title = `Refreshes every ${REFRESH_MS / 1000} s`;
      }, () => { updated.textContent = 'update failed'; });
      const opts = { quiet };
      LL.fill(lastHour, ctx, () => data, (d) => renderLastHour(lastHour, d), opts);
      LL.fill(rate, ctx, () => data, (d, o) => renderRate(rate, d, o),
        Object.assign({ isEmpty: (d) => !d.buckets.length, empty: `No calls in the last ${hours} h.` }, opts));
      const alertData = alertState === 'firing' ? data.then((d) => ({ alerts: d.alerts || [] }))
        : ctx.fresh('/alerts', alertsQuery);
      Promise.allSettled([data, alertData]).then(() => { loading = false; });
      LL.fill(alerts, ctx, () => alertData, (d) => renderAlerts(alerts, d.alerts), Object.assign({
        isEmpty: (d) => !d.alerts.length,
        empty: alertState === 'firing' ? 'No alerts firing.' : `No ${alertState === 'all' ? '' : 'resolved '}alerts yet.`,
      }, opts));
      LL.fill(unpriced, ctx, () => data, (d) => renderUnpriced(unpriced, d.unpriced), opts);
      LL.fill(spool, ctx, () => data, (d) => renderSpool(spool, d.spool), opts);
      LL.fill(top, ctx, () => data, (d) => renderTop(top, d.top_now, tenantUser), Object.assign({
        isEmpty: (d) => !Object.values(d.top_now || {}).some((rows) => rows && rows.length),
        empty: 'No calls in the last hour.' }, opts));
    };
    load(false);
    ctx.every(REFRESH_MS, () => load(true));
  };

  function renderLastHour(p, d) {
    const l = d.last_hour;
    const card = (key, label, raw, text, sub) => h('div', { class: 'kpi' },
      h('div', { class: 'kpi-label', text: label }),
      h('div', { class: 'kpi-value', 'data-kpi': key, 'data-value': String(raw) }, text),
      h('div', { class: 'kpi-sub', text: sub }));
    p.body.append(h('div', { class: 'kpis' },
      card('last_hour_cost', 'Spend', l.cost, F.money(l.cost), 'USD in the last 60 minutes'),
      card('last_hour_requests', 'Requests', l.requests, F.int(l.requests), `${F.int(Math.round(l.requests / 60))} per minute`),
      card('last_hour_tokens', 'Tokens', l.tokens, F.compact(l.tokens), `${F.int(Math.round(l.tokens / 3600))} per second`)));
  }

  function renderRate(p, d, { refresh }) {
    p.setTitle('Throughput and spend rate', `last ${d.hours} h · ${d.bucket_minutes}-min buckets · UTC`);
    const labels = d.buckets.map((b) => F.bucketLabel(b, 'hour'));
    const titles = d.buckets.map((b) => F.bucketTitle(b, 'hour'));
    const tokens = d.tokens_per_second.map(Number);
    const usd = d.usd_per_hour.map(num);
    if (refresh && window.llmledgerCharts['live-rate:tokens'] && window.llmledgerCharts['live-rate:usd']) {
      for (const [key, data] of [['live-rate:tokens', tokens], ['live-rate:usd', usd]]) {
        const c = window.llmledgerCharts[key];
        c.data.labels = labels;
        c.data.datasets[0].data = data;
        c.$titles = titles;
        c.update('none');
      }
      return;
    }
    p.body.replaceChildren();
    const grid = h('div', { class: 'two-col' });
    p.body.append(grid);
    const col1 = h('div', {}, h('div', { class: 'sub-head' }, h('h3', {}, 'Tokens per second'),
      h('span', { class: 'unit', text: 'input + output, tokens/s' })));
    const col2 = h('div', {}, h('div', { class: 'sub-head' }, h('h3', {}, 'Spend rate'),
      h('span', { class: 'unit', text: 'USD per hour' })));
    grid.append(col1, col2);
    lineChart('live-rate:tokens', col1, labels, titles, 'tokens/s', tokens, TOKENS_COLOR, (v) => F.compact(v),
      (v) => `${F.int(Math.round(v))} tokens/s`);
    lineChart('live-rate:usd', col2, labels, titles, 'USD/hour', usd, USD_COLOR, (v) => F.moneyAxis(v),
      (v) => `${F.money(v)} per hour`);
  }

  function lineChart(key, parent, labels, titles, unit, data, color, tick, tip) {
    const c = chart(key, parent, {
      type: 'line',
      data: { labels, datasets: [{ label: unit, data, borderColor: color, backgroundColor: LL.colors.alpha(color, 0.1),
        fill: 'origin', borderWidth: 1.5, tension: 0.2 }] },
      options: {
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 16 },
            title: { display: true, text: 'time (UTC)' } },
          y: { beginAtZero: true, ticks: { callback: tick, maxTicksLimit: 5 }, title: { display: true, text: unit } },
        },
        plugins: { legend: { display: false }, tooltip: { callbacks: {
          title: (items) => (items[0].chart.$titles || [])[items[0].dataIndex] || items[0].label,
          label: (it) => tip(it.raw) } } },
      },
    }, { boxClass: 'short', label: unit });
    c.$titles = titles;
  }

  function renderAlerts(p, alerts) {
    p.body.append(h('ul', { class: 'alert-list', 'data-list': 'alerts' }, alerts.map((a) => h('li', {
      'data-row': '', 'data-alert': a.fingerprint, 'data-severity': a.severity },
    badge(a.severity || 'alert', severityClass(a.severity)),
    h('span', { class: 'alert-title', text: a.title }),
    h('span', { class: 'alert-time', title: `${F.time(a.fired_at)} UTC` },
      a.state === 'resolved' && a.resolved_at ? `resolved ${F.ago(a.resolved_at)}` : `fired ${F.ago(a.fired_at)}`),
    h('span', { class: 'alert-meta' }, [
      `rule ${a.rule}`, a.kind && a.kind !== a.rule ? ` (${a.kind})` : '',
      ...Object.entries(a.scope || {}).map(([k, v]) => [' · ', scopeLink(k, v)]),
      a.state !== 'firing' ? ` · ${a.state}` : '',
    ])))));
  }
  function severityClass(severity) {
    if (['critical', 'page', 'error', 'high'].includes(severity)) return 'critical';
    if (['warning', 'warn', 'ticket', 'medium'].includes(severity)) return 'warning';
    return 'info';
  }
  function scopeLink(k, v) {
    if (k === 'session' && v) return h('a', { href: LL.routes.sessionHref(v), text: `session ${v}` });
    return `${k} ${F.name(v)}`;
  }

  function renderUnpriced(p, u) {
    const count = u ? u.count_24h : 0;
    p.body.append(h('div', { class: `big-number${count > 0 ? ' warn' : ''}`, 'data-kpi': 'unpriced_24h',
      'data-value': String(count) }, F.int(count)));
    if (!count) {
      p.body.append(h('p', { class: 'note', text: 'Every call in the last 24 h has a price.' }));
      return;
    }
    p.body.append(h('p', { class: 'note warn-text' }, count === 1
      ? 'One call has no price, so it is not in any total.'
      : `${F.int(count)} calls have no price, so they are not in any total.`));
    if (u.models && u.models.length) {
      p.body.append(table('unpriced-models', [
        { label: 'Model', cls: 'name', value: (m) => h('span', { title: m.provider }, m.model) },
        { label: 'Provider', value: (m) => m.provider },
        { label: 'Calls', num: true, value: (m) => F.int(m.requests) },
      ], u.models));
    }
    p.body.append(h('p', { class: 'note' }, ...LL.dom.richText(
      'Add the price under `prices:` in the config, then run `llmledger recompute --since 1d`.')));
  }

  function renderSpool(p, s) {
    const files = s ? s.files : 0;
    const queued = s ? s.queued : 0;
    const waiting = files > 0 || queued > 0;
    p.body.append(h('dl', { class: 'facts' },
      h('dt', { text: 'Files' }), h('dd', { 'data-kpi': 'spool_files', 'data-value': String(files) }, F.int(files)),
      h('dt', { text: 'Events queued' }), h('dd', { 'data-kpi': 'spool_queued', 'data-value': String(queued) }, F.int(queued))),
    waiting ? h('div', { class: 'callout warn', 'data-warning': 'spool' },
      `${F.int(queued)} ${queued === 1 ? 'event is' : 'events are'} waiting on disk for the database.`)
      : h('div', { class: 'callout ok', text: 'Empty: every event has reached the database.' }));
  }

  function renderTop(p, topNow, tenantUser) {
    const groups = ['tenant', 'user', 'model'].filter((g) => !(tenantUser && g === 'tenant'));
    const grid = h('div', { class: 'three-col' });
    p.body.append(grid);
    for (const g of groups) {
      const rows = (topNow && topNow[g]) || [];
      const col = h('div', { 'data-top': g }, h('div', { class: 'sub-head' }, h('h3', {}, `By ${g}`)));
      if (!rows.length) col.append(h('p', { class: 'note', text: 'No calls.' }));
      else {
        const colors = LL.colors.assign(rows.map((r) => r.name));
        col.append(table(`top-now-${g}`, [
          { label: g, cls: 'name', value: (r, i) => nameCell(r.name, { swatch: g === 'model' && colors[i] }) },
          { label: 'USD', num: true, value: (r) => spendCell(r) },
          { label: 'Requests', num: true, value: (r) => F.int(r.requests) },
          { label: 'Tokens', num: true, value: (r) => F.compact(r.tokens) },
        ], rows, { rowAttrs: (r) => ({ 'data-key': F.name(r.name) }) }));
      }
      grid.append(col);
    }
  }
})();
