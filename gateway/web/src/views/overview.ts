// #/overview: the programme in ten seconds: its size against its bounds, the people who
// carry it, whether its history is intact, and the seven steps of the method, each held
// or flagged in plain words.
import { append, badge, h, link, type Child } from '../dom';
import { integer, Names, percent, plural, subjectAccount } from '../format';
import { flagName, flagSeverity, mustRuleText } from '../rules';
import type { Finding, GetScorecardResponse, ProgrammeView, ScorecardStep, VerifyHistoryResponse } from '../types';
import { kpi, pageHead, stageBadge } from '../ui';
import { flagChips } from './portfolio';
import type { ViewContext } from './context';

export async function renderOverview(root: HTMLElement, ctx: ViewContext): Promise<void> {
  const [prog, card, ver] = await Promise.all([ctx.data.programme(), ctx.data.scorecard(), ctx.data.verification()]);
  const names = new Names(prog);
  append(root, [
    pageHead('Programme overview', `${prog.name}: the seven steps of the method, what holds and what needs the board’s attention.`),
    overviewKpis(prog, card, ver, names),
    h('h2', { class: 'section-title', text: 'The seven steps' }),
    stepsGrid(card, names),
    attention(prog, card, names),
  ]);
}

/** The accounts with flags, the most serious first: where to look first. */
function attention(prog: ProgrammeView, card: GetScorecardResponse, names: Names): HTMLElement | null {
  const by = new Map<string, Finding[]>();
  for (const f of card.steps.flatMap((s) => s.flags)) {
    const id = subjectAccount(f.subject);
    if (id) by.set(id, [...(by.get(id) ?? []), f]);
  }
  if (!by.size) return null;
  const weight = (fs: Finding[]): number => fs.reduce((n, f) => n + (flagSeverity(f.rule) === 'bad' ? 10 : 1), 0);
  const rows = [...by.entries()].sort((a, b) => weight(b[1]) - weight(a[1]) || names.account(a[0]).localeCompare(names.account(b[0])));
  const stage = new Map(prog.accounts.map((a) => [a.accountId, a.stage]));
  return h('section', { class: 'attention', attrs: { 'aria-labelledby': 'attention-title' } },
    h('h2', { class: 'section-title', text: 'Accounts needing attention', attrs: { id: 'attention-title' } }),
    h('ul', 'attention-list', rows.map(([id, fs]) => h('li', 'attention-item',
      h('div', 'attention-name', link(`#/account/${encodeURIComponent(id)}`, names.account(id)), ' ', stageBadge(stage.get(id) ?? '')),
      flagChips(fs)))));
}

export function overviewKpis(prog: ProgrammeView, card: GetScorecardResponse, ver: VerifyHistoryResponse, names: Names): HTMLElement {
  const flags = card.steps.reduce((n, s) => n + s.flags.length, 0);
  const flagged = card.steps.filter((s) => s.flags.length > 0).length;
  const severe = card.steps.reduce((n, s) => n + s.flags.filter((f) => flagSeverity(f.rule) === 'bad').length, 0);
  const active = prog.accounts.filter((a) => a.stage === 'admitted' || a.stage === 'incubating');
  const sponsored = active.filter((a) => a.sponsor).length;
  const n = prog.admittedKeyAccounts;
  const within = n >= prog.minKeyAccounts && n <= prog.maxKeyAccounts;
  const intact = ver.intact && card.historyIntact;

  return h('section', { class: 'kpis', attrs: { 'aria-label': 'The programme at a glance' } },
    kpi('Key accounts', h('span', { text: integer(n) }),
      within
        ? `Within the bounds of ${prog.minKeyAccounts}–${prog.maxKeyAccounts} admitted key accounts`
        : `Outside the bounds of ${prog.minKeyAccounts}–${prog.maxKeyAccounts} admitted key accounts`,
      within ? undefined : 'bad',
      boundsGauge(n, prog.minKeyAccounts, prog.maxKeyAccounts)),
    kpi('Flags raised', h('span', { text: integer(flags) }),
      flags === 0 ? 'Every step holds' : `In ${flagged} of ${card.steps.length} steps; ${plural(severe, 'serious flag', 'serious flags')}`,
      flags === 0 ? 'ok' : severe > 0 ? 'bad' : 'warn'),
    kpi('Sponsor coverage', h('span', { text: percent(prog.sponsorCoverage, 0) }),
      `${sponsored} of ${plural(active.length, 'active key account has', 'active key accounts have')} an executive sponsor`,
      prog.sponsorCoverage < 1 ? 'warn' : 'ok'),
    kpi('Champion', h('span', { class: 'kpi-text', text: prog.champion ? names.person(prog.champion) : 'None' }),
      `Selection criteria version ${prog.criteriaVersion || '—'} in force`,
      prog.champion ? undefined : 'bad'),
    kpi('History', h('span', { text: intact ? 'Intact' : 'Broken' }),
      intact
        ? `${integer(ver.eventsChecked)} events verified against their hash chain`
        : `Breaks at version ${ver.firstBreakVersion}: ${ver.firstBreak || 'see the scorecard'}`,
      intact ? 'ok' : 'bad'),
  );
}

/** A bar from 0 with the allowed range shaded and the bounds marked. */
function boundsGauge(value: number, min: number, max: number): HTMLElement {
  const top = Math.max(max, value, 1) * 1.15;
  const pct = (x: number): string => `${Math.min(100, (x / top) * 100).toFixed(2)}%`;
  const zone = h('div', 'gauge-zone');
  zone.style.left = pct(min);
  zone.style.width = `${(((max - min) / top) * 100).toFixed(2)}%`;
  const fill = h('div', { class: `gauge-fill${value < min || value > max ? ' gauge-out' : ''}` });
  fill.style.width = pct(value);
  const mark = (x: number, label: string): HTMLElement => {
    const m = h('div', 'gauge-mark', h('span', { class: 'gauge-mark-label', text: label }));
    m.style.left = pct(x);
    return m;
  };
  return h('div', { class: 'gauge', attrs: { 'aria-hidden': 'true' } },
    h('div', 'gauge-track', zone, fill), mark(min, `min ${min}`), mark(max, `max ${max}`));
}

export function stepsGrid(card: GetScorecardResponse, names: Names, opts: { compact?: boolean } = {}): HTMLElement {
  const steps = [...card.steps].sort((a, b) => a.step - b.step);
  return h('ol', { class: `steps${opts.compact ? ' steps-compact' : ''}` }, steps.map((s) => stepCard(s, names, opts)));
}

function stepCard(s: ScorecardStep, names: Names, opts: { compact?: boolean }): HTMLElement {
  const severe = s.flags.some((f) => flagSeverity(f.rule) === 'bad');
  const tone = s.flags.length === 0 ? 'ok' : severe ? 'bad' : 'warn';
  const status = s.flags.length === 0
    ? badge('✓ Held', 'ok', 'Every rule of this step holds')
    : badge(`⚑ ${plural(s.flags.length, 'flag', 'flags')}`, tone);
  const headingId = `step-${s.step}-title`;
  const rules = h('details', 'rules-held',
    h('summary', { text: `${plural(s.rulesHeld.length, 'must rule', 'must rules')} held` }),
    h('ul', 'rules-list', s.rulesHeld.map((r) => h('li', null, h('span', { text: mustRuleText(r) }), ' ', h('code', { class: 'rule-code', text: r })))));
  return h('li', { class: `step-card tone-${tone}`, testid: `step-${s.step}`, attrs: { 'aria-labelledby': headingId } },
    h('div', 'step-head',
      h('span', { class: 'step-no', text: `Step ${s.step}` }),
      status),
    h('h3', { class: 'step-title', text: s.title, attrs: { id: headingId } }),
    s.flags.length
      ? h('ul', 'flags', groupFlags(s.flags).map((g) => (g.length === 1 ? flagItem(g[0]!, names) : flagGroup(g, names))))
      : h('p', { class: 'held-note', text: 'Every rule of this step holds; nothing is flagged.' }),
    opts.compact ? h('p', { class: 'rules-count', text: `${plural(s.rulesHeld.length, 'must rule', 'must rules')} held` }) : rules,
  );
}

/** Consecutive findings of one rule about one subject, kept in order. */
function groupFlags(flags: Finding[]): Finding[][] {
  const groups: Finding[][] = [];
  for (const f of flags) {
    const g = groups.find((x) => x[0]?.rule === f.rule && x[0]?.subject === f.subject);
    if (g) g.push(f);
    else groups.push([f]);
  }
  return groups;
}

/** Several findings of one rule about one subject under one heading; each finding is
 *  still its own flag element (with its rule as title). */
function flagGroup(g: Finding[], names: Names): HTMLElement {
  const f0 = g[0]!;
  const sev = flagSeverity(f0.rule);
  const acc = subjectAccount(f0.subject);
  return h('li', { class: `flag flag-${sev} flag-group`, data: { rule: f0.rule } },
    h('div', 'flag-head',
      h('span', { class: 'flag-name', text: `${flagName(f0.rule)} (${g.length})` }),
      acc ? [h('span', 'flag-sep', ' · '), link(`#/account/${encodeURIComponent(acc)}`, names.account(acc), 'flag-subject')] : null),
    h('ul', 'flag-group-list', g.map((f) => h('li', { class: 'flag-group-item', testid: 'flag', attrs: { title: f.rule }, data: { rule: f.rule } },
      h('span', { class: 'flag-detail', text: f.detail })))),
    h('code', { class: 'rule-code', text: f0.rule }));
}

export function flagItem(f: Finding, names: Names, showSubject = true): HTMLElement {
  const sev = flagSeverity(f.rule);
  const acc = subjectAccount(f.subject);
  let subject: Child = null;
  if (showSubject && acc) subject = link(`#/account/${encodeURIComponent(acc)}`, names.account(acc), 'flag-subject');
  else if (showSubject && f.subject && f.subject !== 'programme') subject = h('span', { class: 'flag-subject', text: f.subject });
  return h('li', { class: `flag flag-${sev}`, testid: 'flag', attrs: { title: f.rule }, data: { rule: f.rule } },
    h('div', 'flag-head',
      h('span', { class: 'flag-name', text: flagName(f.rule) }),
      subject ? h('span', 'flag-sep', ' · ') : null,
      subject),
    h('p', { class: 'flag-detail', text: f.detail }),
    h('code', { class: 'rule-code', text: f.rule }));
}

