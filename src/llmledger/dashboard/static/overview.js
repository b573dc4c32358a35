/* Overview: what the money went on, for finance leads. */
'use strict';

(function () {
  const { h, select } = LL.dom;
  const F = LL.fmt;
  const { table, nameCell, moneyCell, spendCell, swatch, shareBar } = LL.tables;
  const { chart, moneyTooltip, moneyAxisOptions, num } = LL.charts;
  const { assign, alpha, PARTS, GRAY } = LL.colors;
  const D = LL.dec;

  const GROUPS = ['model', 'provider', 'feature', 'tenant', 'team'];
  const BREAKDOWNS = ['tenant', 'team', 'feature', 'model', 'provider'];
  const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
    'November', 'December'];
  const LINE = '#2f6fbf';
  const BUDGET = '#c0362c';

  LL.pages.overview = function overview(ctx) {
    const tenantUser = Boolean(ctx.me && ctx.me.role === 'tenant');
    kpis(ctx);
    timeseries(ctx, tenantUser);
    month(ctx);
    cumulative(ctx);
    split(ctx);
    const dims = BREAKDOWNS.filter((d) => !(tenantUser && d === 'tenant'));
    const spans = dims.length === 5 ? [4, 4, 4, 6, 6] : dims.map(() => 6);
    dims.forEach((d, i) => breakdown(ctx, d, spans[i]));
    topUsers(ctx);
    topSessions(ctx);
  };

  // ---------------------------------------------------------------- KPIs

  function kpi(key, label, raw, text, sub, { warn = false, title } = {}) {
    return h('div', { class: `kpi${warn ? ' warn' : ''}` },
      h('div', { class: 'kpi-label', text: label }),
      h('div', { class: 'kpi-value', 'data-kpi': key, 'data-value': raw === null || raw === undefined ? '' : String(raw),
        title: title || null }, text),
      h('div', { class: 'kpi-sub' }, sub));
  }

  function kpis(ctx) {
    const q = LL.selection();
    const p = LL.panel(ctx.main, 'overview-kpis', { title: 'Spend and usage', unit: `${LL.rangeLabel()} · UTC`,
      statusHeight: 64 });
    p.setExports('/summary', q);
    LL.fill(p, ctx, () => ctx.get('/summary', q), (s) => {
      const tokens = s.input_tokens + s.output_tokens;
      const unpriced = s.unpriced || 0;
      const priced = s.requests - unpriced > 0; // the API's rates cover priced calls only (0 when there are none)
      p.body.append(h('div', { class: 'kpis' },
        kpi('cost', 'Spend', s.cost, F.money(s.cost), `${F.compact(tokens)} tokens`, { title: `$${s.cost}` }),
        kpi('requests', 'Requests', s.requests, F.int(s.requests),
          s.errors ? `${F.int(s.errors)} failed` : 'none failed'),
        kpi('cost_per_request', 'Cost per request', s.cost_per_request, priced ? F.money(s.cost_per_request) : '—',
          priced ? 'average' : 'no call has a price', { title: `$${s.cost_per_request}` }),
        kpi('cost_per_1k_tokens', 'Cost per 1k tokens', s.cost_per_1k_tokens, priced ? F.money(s.cost_per_1k_tokens) : '—',
          'input and output', { title: `$${s.cost_per_1k_tokens}` }),
        kpi('cached_share', 'Cache hit share', s.cached_share, F.pct(s.cached_share), 'of input tokens read from cache'),
        kpi('unpriced', 'Unpriced calls', unpriced, F.int(unpriced), unpriced > 0
          ? `${F.int(unpriced)} ${unpriced === 1 ? 'call has no price and is' : 'calls have no price and are'} not in the totals`
          : 'every call has a price', { warn: unpriced > 0 })));
    }, { isEmpty: (s) => !s.requests && !s.unpriced });
  }

  // ---------------------------------------------------------------- month card

  function month(ctx) {
    const q = LL.selection({}, { withRange: false });
    const p = LL.panel(ctx.main, 'overview-month', { title: 'This month', unit: 'USD · UTC calendar month', span: 4,
      statusHeight: 260 });
    p.setExports('/month', q);
    LL.fill(p, ctx, () => ctx.get('/month', q), (m) => {
      const [y, mo] = String(m.month || '').split('-');
      if (y && mo) p.setTitle(`${MONTH_NAMES[Number(mo) - 1]} ${y}`, 'month to date · USD · UTC');
      p.body.append(
        h('div', { class: 'kpi-label', text: 'Spent so far this month' }),
        h('div', { class: 'month-main' },
          h('div', { class: 'kpi-value', 'data-kpi': 'month_to_date', 'data-value': m.month_to_date,
            title: `$${m.month_to_date}` }, F.money(m.month_to_date)),
          delta(m.change)),
        h('dl', { class: 'facts' },
          h('dt', { text: 'Same period last month' }), h('dd', {}, moneyCell(m.last_month_same_period)),
          h('dt', { text: 'All of last month' }), h('dd', {}, moneyCell(m.last_month_total)),
          h('dt', { text: 'Forecast for the month' }),
          h('dd', { 'data-kpi': 'forecast', 'data-value': m.forecast ? m.forecast.expected : '' },
            m.forecast ? [F.money(m.forecast.expected), h('span', { class: 'muted' },
              ` (90% range ${F.money(m.forecast.low)}–${F.money(m.forecast.high)})`)]
              : h('span', { class: 'muted', text: 'not enough history yet' }))),
        m.budget ? budget(m) : h('p', { class: 'note', text: 'No monthly budget is set.' }));
    });
  }

  function delta(change) {
    if (change === null || change === undefined) {
      return h('span', { class: 'muted', 'data-kpi': 'change', 'data-value': '' },
        'nothing spent in the same days of last month to compare with');
    }
    const x = parseFloat(change);
    const dir = x > 0 ? 'up' : (x < 0 ? 'down' : 'flat');
    const arrow = { up: '↑', down: '↓', flat: '→' }[dir];
    return h('span', { class: `delta ${dir}`, 'data-kpi': 'change', 'data-value': change,
      title: 'Change against the same days of last month' },
    `${arrow} ${F.pct(Math.abs(x))}`, h('span', { class: 'muted', text: ' vs same period last month' }));
  }

  function budget(m) {
    const limit = parseFloat(m.budget.limit);
    const spent = parseFloat(m.month_to_date);
    const expected = m.forecast ? parseFloat(m.forecast.expected) : null;
    const fill = h('div', { class: `meter-fill${spent > limit ? ' over' : ''}` });
    fill.style.width = `${Math.min(100, limit > 0 ? (spent / limit) * 100 : 100)}%`;
    const meter = h('div', { class: 'meter', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': String(limit),
      'aria-valuenow': String(spent), 'aria-label': 'Budget used' }, fill);
    if (expected !== null && limit > 0) {
      const mark = h('div', { class: 'meter-forecast', title: `Forecast ${F.money(expected)}` });
      mark.style.left = `calc(${Math.min(100, (expected / limit) * 100)}% - 1px)`;
      meter.append(mark);
    }
    const over = expected !== null && expected > limit;
    return h('div', { class: 'section', 'data-budget': m.budget.name },
      h('div', { class: 'sub-head' }, h('h3', {}, `Budget “${m.budget.name}”`,
        h('span', { class: 'unit', text: ` · ${m.budget.window}` })),
      h('span', { class: 'num' }, `${F.money(m.budget.limit)}`)),
      meter,
      h('div', { class: 'meter-legend' }, h('span', { text: `${F.pct(limit > 0 ? spent / limit : 0, 0)} used` }),
        expected !== null ? h('span', { text: `forecast ${F.pct(limit > 0 ? expected / limit : 0, 0)}` }) : null),
      over ? h('div', { class: 'callout warn', 'data-warning': 'budget' },
        `At this pace the month ends near ${F.money(m.forecast.expected)}, `
          + `${F.money(D.str(D.parse(m.forecast.expected) - D.parse(m.budget.limit)))} over budget`,
        m.exhaustion ? `; the budget runs out on ${F.shortDate(F.parseTime(m.exhaustion))}.` : '.')
        : null);
  }

  // ---------------------------------------------------------------- spend over time

  function timeseries(ctx, tenantUser) {
    const unit = LL.hourly() ? 'hour' : 'day';
    const groups = GROUPS.filter((g) => !(tenantUser && g === 'tenant'));
    let group = ctx.route.params.get('group') || 'model';
    if (!groups.includes(group)) group = 'model';
    const picker = select({ 'data-group': '', 'aria-label': 'Stack by' }, groups, group,
      (v) => LL.routes.setParams({ group: v === 'model' ? null : v }));
    const p = LL.panel(ctx.main, 'overview-timeseries', {
      title: unit === 'hour' ? 'Spend per hour' : 'Spend per day',
      unit: unit === 'hour' ? 'USD · UTC hours' : 'USD · UTC days',
      span: 8, tools: [h('label', {}, 'by ', picker)], statusHeight: 280 });
    const q = LL.selection({ unit, group });
    p.setExports('/timeseries', q);
    LL.fill(p, ctx, () => ctx.get('/timeseries', q), (ts) => {
      const colors = assign(ts.series.map((s) => s.name));
      const datasets = ts.series.map((s, i) => ({
        label: F.name(s.name), data: s.values.map(num), backgroundColor: colors[i], stack: 'spend',
        borderWidth: 0, maxBarThickness: 36 }));
      chart('overview-timeseries', p.body, {
        type: 'bar',
        data: { labels: ts.buckets.map((b) => F.bucketLabel(b, ts.unit)), datasets },
        options: {
          scales: {
            x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 10 },
              title: { display: true, text: ts.unit === 'hour' ? 'hour (UTC)' : 'day (UTC)' } },
            y: Object.assign(moneyAxisOptions('USD'), { stacked: true }),
          },
          plugins: {
            tooltip: {
              itemSort: (a, b) => b.raw - a.raw,
              filter: (item) => item.raw !== 0,
              callbacks: { title: (items) => F.bucketTitle(ts.buckets[items[0].dataIndex], ts.unit),
                label: moneyTooltip, footer: (items) => `Total: ${F.money(ts.total[items[0].dataIndex])}` },
            },
          },
        },
      }, { boxClass: 'tall', label: `Spend per ${ts.unit} by ${group}` });
    }, { isEmpty: (ts) => !ts.buckets.length || ts.calls.every((n) => n === 0) });
  }

  /** The month so far, the forecast to month end (a band) and the budget allowance, as running totals. */
  function cumulative(ctx) {
    const now = new Date();
    const monthStart = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-01`;
    const q = LL.selection({ since: monthStart, unit: 'day' }, { withRange: false });
    const p = LL.panel(ctx.main, 'overview-cumulative', { title: 'Cumulative spend this month',
      unit: 'USD · UTC days', span: 8, statusHeight: 260 });
    p.setExports('/timeseries', q);
    LL.fill(p, ctx, () => ctx.get('/timeseries', q), (ts) => {
      const n = ts.buckets.length;
      const fc = ts.forecast || [];
      // the forecast may start on a day the series already has (today, still running): days are merged by name
      const labels = [...ts.buckets];
      const at = new Map(labels.map((b, i) => [b, i]));
      for (const f of fc) if (!at.has(f.bucket)) { at.set(f.bucket, labels.length); labels.push(f.bucket); }
      const spent = labels.map((b, i) => (i < n ? num(ts.cumulative[i]) : null));
      const f0 = fc.length ? at.get(fc[0].bucket) : labels.length;
      const lead = f0 > 0 && f0 - 1 < n ? f0 - 1 : -1; // the last known day, where the forecast line starts
      const base = lead >= 0 ? spent[lead] : 0;
      const band = forecastBand(fc, base);
      const place = (values) => {
        const out = labels.map(() => null);
        if (lead >= 0) out[lead] = base;
        fc.forEach((f, i) => { out[at.get(f.bucket)] = values[i]; });
        return out;
      };
      const low = place(band.low);
      const datasets = [
        { label: 'Spent', data: spent, borderColor: LINE, backgroundColor: alpha(LINE, 0.08), fill: 'origin' },
      ];
      if (fc.length) {
        datasets.push(
          { label: 'Forecast', data: place(band.expected), borderColor: LINE, borderDash: [6, 4],
            borderWidth: 1.5, fill: false },
          { label: 'Forecast range', data: place(band.high), borderColor: alpha(LINE, 0.45),
            borderDash: [3, 3], borderWidth: 1, backgroundColor: alpha(LINE, 0.1), fill: '+1' },
          { label: 'Forecast low', data: low, borderColor: alpha(LINE, 0.45),
            borderDash: [3, 3], borderWidth: 1, fill: false });
      }
      const allowance = budgetLine(ts.budget_line, labels.length);
      if (allowance) {
        datasets.push({ label: 'Budget', data: allowance, borderColor: BUDGET, borderDash: [2, 3],
          borderWidth: 1.5, fill: false });
      }
      chart('overview-cumulative', p.body, {
        type: 'line',
        data: { labels: labels.map((b) => F.bucketLabel(b, 'day')), datasets },
        options: {
          scales: {
            x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 10 },
              title: { display: true, text: 'day (UTC)' } },
            y: moneyAxisOptions('USD, running total'),
          },
          plugins: {
            legend: { labels: { filter: (item) => item.text !== 'Forecast low' } },
            tooltip: {
              filter: (item) => item.raw !== null && item.dataset.label !== 'Forecast low'
                && !(item.dataIndex === lead && item.dataset.label.startsWith('Forecast')),
              callbacks: {
                title: (items) => F.bucketTitle(labels[items[0].dataIndex], 'day'),
                label: (item) => (item.dataset.label === 'Forecast range'
                  ? `Forecast range: ${F.money(low[item.dataIndex])}–${F.money(item.raw)}`
                  : moneyTooltip(item)),
              },
            },
          },
        },
      }, { boxClass: 'tall', label: 'Cumulative spend this month with forecast and budget' });
    }, { isEmpty: (ts) => !ts.buckets.length || (ts.cumulative.every((v) => parseFloat(v) === 0)
      && !(ts.forecast || []).length) });
  }

  // The contract's forecast points are running totals; if a server sends per-day amounts instead (the first point
  // below the month so far), they are accumulated here so the band still continues the "spent" line.
  function forecastBand(fc, last) {
    const e = fc.map((f) => num(f.expected));
    const lo = fc.map((f) => num(f.low));
    const hi = fc.map((f) => num(f.high));
    if (fc.length && e[0] < last - 1e-9) {
      const run = (xs) => { let acc = last; return xs.map((x) => (acc += x)); };
      return { expected: run(e), low: run(lo), high: run(hi) };
    }
    return { expected: e, low: lo, high: hi };
  }

  // The API gives the budget line for the days so far (a flat limit, or an allowance growing evenly through the
  // month); it is extended the same way over the forecast days.
  function budgetLine(line, length) {
    if (!line || !line.length) return null;
    const values = line.map(num);
    const step = values.length > 1 ? (values[values.length - 1] - values[0]) / (values.length - 1) : 0;
    while (values.length < length) values.push(values[values.length - 1] + step);
    return values;
  }

  // ---------------------------------------------------------------- token split

  function splitParts(s) {
    const sub = (a, ...bs) => D.str(bs.reduce((acc, b) => acc - D.parse(b), D.parse(a)));
    return [
      { key: 'uncached', tokens: s.input_tokens - s.cache_read_tokens - s.cache_write_tokens,
        cost: sub(s.input_cost, s.cache_read_cost, s.cache_write_cost) },
      { key: 'cache_read', tokens: s.cache_read_tokens, cost: s.cache_read_cost },
      { key: 'cache_write', tokens: s.cache_write_tokens, cost: s.cache_write_cost },
      { key: 'output', tokens: s.output_tokens - s.reasoning_tokens, cost: sub(s.output_cost, s.reasoning_cost) },
      { key: 'reasoning', tokens: s.reasoning_tokens, cost: s.reasoning_cost },
    ];
  }
  LL.splitParts = splitParts;

  function split(ctx) {
    const q = LL.selection();
    const p = LL.panel(ctx.main, 'overview-split', { title: 'Token split', unit: 'tokens and USD', span: 4,
      statusHeight: 260 });
    p.setExports('/summary', q);
    LL.fill(p, ctx, () => ctx.get('/summary', q), (s) => {
      const parts = splitParts(s);
      const totalTokens = parts.reduce((a, x) => a + x.tokens, 0);
      const totalCost = parseFloat(s.cost) || parts.reduce((a, x) => a + parseFloat(x.cost), 0);
      p.body.append(h('div', { class: 'sub-head' }, h('h3', {}, 'Tokens'),
        h('span', { class: 'unit', text: `${F.compact(totalTokens)} tokens` })));
      stripChart('overview-split:tokens', p.body, parts, (x) => x.tokens, (v) => F.compact(v), (v) => `${F.int(v)} tokens`,
        'Tokens by part');
      p.body.append(h('div', { class: 'sub-head' }, h('h3', {}, 'Cost'),
        h('span', { class: 'unit', text: `${F.money(s.cost)} USD` })));
      stripChart('overview-split:cost', p.body, parts, (x) => num(x.cost), (v) => F.moneyAxis(v), (v) => F.money(v),
        'Cost by part, USD');
      const share = (of) => ['%', h('span', { class: 'sr-only', text: ` of ${of}` })];
      p.body.append(table('token-split', [
        { label: 'Part', value: (x) => [swatch(null, PARTS[x.key].color), PARTS[x.key].label] },
        { label: 'Tokens', num: true, value: (x) => F.int(x.tokens) },
        { label: share('tokens'), num: true, title: 'Share of the tokens',
          value: (x) => F.pct(totalTokens ? x.tokens / totalTokens : 0) },
        { label: 'USD', num: true, value: (x) => moneyCell(x.cost) },
        { label: share('cost'), num: true, title: 'Share of the cost',
          value: (x) => F.pct(totalCost ? parseFloat(x.cost) / totalCost : 0) },
      ], parts, { rowAttrs: (x) => ({ 'data-part': x.key }) }));
    }, { isEmpty: (s) => !s.requests });
  }

  /** One horizontal 100%-wide stacked bar of the five parts. */
  function stripChart(key, parent, parts, value, tick, tip, label) {
    const values = parts.map(value);
    const max = values.reduce((a, v) => a + (v || 0), 0) || 1;
    chart(key, parent, {
      type: 'bar',
      data: { labels: [''], datasets: parts.map((x, i) => ({ label: PARTS[x.key].label, data: [values[i]],
        backgroundColor: PARTS[x.key].color, borderWidth: 0, barPercentage: 1, categoryPercentage: 1 })) },
      options: {
        indexAxis: 'y',
        interaction: { mode: 'nearest', intersect: true },
        scales: { x: { stacked: true, max, ticks: { callback: tick, maxTicksLimit: 5 }, grid: { display: false } },
          y: { stacked: true, display: false } },
        plugins: { legend: { display: false },
          tooltip: { callbacks: { title: () => '', label: (it) => `${it.dataset.label}: ${tip(it.raw)}` } } },
      },
    }, { boxClass: 'bar-strip', label });
  }

  // ---------------------------------------------------------------- breakdowns

  function breakdown(ctx, dim, span) {
    const q = LL.selection({ by: dim, limit: 10 });
    const p = LL.panel(ctx.main, `overview-breakdown-${dim}`, { title: `By ${dim}`, unit: 'USD · top 10', span,
      statusHeight: 150 });
    p.setExports('/breakdown', q);
    LL.fill(p, ctx, () => ctx.get('/breakdown', q), (b) => {
      const total = D.parse(b.total.cost);
      const other = total - D.sum(b.rows.map((r) => r.cost));
      const totalF = parseFloat(b.total.cost) || 0;
      const labels = b.rows.map((r) => F.name(r[dim]));
      const data = b.rows.map((r) => num(r.cost));
      const colors = assign(b.rows.map((r) => r[dim]));
      if (other > 0n) { labels.push('other'); data.push(num(D.str(other))); colors.push(GRAY); }
      const wrap = h('div', { class: 'breakdown' });
      p.body.append(wrap);
      chart(`overview-breakdown-${dim}`, wrap, {
        type: 'doughnut',
        data: { labels, datasets: [{ label: 'USD', data, backgroundColor: colors, borderWidth: 1, borderColor: '#fff' }] },
        options: { cutout: '58%', plugins: { legend: { display: false }, tooltip: { callbacks: {
          label: (it) => `${it.label}: ${F.money(it.raw)} (${F.pct(totalF ? it.raw / totalF : 0)})` } } },
        interaction: { mode: 'nearest', intersect: true } },
      }, { boxClass: 'doughnut', label: `Spend by ${dim}` });
      const otherRow = other > 0n ? [[nameCell('other', { swatch: true }), moneyCell(D.str(other)),
        F.pct(totalF ? num(D.str(other)) / totalF : 0), '']] : [];
      wrap.append(table(`breakdown-${dim}`, [
        { label: dim, cls: 'name', value: (r, i) => nameCell(r[dim], { swatch: colors[i] }) },
        { label: 'USD', num: true, value: (r) => spendCell(r) },
        { label: 'Share', num: true, value: (r) => F.pct(totalF ? parseFloat(r.cost) / totalF : 0) },
        { label: 'Requests', num: true, optional: true, value: (r) => F.int(r.requests) },
      ], b.rows, { foot: [...otherRow, ['Total', moneyCell(b.total.cost), '100%', F.int(b.total.requests)]],
        rowAttrs: (r) => ({ 'data-key': F.name(r[dim]) }) }));
    }, { isEmpty: (b) => !b.rows.length });
  }

  function topUsers(ctx) {
    const q = LL.selection({ by: 'user', limit: 10 });
    const p = LL.panel(ctx.main, 'overview-top-users', { title: 'Top 10 users', unit: 'by spend · USD', span: 6,
      statusHeight: 150 });
    p.setExports('/breakdown', q);
    LL.fill(p, ctx, () => ctx.get('/breakdown', q), (b) => {
      const totalF = parseFloat(b.total.cost) || 0;
      const top = b.rows.length ? parseFloat(b.rows[0].cost) || 1 : 1;
      p.body.append(table('top-users', [
        { label: 'User', cls: 'name', value: (r) => nameCell(r.user) },
        { label: 'USD', num: true, value: (r) => [shareBar(parseFloat(r.cost) / top), spendCell(r)] },
        { label: 'Share', num: true, value: (r) => F.pct(totalF ? parseFloat(r.cost) / totalF : 0) },
        { label: 'Requests', num: true, value: (r) => F.int(r.requests) },
        { label: 'Tokens', num: true, value: (r) => F.compact(r.input_tokens + r.output_tokens) },
        { label: 'Cached', num: true, value: (r) => F.pct(r.cached_share, 0), title: 'Share of input read from cache' },
      ], b.rows, { rowAttrs: (r) => ({ 'data-key': F.name(r.user) }) }));
    }, { isEmpty: (b) => !b.rows.length });
  }

  function topSessions(ctx) {
    // calls without a session id come back as one null row: not a session, so one more is asked for and it is dropped
    const q = LL.selection({ by: 'session', limit: 11 });
    const p = LL.panel(ctx.main, 'overview-top-sessions', { title: 'Top 10 sessions', unit: 'by spend · USD', span: 6,
      statusHeight: 150 });
    p.setExports('/breakdown', q);
    const sessionsOnly = () => ctx.get('/breakdown', q).then((b) => Object.assign({}, b, {
      rows: b.rows.filter((r) => r.session !== null && r.session !== undefined && r.session !== '').slice(0, 10) }));
    LL.fill(p, ctx, sessionsOnly, (b) => {
      const top = b.rows.length ? parseFloat(b.rows[0].cost) || 1 : 1;
      p.body.append(table('top-sessions', [
        { label: 'Session', cls: 'name', value: (r) => (r.session === null || r.session === undefined
          ? nameCell(null) : h('a', { href: LL.routes.sessionHref(r.session), class: 'mono', text: r.session })) },
        { label: 'USD', num: true, value: (r) => [shareBar(parseFloat(r.cost) / top), spendCell(r)] },
        { label: 'Calls', num: true, value: (r) => F.int(r.requests) },
        { label: 'Tokens', num: true, value: (r) => F.compact(r.input_tokens + r.output_tokens) },
        { label: 'Failed', num: true, value: (r) => (r.errors ? F.int(r.errors) : h('span', { class: 'faint', text: '0' })) },
      ], b.rows, { rowAttrs: (r) => ({ 'data-key': F.name(r.session) }) }));
    }, { isEmpty: (b) => !b.rows.length });
  }
})();
