// #/portfolio: every account in one table, sortable, with its people, sponsor visits,
// score, economics and flags.
import { badge, h, link } from '../dom';
import { date, days, daysSince, isNegative, money, Names, plural, score, subjectAccount } from '../format';
import { flagName, flagSeverity } from '../rules';
import { sortableTable, type Column } from '../table';
import type { AccountView, Finding, GetEconomicsResponse } from '../types';
import { accountLink, dash, pageHead, stageBadge, STAGE_ORDER, wideTable } from '../ui';
import type { ViewContext } from './context';

interface Row {
  a: AccountView;
  tenure: number | null;
  econ: GetEconomicsResponse | null;
  year: number | null;
  contribution: number | null;
  clv: number | null;
  flags: Finding[];
}

/** One chip per rule (with a count when it repeats); the details in the chip's title. */
export function flagChips(flags: Finding[]): HTMLElement {
  const byRule = new Map<string, Finding[]>();
  for (const f of flags) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), f]);
  return h('ul', 'chip-list', [...byRule.entries()].map(([rule, fs]) => {
    const details = fs.map((f) => f.detail).join('; ');
    return h('li', { class: `chip chip-${flagSeverity(rule)}`, attrs: { title: `${rule}: ${details}` } },
      h('span', { text: fs.length > 1 ? `${flagName(rule)} ×${fs.length}` : flagName(rule) }),
      h('span', { class: 'sr-only', text: `: ${details}` }));
  }));
}

export async function renderPortfolio(root: HTMLElement, ctx: ViewContext): Promise<void> {
  const [prog, card] = await Promise.all([ctx.data.programme(), ctx.data.scorecard()]);
  const econ = await ctx.data.economicsOf(prog.accounts.map((a) => a.accountId));
  const names = new Names(prog);
  const flagsBy = new Map<string, Finding[]>();
  for (const s of card.steps) {
    for (const f of s.flags) {
      const id = subjectAccount(f.subject);
      if (!id) continue;
      const l = flagsBy.get(id) ?? [];
      l.push(f);
      flagsBy.set(id, l);
    }
  }
  const rows: Row[] = prog.accounts.map((a) => {
    const e = econ.get(a.accountId) ?? null;
    const last = e?.years[e.years.length - 1];
    return {
      a,
      tenure: a.stage === 'admitted' && a.admittedOn ? daysSince(a.admittedOn) : null,
      econ: e,
      year: last?.year ?? null,
      contribution: last ? Number(last.contribution) : null,
      clv: e?.hasClv ? e.clv : null,
      flags: flagsBy.get(a.accountId) ?? [],
    };
  });
  const latestYear = rows.reduce<number | null>((y, r) => (r.year !== null && (y === null || r.year > y) ? r.year : y), null);

  const counts = new Map<string, number>();
  for (const a of prog.accounts) counts.set(a.stage, (counts.get(a.stage) ?? 0) + 1);
  const summary = [...counts.entries()]
    .sort((x, y) => (STAGE_ORDER[x[0]] ?? 9) - (STAGE_ORDER[y[0]] ?? 9))
    .map(([s, n]) => `${n} ${s}`).join(', ');

  const cols: Column<Row>[] = [
    { key: 'name', label: 'Account', cell: (r) => accountLink(r.a.accountId, r.a.name), sort: (r) => r.a.name, class: 'col-name' },
    { key: 'stage', label: 'Stage', cell: (r) => stageBadge(r.a.stage), sort: (r) => STAGE_ORDER[r.a.stage] ?? 9 },
    {
      key: 'sponsor', label: 'Sponsor and last visit', title: 'The executive sponsor and their last visit; sorted by the visit date',
      cell: (r) => h('span', null,
        r.a.sponsor ? h('span', { text: names.person(r.a.sponsor) }) : dash(),
        r.a.lastSponsorVisit ? h('span', 'cell-sub', h('span', { class: 'nowrap', text: `Visited ${date(r.a.lastSponsorVisit)}` }), r.a.sponsorVisitOverdue ? [' ', badge('Overdue', 'warn', 'Older than the visit cadence')] : null) : null),
      sort: (r) => r.a.lastSponsorVisit || null,
    },
    {
      key: 'manager', label: 'Manager and team',
      cell: (r) => h('span', null,
        r.a.manager ? h('span', { text: names.person(r.a.manager) }) : dash(),
        r.a.team.length ? h('span', { class: 'cell-sub', text: `Team: ${r.a.team.map((p) => names.person(p)).join(', ')}` }) : null),
      sort: (r) => (r.a.manager ? names.person(r.a.manager) : null),
    },
    { key: 'tenure', label: 'Tenure', numeric: true, title: 'Days since admission (admitted accounts)', cell: (r) => (r.tenure !== null ? days(r.tenure) : dash()), sort: (r) => r.tenure },
    {
      key: 'score', label: 'Score', numeric: true, title: 'Weighted score against the selection criteria (0–100); an exception was admitted below the threshold',
      cell: (r) => h('span', null,
        r.a.criteriaVersion ? h('span', { text: score(r.a.weightedScore), attrs: { title: `criteria v${r.a.criteriaVersion}` } }) : dash(),
        r.a.admittedAsException ? h('span', 'cell-sub', badge('Exception', 'warn', 'Admitted below the threshold, with a written justification')) : null),
      sort: (r) => (r.a.criteriaVersion ? r.a.weightedScore : null),
    },
    {
      key: 'contribution', label: latestYear ? `Contribution ${latestYear}` : 'Contribution', numeric: true,
      title: 'Gross margin minus cost-to-serve, latest year',
      cell: (r) => (r.econ && r.contribution !== null
        ? h('span', { class: isNegative(r.contribution) ? 'neg' : undefined, text: money(r.contribution, r.econ.currency) }, r.year !== latestYear ? h('span', { class: 'muted', text: ` (${r.year})` }) : null)
        : dash()),
      sort: (r) => r.contribution,
    },
    {
      key: 'clv', label: 'CLV', numeric: true, title: 'Customer lifetime value',
      cell: (r) => (r.econ && r.clv !== null ? h('span', { class: r.clv < 0 ? 'neg' : undefined, text: money(r.clv, r.econ.currency) }) : dash()),
      sort: (r) => r.clv,
    },
    {
      key: 'flags', label: 'Flags',
      cell: (r) => (r.flags.length ? flagChips(r.flags) : h('span', { class: 'muted', text: 'None' })),
      sort: (r) => r.flags.length || null, numeric: false, class: 'col-flags',
    },
  ];

  root.append(
    pageHead('Portfolio', `${plural(prog.accounts.length, 'account', 'accounts')}: ${summary}. Select a column header to sort; an account’s name opens its story.`,
      link('#/economics', 'Economics of the portfolio →', 'btn btn-secondary')),
    wideTable('Portfolio table',
      sortableTable<Row>({
        caption: 'Every account of the programme',
        captionDetail: `Money in ${rows.find((r) => r.econ)?.econ?.currency ?? 'the account’s currency'}; contribution and CLV from the latest year of published economics.`,
        columns: cols,
        rows,
        testid: 'portfolio-table',
        rowHeader: true,
        stateKey: 'portfolio',
        initialSort: { key: 'stage', dir: 'asc' },
        rowAttrs: (r) => ({ testid: `account-row-${r.a.accountId}`, class: r.contribution !== null && r.contribution < 0 ? 'row-neg' : undefined }),
        class: 'portfolio-table',
      })),
    h('p', { class: 'footnote', text: `Sorted by stage at first (${['admitted', 'incubating', 'nominated', 'retired', 'rejected'].join(', ')}). A dash means none or not yet known.` }),
  );
}
