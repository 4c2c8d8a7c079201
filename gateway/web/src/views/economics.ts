// #/economics and #/economics/<id>: profit and lifetime value, not revenue. Per account:
// revenue, gross margin, cost-to-serve by activity and contribution by year, and the CLV
// with its formula and inputs. For the portfolio: latest-year revenue next to
// contribution, so the board sees at a glance where the two tell different stories.
import { axisCommon, baseTooltip, chartFigure, COLORS, mountWhenConnected, type ChartOption } from '../charts';
import { h, link } from '../dom';
import { isNegative, money, moneyCompact, moneyMajor, Names, percent, subjectAccount, toMajor } from '../format';
import { sortableTable, simpleTable } from '../table';
import type { AccountView, GetEconomicsResponse, ProgrammeView } from '../types';
import { dash, kpi, notice, pageHead, stageBadge, STAGE_ORDER, wideTable } from '../ui';
import type { ViewContext } from './context';
import { flagItem } from './overview';

export interface ChartOpts {
  /** For the print view: no animation, crisp pixels. */
  print?: boolean;
}

interface PortfolioRow {
  a: AccountView;
  e: GetEconomicsResponse;
  year: number;
  revenue: number;
  margin: number;
  cts: number;
  contribution: number;
  retention: number | null;
}

function portfolioRows(prog: ProgrammeView, econ: Map<string, GetEconomicsResponse | null>): PortfolioRow[] {
  const rows: PortfolioRow[] = [];
  for (const a of prog.accounts) {
    const e = econ.get(a.accountId);
    const y = e?.years[e.years.length - 1];
    if (!e || !y) continue;
    rows.push({
      a, e, year: y.year,
      revenue: toMajor(y.revenue, e.currency),
      margin: toMajor(y.grossMargin, e.currency),
      cts: toMajor(y.costToServe, e.currency),
      contribution: toMajor(y.contribution, e.currency),
      retention: y.hasRetentionRate ? y.retentionRate : null,
    });
  }
  return rows.sort((x, y) => y.revenue - x.revenue);
}

/** One sentence a board member reads first. */
function insight(rows: PortfolioRow[], cur: string): string {
  const top = rows[0];
  if (!top) return 'No account economics have been published yet.';
  const byContribution = [...rows].sort((x, y) => y.contribution - x.contribution);
  const rank = byContribution.indexOf(top) + 1;
  const negatives = rows.filter((r) => r.contribution < 0);
  const first = top.contribution < 0
    ? `${top.a.name} brings the most revenue (${moneyCompact(top.revenue, cur)} in ${top.year}) but loses money after cost-to-serve: its contribution is ${moneyMajor(top.contribution, cur)}.`
    : `${top.a.name} brings the most revenue (${moneyCompact(top.revenue, cur)} in ${top.year}) and ranks ${rank} of ${rows.length} by contribution.`;
  const best = byContribution[0];
  const second = best && best !== top ? ` The largest contribution comes from ${best.a.name} (${moneyCompact(best.contribution, cur)}).` : '';
  const third = negatives.length > (top.contribution < 0 ? 1 : 0)
    ? ` ${negatives.length} accounts have a negative contribution.`
    : '';
  return first + second + third;
}

export function portfolioEconomics(prog: ProgrammeView, econ: Map<string, GetEconomicsResponse | null>, o: ChartOpts = {}): HTMLElement {
  const rows = portfolioRows(prog, econ);
  const cur = rows[0]?.e.currency ?? 'EUR';
  const section = h('section', { class: 'econ-portfolio', attrs: { 'aria-labelledby': 'econ-portfolio-title' } },
    h('h2', { class: 'section-title', text: 'Revenue and profit tell different stories', attrs: { id: 'econ-portfolio-title' } }),
    h('p', { class: 'insight', text: insight(rows, cur) }));
  if (!rows.length) return section;

  const years = [...new Set(rows.map((r) => r.year))];
  const yearText = years.length === 1 ? String(years[0]) : 'latest year';
  const table = sortableTable<PortfolioRow>({
    caption: `Economics per account, ${yearText} (${cur})`,
    stateKey: o.print ? 'economics-print' : 'economics',
    rowHeader: true,
    initialSort: { key: 'revenue', dir: 'desc' },
    rows,
    rowAttrs: (r) => ({ class: r.contribution < 0 ? 'row-neg' : undefined }),
    columns: [
      { key: 'name', label: 'Account', class: 'col-name', cell: (r) => (o.print ? r.a.name : link(`#/economics/${encodeURIComponent(r.a.accountId)}`, r.a.name)), sort: (r) => r.a.name },
      { key: 'stage', label: 'Stage', cell: (r) => stageBadge(r.a.stage), sort: (r) => STAGE_ORDER[r.a.stage] ?? 9 },
      { key: 'year', label: 'Year', numeric: true, cell: (r) => String(r.year), sort: (r) => r.year },
      { key: 'revenue', label: 'Revenue', numeric: true, cell: (r) => moneyMajor(r.revenue, cur), sort: (r) => r.revenue },
      { key: 'margin', label: 'Gross margin', numeric: true, cell: (r) => moneyMajor(r.margin, cur), sort: (r) => r.margin },
      { key: 'cts', label: 'Cost-to-serve', numeric: true, cell: (r) => moneyMajor(r.cts, cur), sort: (r) => r.cts },
      { key: 'contribution', label: 'Contribution', numeric: true, cell: (r) => h('span', { class: r.contribution < 0 ? 'neg' : undefined, text: moneyMajor(r.contribution, cur) }), sort: (r) => r.contribution },
      { key: 'pct', label: 'Contribution / revenue', numeric: true, cell: (r) => h('span', { class: r.contribution < 0 ? 'neg' : undefined, text: r.revenue ? percent(r.contribution / r.revenue) : '—' }), sort: (r) => (r.revenue ? r.contribution / r.revenue : null) },
      { key: 'clv', label: 'CLV', numeric: true, cell: (r) => (r.e.hasClv ? h('span', { class: r.e.clv < 0 ? 'neg' : undefined, text: money(r.e.clv, cur) }) : dash()), sort: (r) => (r.e.hasClv ? r.e.clv : null) },
    ],
  });

  const names = rows.map((r) => r.a.name);
  const { figure, box } = chartFigure({
    title: `Revenue (left) and contribution (right) per account, ${yearText}`,
    summary: `Ranked by revenue; each side has its own scale. Red: negative contribution.`,
    ariaLabel: `Bar chart of ${yearText} revenue and contribution per account. ${rows.map((r) => `${r.a.name}: revenue ${moneyCompact(r.revenue, cur)}, contribution ${moneyCompact(r.contribution, cur)}`).join('; ')}.`,
    size: rows.length > 8 ? 'tall' : 'normal',
  });
  const barLabel = (v: number): string => moneyCompact(v, cur);
  const option: ChartOption = {
    animation: !o.print,
    tooltip: {
      ...baseTooltip((v) => moneyMajor(v, cur)),
      // Both sides of the account, whichever side the pointer is on.
      formatter: ((params: unknown) => {
        const p = (Array.isArray(params) ? params[0] : params) as { dataIndex?: number } | undefined;
        const r = rows[p?.dataIndex ?? -1];
        if (!r) return '';
        const line = (label: string, value: string, neg = false): HTMLElement => h('div', 'chart-tip-row',
          h('span', { class: 'chart-tip-name', text: label }), h('span', { class: `chart-tip-value${neg ? ' neg' : ''}`, text: value }));
        return h('div', 'chart-tip', h('div', { class: 'chart-tip-title', text: `${r.a.name}, ${r.year}` }),
          line('Revenue', moneyMajor(r.revenue, cur)),
          line('Contribution', moneyMajor(r.contribution, cur), r.contribution < 0),
          line('Contribution / revenue', r.revenue ? percent(r.contribution / r.revenue) : '—', r.contribution < 0));
      }) as unknown as string,
    },
    grid: [
      { left: 170, right: '54%', top: 20, bottom: 44 },
      { left: '55%', right: 64, top: 20, bottom: 44 },
    ],
    xAxis: [
      { type: 'value', gridIndex: 0, name: `Revenue (${cur})`, nameLocation: 'middle', nameGap: 26, ...axisCommon, axisLabel: { ...axisCommon.axisLabel, formatter: barLabel, hideOverlap: true }, splitNumber: 3 },
      { type: 'value', gridIndex: 1, name: `Contribution (${cur})`, nameLocation: 'middle', nameGap: 26, ...axisCommon, axisLabel: { ...axisCommon.axisLabel, formatter: barLabel, hideOverlap: true }, splitNumber: 3 },
    ],
    yAxis: [
      { type: 'category', gridIndex: 0, data: names, inverse: true, ...axisCommon, axisTick: { show: false }, axisLabel: { ...axisCommon.axisLabel, color: COLORS.text, width: 160, overflow: 'truncate' } },
      { type: 'category', gridIndex: 1, data: names, inverse: true, ...axisCommon, axisTick: { show: false }, axisLabel: { show: false } },
    ],
    series: [
      {
        type: 'bar', name: 'Revenue', xAxisIndex: 0, yAxisIndex: 0, barMaxWidth: 20,
        itemStyle: { color: COLORS.revenue },
        label: { show: true, position: 'right', formatter: (p: { value?: unknown }) => barLabel(Number(p.value)), color: COLORS.muted, fontSize: 11 },
        data: rows.map((r) => r.revenue),
      },
      {
        type: 'bar', name: 'Contribution', xAxisIndex: 1, yAxisIndex: 1, barMaxWidth: 20,
        label: { show: true, formatter: (p: { value?: unknown }) => barLabel(Number(p.value)), color: COLORS.muted, fontSize: 11 },
        data: rows.map((r) => ({
          value: r.contribution,
          itemStyle: { color: r.contribution < 0 ? COLORS.negative : COLORS.margin },
          label: { position: r.contribution < 0 ? 'left' : 'right', color: r.contribution < 0 ? COLORS.negative : COLORS.muted, fontWeight: r.contribution < 0 ? 'bold' : 'normal' },
        })),
      },
    ],
  };
  // Narrow screens (a tablet): shorter names on the left, more room for the bars.
  const narrow: ChartOption = {
    grid: [
      { left: 118, right: '53%', top: 20, bottom: 44 },
      { left: '56%', right: 48, top: 20, bottom: 44 },
    ],
    yAxis: [
      { axisLabel: { width: 112, overflow: 'break', fontSize: 11, lineHeight: 13 } },
      { axisLabel: { show: false } },
    ],
    xAxis: [{ splitNumber: 2 }, { splitNumber: 2 }],
  };
  const responsive = { baseOption: option, media: [{ query: { maxWidth: 720 }, option: narrow }] } as unknown as ChartOption;
  section.append(figure, wideTable('Economics per account', table));
  mountWhenConnected(box, responsive, { pixelRatio: o.print ? 2 : undefined });
  return section;
}

export async function renderEconomics(root: HTMLElement, ctx: ViewContext): Promise<void> {
  const prog = await ctx.data.programme();
  const withMetrics = prog.accounts;
  const picker = accountPicker(prog, ctx.param);
  if (!ctx.param) {
    const econ = await ctx.data.economicsOf(prog.accounts.map((a) => a.accountId));
    root.append(
      pageHead('Economics', 'Profit and lifetime value, not revenue: contribution is gross margin minus cost-to-serve. Choose an account for its years, cost-to-serve and lifetime value.', picker),
      portfolioEconomics(prog, econ),
    );
    return;
  }
  const a = withMetrics.find((x) => x.accountId === ctx.param);
  const names = new Names(prog);
  const e = await ctx.data.economics(ctx.param);
  const title = `Economics: ${a?.name ?? ctx.param}`;
  const actions = [picker, link(`#/account/${encodeURIComponent(ctx.param)}`, 'Account story →', 'btn btn-secondary')];
  if (!e || !e.years.length) {
    root.append(pageHead(title, null, actions), notice('No economics have been published for this account yet (no revenue, margin or cost-to-serve records).'),
      h('p', null, link('#/economics', '← Economics of the portfolio')));
    return;
  }
  root.append(pageHead(title, `Amounts in ${e.currency}. Contribution is gross margin minus cost-to-serve; the lifetime value discounts future contribution.`, actions));
  root.append(accountEconomics(e, names, ctx.param));
}

function accountPicker(prog: ProgrammeView, selected: string): HTMLElement {
  const id = 'econ-account';
  const sel = h('select', { attrs: { id } },
    h('option', { attrs: { value: '' }, text: 'All accounts (portfolio)' }),
    [...prog.accounts].sort((x, y) => x.name.localeCompare(y.name)).map((a) => h('option', { attrs: { value: a.accountId }, text: a.name })));
  sel.value = selected;
  sel.addEventListener('change', () => {
    location.hash = sel.value ? `#/economics/${encodeURIComponent(sel.value)}` : '#/economics';
  });
  return h('div', 'field field-inline', h('label', { attrs: { for: id }, text: 'Account' }), sel);
}

function accountEconomics(e: GetEconomicsResponse, names: Names, accountId: string): HTMLElement {
  const cur = e.currency;
  const years = e.years.map((y) => y.year);
  const last = e.years[e.years.length - 1]!;
  const m = (s: string): number => toMajor(s, cur);
  const activities = [...new Set(e.years.flatMap((y) => Object.keys(y.costToServeByActivity)))].sort();
  const contributionNeg = isNegative(last.contribution);
  const lastRevenue = m(last.revenue);

  const kpis = h('section', { class: 'kpis', attrs: { 'aria-label': `${last.year} in figures` } },
    kpi(`Revenue ${last.year}`, moneyMajor(lastRevenue, cur)),
    kpi(`Gross margin ${last.year}`, moneyMajor(m(last.grossMargin), cur), lastRevenue ? `${percent(m(last.grossMargin) / lastRevenue)} of revenue` : undefined),
    kpi(`Cost-to-serve ${last.year}`, moneyMajor(m(last.costToServe), cur), `${activities.length} activities`),
    kpi(`Contribution ${last.year}`, h('span', { class: contributionNeg ? 'neg' : undefined, text: moneyMajor(m(last.contribution), cur) }),
      lastRevenue ? `${percent(m(last.contribution) / lastRevenue)} of revenue` : undefined, contributionNeg ? 'bad' : 'ok'),
    kpi('Lifetime value (CLV)', e.hasClv ? h('span', { class: e.clv < 0 ? 'neg' : undefined, text: money(e.clv, cur) }) : '—',
      e.hasClv ? `Retention ${percent(e.retentionR, 0)}, discount rate ${percent(e.discountD, 0)}` : 'Needs a retention rate', e.hasClv && e.clv < 0 ? 'bad' : undefined),
  );

  const wrap = h('div', 'econ-account', kpis);
  const accountFlags = e.flags.filter((f) => !f.subject || subjectAccount(f.subject) === accountId || f.subject === 'programme');
  if (accountFlags.length) {
    wrap.append(h('section', { class: 'card', attrs: { 'aria-label': 'Flags on the economics' } },
      h('h2', { class: 'card-title', text: 'Flags' }), h('ul', 'flags', accountFlags.map((f) => flagItem(f, names, false)))));
  }

  // 1. Revenue, gross margin and contribution by year.
  const fmt = (v: number): string => moneyMajor(v, cur);
  const yearsTable = simpleTable(`Economics by year (${cur})`, ['Year', 'Revenue', 'Gross margin', 'Cost-to-serve', 'Contribution', 'Retention'],
    e.years.map((y) => [String(y.year), fmt(m(y.revenue)), fmt(m(y.grossMargin)), fmt(m(y.costToServe)),
      h('span', { class: isNegative(y.contribution) ? 'neg' : undefined, text: fmt(m(y.contribution)) }),
      y.hasRetentionRate ? percent(y.retentionRate, 0) : '—']), { numericFrom: 1 });
  const c1 = chartFigure({
    title: 'Revenue, gross margin and contribution by year',
    summary: `Bars: revenue and gross margin; line: contribution (red where negative).`,
    ariaLabel: `Chart by year. ${e.years.map((y) => `${y.year}: revenue ${moneyCompact(m(y.revenue), cur)}, gross margin ${moneyCompact(m(y.grossMargin), cur)}, contribution ${moneyCompact(m(y.contribution), cur)}`).join('; ')}.`,
    years, table: yearsTable,
  });
  const yAxisMoney = { type: 'value' as const, name: cur, ...axisCommon, axisLabel: { ...axisCommon.axisLabel, formatter: (v: number) => moneyCompact(v, cur) } };
  const contributionSeries = {
    type: 'line' as const, name: 'Contribution', z: 5, symbolSize: 9, lineStyle: { color: COLORS.contribution, width: 2.5 },
    itemStyle: { color: COLORS.contribution },
    label: { show: true, fontSize: 11, fontWeight: 'bold' as const, formatter: (p: { value?: unknown }) => moneyCompact(Number(p.value), cur) },
    data: e.years.map((y) => ({
      value: m(y.contribution),
      itemStyle: { color: isNegative(y.contribution) ? COLORS.negative : COLORS.contribution },
      label: { position: isNegative(y.contribution) ? 'bottom' as const : 'top' as const, color: isNegative(y.contribution) ? COLORS.negative : COLORS.contribution },
    })),
  };
  const opt1: ChartOption = {
    tooltip: baseTooltip(fmt),
    legend: { top: 0, left: 0, itemWidth: 14, itemHeight: 10, textStyle: { color: COLORS.text } },
    grid: { left: 64, right: 16, top: 40, bottom: 32 },
    xAxis: { type: 'category', data: years.map(String), ...axisCommon },
    yAxis: yAxisMoney,
    series: [
      { type: 'bar', name: 'Revenue', data: e.years.map((y) => m(y.revenue)), itemStyle: { color: COLORS.revenue }, barMaxWidth: 36 },
      { type: 'bar', name: 'Gross margin', data: e.years.map((y) => m(y.grossMargin)), itemStyle: { color: COLORS.margin }, barMaxWidth: 36 },
      contributionSeries,
    ],
  };

  // 2. Where the margin goes: cost-to-serve by activity against the gross margin.
  const ctsTable = simpleTable(`Cost-to-serve by activity (${cur})`, ['Year', ...activities.map(activityName), 'Total', 'Gross margin', 'Contribution'],
    e.years.map((y) => [String(y.year), ...activities.map((a) => fmt(m(y.costToServeByActivity[a] ?? '0'))), fmt(m(y.costToServe)), fmt(m(y.grossMargin)),
      h('span', { class: isNegative(y.contribution) ? 'neg' : undefined, text: fmt(m(y.contribution)) })]), { numericFrom: 1 });
  const c2 = chartFigure({
    title: 'Where the margin goes: cost-to-serve by activity',
    summary: 'Per year, the gross margin (left bar) against the cost-to-serve stacked by activity (right bar); the line is what is left: contribution.',
    ariaLabel: `Stacked bar chart of cost-to-serve by activity per year against gross margin. ${e.years.map((y) => `${y.year}: gross margin ${moneyCompact(m(y.grossMargin), cur)}, cost-to-serve ${moneyCompact(m(y.costToServe), cur)} (${activities.map((a) => `${activityName(a)} ${moneyCompact(m(y.costToServeByActivity[a] ?? '0'), cur)}`).join(', ')})`).join('; ')}.`,
    years, table: ctsTable,
  });
  const opt2: ChartOption = {
    tooltip: baseTooltip(fmt),
    legend: { top: 0, left: 0, itemWidth: 14, itemHeight: 10, textStyle: { color: COLORS.text } },
    grid: { left: 64, right: 16, top: 64, bottom: 32 },
    xAxis: { type: 'category', data: years.map(String), ...axisCommon },
    yAxis: yAxisMoney,
    series: [
      { type: 'bar', name: 'Gross margin', stack: 'margin', data: e.years.map((y) => m(y.grossMargin)), itemStyle: { color: COLORS.margin }, barMaxWidth: 36 },
      ...activities.map((a, i) => ({
        type: 'bar' as const, name: activityName(a), stack: 'cost', barMaxWidth: 36,
        itemStyle: { color: COLORS.activities[i % COLORS.activities.length] },
        data: e.years.map((y) => m(y.costToServeByActivity[a] ?? '0')),
      })),
      contributionSeries,
    ],
  };

  wrap.append(h('div', 'chart-grid', c1.figure, c2.figure));

  // 3. Lifetime value: formula, inputs, and the five-year projection.
  wrap.append(clvSection(e, fmt));

  mountWhenConnected(c1.box, opt1);
  mountWhenConnected(c2.box, opt2);
  return wrap;
}

function activityName(a: string): string {
  const s = a.replace(/[-_]/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function clvSection(e: GetEconomicsResponse, fmt: (v: number) => string): HTMLElement {
  const cur = e.currency;
  const sec = h('section', { class: 'card clv', attrs: { 'aria-labelledby': 'clv-title' } },
    h('h2', { class: 'card-title', text: 'Customer lifetime value', attrs: { id: 'clv-title' } }));
  if (!e.hasClv) {
    sec.append(h('p', { text: 'No lifetime value yet: it needs the latest year’s contribution and a retention rate.' }));
    return sec;
  }
  const mMaj = toMajor(e.marginM, cur);
  const clvMaj = toMajor(e.clv, cur);
  const lastYear = e.years[e.years.length - 1]?.year;
  const formula = h('div', 'clv-formula',
    h('p', { class: 'clv-value' }, h('span', { class: 'clv-label', text: 'CLV ' }), h('span', { class: clvMaj < 0 ? 'neg' : undefined, text: moneyMajor(clvMaj, cur) })),
    h('p', { class: 'formula', text: e.formula || 'CLV = m * r / (1 + d - r)' }),
    h('dl', 'facts facts-tight',
      h('dt', null, h('var', { text: 'm' }), ' contribution', lastYear ? ` ${lastYear}` : ''), h('dd', { class: mMaj < 0 ? 'neg' : undefined, text: moneyMajor(mMaj, cur) }),
      h('dt', null, h('var', { text: 'r' }), ' retention rate'), h('dd', { text: `${percent(e.retentionR)} (${e.retentionR})` }),
      h('dt', null, h('var', { text: 'd' }), ' discount rate'), h('dd', { text: `${percent(e.discountD)} (${e.discountD})` })),
    h('p', { class: 'formula formula-filled', text: `= ${moneyMajor(mMaj, cur)} × ${e.retentionR} / (1 + ${e.discountD} − ${e.retentionR}) = ${moneyMajor(clvMaj, cur)}` }),
  );
  const proj = e.projection.map((v) => toMajor(v, cur));
  const projTable = simpleTable(`Projected contribution, years 1–${proj.length} (${cur})`, ['Year', 'Projected contribution'],
    proj.map((v, i) => [`Year ${i + 1}`, h('span', { class: v < 0 ? 'neg' : undefined, text: fmt(v) })]), { numericFrom: 1 });
  const c3 = chartFigure({
    title: `Projection, years 1–${proj.length}`,
    summary: 'Year t: m · rᵗ / (1 + d)ᵗ, the contribution expected to be kept, discounted to today.',
    ariaLabel: `Bar chart of the projected discounted contribution: ${proj.map((v, i) => `year ${i + 1} ${moneyCompact(v, cur)}`).join(', ')}.`,
    size: 'short', table: projTable,
  });
  const opt3: ChartOption = {
    tooltip: baseTooltip(fmt),
    grid: { left: 64, right: 16, top: 30, bottom: 32 },
    xAxis: { type: 'category', data: proj.map((_, i) => `Year ${i + 1}`), ...axisCommon },
    yAxis: { type: 'value', name: cur, ...axisCommon, axisLabel: { ...axisCommon.axisLabel, formatter: (v: number) => moneyCompact(v, cur) } },
    series: [{
      type: 'bar', name: 'Projected contribution', barMaxWidth: 40,
      data: proj.map((v) => ({ value: v, itemStyle: { color: v < 0 ? COLORS.negative : COLORS.margin } })),
    }],
  };
  sec.append(h('div', 'clv-layout', formula, c3.figure));
  mountWhenConnected(c3.box, opt3);
  return sec;
}
