// #/register: every admission decision and retirement with what the board needs to judge
// it, and the override and admit-then-demote rates.
import { badge, h } from '../dom';
import { capitalise, date, days, Names, percent, plural, score } from '../format';
import { sortableTable } from '../table';
import type { GetRegisterResponse, RegisterEntry } from '../types';
import { accountLink, dash, kpi, pageHead, wideTable } from '../ui';
import type { ViewContext } from './context';

export async function renderRegister(root: HTMLElement, ctx: ViewContext): Promise<void> {
  const [prog, reg] = await Promise.all([ctx.data.programme(), ctx.data.register()]);
  const names = new Names(prog);
  root.append(
    pageHead('Admission and retirement register', 'Every admission, incubation, rejection and retirement: who nominated, who decided, on what score and why.'),
    registerRates(reg),
    registerTable(reg, names, false),
  );
}

export function registerRates(reg: GetRegisterResponse): HTMLElement {
  return h('section', { class: 'kpis kpis-4', attrs: { 'aria-label': 'Rates' } },
    kpi('Admissions', String(reg.admissions), `${plural(reg.entries.filter((e) => e.decision === 'incubated').length, 'incubation', 'incubations')}, ${plural(reg.entries.filter((e) => e.decision === 'rejected').length, 'rejection', 'rejections')}`),
    kpi('Override rate', percent(reg.overrideRate), `${plural(reg.exceptions, 'exception', 'exceptions')} (admitted below threshold) of ${plural(reg.admissions, 'admission', 'admissions')}`, reg.exceptions ? 'warn' : 'ok'),
    kpi('Retirements', String(reg.retirements)),
    kpi('Admit-then-demote rate', percent(reg.admitThenDemoteRate), `${reg.admitThenDemote} of ${plural(reg.admissions, 'admission', 'admissions')} retired within the minimum tenure`, reg.admitThenDemote ? 'bad' : 'ok'),
  );
}

const DECISION_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'neutral' | 'accent'> = {
  admitted: 'ok', incubated: 'accent', rejected: 'neutral', retired: 'neutral',
};

export function registerTable(reg: GetRegisterResponse, names: Names, print: boolean): HTMLElement {
  const scoreCell = (e: RegisterEntry): HTMLElement => {
    if (!e.criteriaVersion && !e.weightedScore) return dash();
    const below = e.threshold > 0 && e.weightedScore < e.threshold;
    return h('span', null,
      h('span', { class: `nowrap${below ? ' below' : ''}` },
        score(e.weightedScore), e.threshold > 0 ? h('span', { class: 'muted', text: ` / ${score(e.threshold)}` }) : null,
        below ? h('span', { class: 'sr-only', text: ' (below the threshold)' }) : null),
      e.criteriaVersion ? h('span', { class: 'cell-sub', text: `criteria v${e.criteriaVersion}` }) : null);
  };
  const table = sortableTable<RegisterEntry>({
    caption: 'Decisions, oldest first',
    captionDetail: 'Score is the weighted score against the criteria version, over the threshold in force.',
    testid: 'register-table',
    stateKey: print ? 'register-print' : 'register',
    initialSort: { key: 'date', dir: 'asc' },
    rowHeader: true,
    rows: reg.entries,
    rowAttrs: (e) => ({ class: e.exception || e.withinMinTenure ? 'row-flag' : undefined }),
    class: 'register-table',
    columns: [
      { key: 'account', label: 'Account', class: 'col-account', cell: (e) => (print ? names.account(e.accountId) : accountLink(e.accountId, names.account(e.accountId))), sort: (e) => names.account(e.accountId) },
      { key: 'date', label: 'Date', cell: (e) => h('span', { class: 'nowrap', text: date(e.occurredAt) }), sort: (e) => e.occurredAt ?? '' },
      { key: 'decision', label: 'Decision', cell: (e) => badge(capitalise(e.decision), DECISION_TONE[e.decision] ?? 'neutral'), sort: (e) => e.decision },
      {
        key: 'people', label: 'Nominated / decided by', title: 'Who nominated the account, and who decided (four eyes: never the same person)',
        cell: (e) => h('span', null,
          h('span', 'cell-line', h('span', { class: 'muted', text: 'Nominated: ' }), h('span', { text: e.nominatedBy || '—' })),
          h('span', 'cell-line', h('span', { class: 'muted', text: 'Decided: ' }), h('span', { text: e.decidedBy || '—' })),
          e.decidedByRole ? h('span', { class: 'cell-line muted', text: `as ${e.decidedByRole}` }) : null),
        sort: (e) => e.decidedBy,
      },
      { key: 'rationale', label: 'Nomination rationale', cell: (e) => h('span', { class: 'prose', text: e.nominationRationale || '—' }), class: 'col-text' },
      { key: 'score', label: 'Score / threshold', numeric: true, title: 'Weighted score over the threshold, and the criteria version it was assessed against', cell: scoreCell, sort: (e) => (e.criteriaVersion ? e.weightedScore : null) },
      {
        key: 'exception', label: 'Exception / justification', class: 'col-text',
        title: 'Admitted below the threshold (an exception) and its justification; the rationale of an incubation; the reason of a rejection or retirement',
        cell: (e) => h('div', 'prose', e.exception ? [badge('Exception', 'warn'), ' '] : null, h('span', { text: e.justification || '—' })),
        sort: (e) => (e.exception ? 1 : 0),
      },
      {
        key: 'tenure', label: 'Tenure', numeric: true, title: 'Days from admission to retirement, and whether that is within the programme’s minimum tenure (an admit-then-demote)',
        cell: (e) => (e.decision !== 'retired' ? dash() : h('span', null, h('span', { class: 'nowrap', text: days(e.tenureDays) }),
          h('span', 'cell-sub', e.withinMinTenure ? badge('Admit-then-demote', 'bad', 'Retired within the programme’s minimum tenure') : h('span', { text: 'beyond the minimum' })))),
        sort: (e) => (e.decision === 'retired' ? e.tenureDays : null),
      },
    ],
  });
  return wideTable('Register table', table);
}
