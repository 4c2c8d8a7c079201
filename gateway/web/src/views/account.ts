// #/account/<id>: an account's story. Its history as a timeline (who, when on both time
// axes, why, under which criteria version; corrections shown as corrections), and an
// "as of" slider that shows the account as it stood at any moment, as recorded by then or
// as effective then.
import { api, ApiError, isAbort } from '../api';
import { badge, clear, debounce, h, link, type Child } from '../dom';
import { capitalise, date, dateTime, DAY_MS, Names, parseDate, score, subjectAccount } from '../format';
import { describe, type Described } from '../events';
import type { AccountView, HistoryEntry, ProgrammeView, TimeAxis } from '../types';
import { errorBox, notice, pageHead, stageBadge } from '../ui';
import { flagItem } from './overview';
import type { ViewContext } from './context';

/** The slider's position survives a refresh of the view (per account). */
const remembered = new Map<string, { axis: TimeAxis; time: Date | null }>();

interface Item {
  entry: HistoryEntry;
  d: Described;
  occurred: Date | null;
  recorded: Date | null;
  el: HTMLElement;
}

export async function renderAccount(root: HTMLElement, ctx: ViewContext): Promise<void> {
  const id = ctx.param;
  const [prog, card, first] = await Promise.all([ctx.data.programme(), ctx.data.scorecard(), ctx.data.firstEvent()]);
  let history: HistoryEntry[];
  try {
    history = await ctx.data.accountHistory(id);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      root.append(pageHead('Account not found'), notice(`There is no account “${id}” in ${prog.name}.`), h('p', null, link('#/portfolio', '← Back to the portfolio')));
      return;
    }
    throw e;
  }
  const names = new Names(prog);
  const account = prog.accounts.find((a) => a.accountId === id);
  if (!account && history.length === 0) {
    root.append(pageHead('Account not found'), notice(`There is no account “${id}” in ${prog.name}.`), h('p', null, link('#/portfolio', '← Back to the portfolio')));
    return;
  }
  for (const e of history) {
    const f = e.envelope.event.accountNominated;
    if (f && typeof f.accountName === 'string') names.addAccount(id, f.accountName);
  }
  const name = names.account(id);
  const flags = card.steps.flatMap((s) => s.flags).filter((f) => subjectAccount(f.subject) === id);

  // --- The timeline -----------------------------------------------------------------------
  const items: Item[] = history.map((entry) => ({
    entry,
    d: describe(entry.envelope, names),
    occurred: entry.envelope.occurredAt ? parseDate(entry.envelope.occurredAt) : null,
    recorded: entry.envelope.recordedAt ? parseDate(entry.envelope.recordedAt) : null,
    el: h('li'),
  }));
  items.sort((a, b) => (a.occurred?.getTime() ?? 0) - (b.occurred?.getTime() ?? 0)
    || Number(a.entry.envelope.aggregateVersion) - Number(b.entry.envelope.aggregateVersion));
  const byId = new Map(items.map((i) => [i.entry.envelope.eventId, i]));
  const supersededBy = new Map<string, Item>();
  for (const i of items) {
    const target = i.d.correctsEventId || i.d.retractsEventId;
    if (target) supersededBy.set(target, i);
  }

  const panel = new AsOfPanel(ctx, id, prog, first, items);
  for (const i of items) i.el = timelineItem(i, byId, supersededBy, panel, names);

  const economicsLink = link(`#/economics/${encodeURIComponent(id)}`, 'Economics of this account →', 'btn btn-secondary');
  root.append(
    pageHead(name, h('span', null, account ? stageBadge(account.stage) : badge('Not in the portfolio', 'neutral'), ' ',
      h('span', { text: account?.nominatedBy ? `Nominated by ${account.nominatedBy}` : '' })),
    [link('#/portfolio', '← Portfolio', 'btn btn-ghost'), economicsLink]),
    h('div', 'story-layout',
      h('div', 'story-main',
        account ? todayFacts(account, names) : null,
        flags.length
          ? h('section', { class: 'card', attrs: { 'aria-labelledby': 'acc-flags' } },
            h('h2', { class: 'card-title', text: `Flags on this account (${flags.length})`, attrs: { id: 'acc-flags' } }),
            h('ul', 'flags', flags.map((f) => flagItem(f, names, false))))
          : null,
        h('section', { class: 'card', attrs: { 'aria-labelledby': 'acc-history' } },
          h('h2', { class: 'card-title', text: 'History', attrs: { id: 'acc-history' } }),
          h('p', { class: 'card-note', text: `${items.length} events in the order they happened (business time). Every event shows who recorded it and when; a late entry (a fact entered after its date had passed) says why and counts from when it was entered; a correction is a new event, and what it corrects stays visible, marked as superseded.` }),
          h('ol', { class: 'timeline', testid: 'timeline' }, items.map((i) => i.el)))),
      h('aside', 'story-aside', panel.el)),
  );
  await panel.load();
}

function todayFacts(a: AccountView, names: Names): HTMLElement {
  const row = (label: string, value: Child): HTMLElement[] => [h('dt', { text: label }), h('dd', null, value)];
  return h('section', { class: 'card', attrs: { 'aria-labelledby': 'acc-today' } },
    h('h2', { class: 'card-title', text: 'Today', attrs: { id: 'acc-today' } }),
    h('dl', 'facts',
      row('Stage', stageBadge(a.stage)),
      row('Sponsor', a.sponsor ? names.person(a.sponsor) : 'None'),
      row('Manager', a.manager ? names.person(a.manager) : 'None'),
      row('Team', a.team.length ? a.team.map((p) => names.person(p)).join(', ') : 'None'),
      row('Weighted score', a.criteriaVersion ? `${score(a.weightedScore)} (criteria v${a.criteriaVersion})` : 'Not assessed'),
      row('Admitted', a.admittedOn ? [date(a.admittedOn), a.admittedAsException ? [' ', badge('Exception', 'warn')] : null] : '—'),
      row('Last sponsor visit', a.lastSponsorVisit ? [date(a.lastSponsorVisit), a.sponsorVisitOverdue ? [' ', badge('Overdue', 'warn')] : null] : '—'),
      a.openTrainingPlan.length ? row('Open training plan', `${a.openTrainingPlan.length} skills`) : null,
    ));
}

function timelineItem(i: Item, byId: Map<string, Item>, supersededBy: Map<string, Item>, panel: AsOfPanel, names: Names): HTMLElement {
  const env = i.entry.envelope;
  const d = i.d;
  // A late entry is the platform's own notion of "late": a fact entered after the programme's
  // business time had passed its date, with the reason it came late. Its occurredAt is only
  // claimed; it took effect at the business time when it was entered. (A gap between recorded
  // and occurred time alone means nothing: a programme loaded from its records at once has
  // that gap on every event, so it is not marked.)
  const lateReason = env.lateReason ?? '';
  const sup = supersededBy.get(env.eventId);
  const corrected = d.correctsEventId ? byId.get(d.correctsEventId) : undefined;
  const tags: Child[] = [];
  if (d.correctsEventId) tags.push(badge('Correction', 'warn'));
  if (d.retractsEventId) tags.push(badge('Retraction', 'warn'));
  if (sup) tags.push(badge(sup.d.retractsEventId ? 'Retracted' : 'Superseded', 'neutral'));
  if (d.criteriaVersion) tags.push(badge(`Criteria v${d.criteriaVersion}`, 'accent'));
  if (lateReason) {
    const b = badge('Late entry', 'warn',
      `Entered late on ${dateTime(env.recordedAt)}, claimed to have happened ${dateTime(env.occurredAt)}. `
      + `Reason: ${lateReason}. It counts from the programme's business time when it was entered, not from the claimed date.`);
    b.dataset.testid = 'late-entry-badge';
    tags.push(b);
  }

  const title = d.correctsEventId && d.type === 'AccountAssessed' ? 'Correction of an earlier assessment' : d.title;
  const subtitle = d.correctsEventId && d.type === 'AccountAssessed' ? capitalise(d.title.replace(/^Correction of an earlier assessment: /, '')) : '';

  const jump = h('button', { class: 'btn btn-link btn-small', attrs: { type: 'button' }, text: 'Show the account as of this event' });
  jump.addEventListener('click', () => panel.jumpTo(i));

  return h('li', {
    class: `tl-item tone-${d.tone}${sup ? ' is-superseded' : ''}${d.correctsEventId ? ' is-correction' : ''}`,
    testid: 'timeline-item',
    data: { eventType: d.type, eventId: env.eventId, superseded: sup ? 'true' : undefined, lateEntry: lateReason ? 'true' : undefined },
  },
  h('span', { class: 'tl-dot', attrs: { 'aria-hidden': 'true' } }),
  h('div', 'tl-body',
    h('div', 'tl-head', h('h3', { class: 'tl-title', text: title }), tags.length ? h('span', 'tl-tags', tags) : null),
    h('p', { class: 'tl-later', text: 'After the moment chosen in “as of”' }),
    subtitle ? h('p', { class: 'tl-subtitle', text: subtitle }) : null,
    lateReason ? h('p', { class: 'tl-note tl-late', testid: 'late-entry-note', text: `Entered late: ${lateReason} (claimed ${date(env.occurredAt)})` }) : null,
    sup ? h('p', { class: 'tl-note', text: `${sup.d.retractsEventId ? 'Retracted' : 'Superseded by a correction'} recorded ${dateTime(sup.entry.envelope.recordedAt)}; it no longer counts.` }) : null,
    corrected ? h('p', { class: 'tl-note', text: `Corrects the assessment of ${dateTime(corrected.entry.envelope.occurredAt)}.` }) : (d.correctsEventId ? h('p', { class: 'tl-note', text: `Corrects event ${d.correctsEventId}.` }) : null),
    h('p', 'tl-meta',
      h('span', null, 'By ', h('strong', { text: names.actor(env.actor) })),
      h('span', null, lateReason ? 'Claimed to have occurred ' : 'Occurred ', h('time', { attrs: { datetime: env.occurredAt }, text: dateTime(env.occurredAt) })),
      h('span', null, 'Recorded ', h('time', { attrs: { datetime: env.recordedAt }, text: dateTime(env.recordedAt) }))),
    d.why.length ? h('div', 'tl-why', d.why.map((w) => h('p', null, h('span', { class: 'why-label', text: `${w.label}: ` }), h('span', { text: w.value })))) : null,
    d.facts.length ? h('dl', 'tl-facts', d.facts.flatMap((f) => [h('dt', { text: f.label }), h('dd', { text: f.value })])) : null,
    h('div', 'tl-actions', jump)));
}

// --- The "as of" panel ------------------------------------------------------------------------

class AsOfPanel {
  readonly el: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly axisSel: HTMLSelectElement;
  private readonly timeEl: HTMLElement;
  private readonly result: HTMLElement;
  private readonly status: HTMLElement;
  /** The slider's range in seconds since the epoch, midnight to midnight (UTC), a day a step. */
  private readonly minSec: number;
  private readonly maxSec: number;
  private time: Date | null = null; // null: now
  private axis: TimeAxis;
  private abort: AbortController | null = null;
  private seq = 0;
  private readonly fetchLater = debounce(() => void this.fetch(), 300);

  constructor(
    private readonly ctx: ViewContext,
    private readonly accountId: string,
    private readonly current: ProgrammeView,
    first: HistoryEntry | null,
    private readonly items: Item[],
  ) {
    const now = Date.now();
    const f = first?.envelope;
    const times = [f?.occurredAt, f?.recordedAt].map((s) => (s ? parseDate(s)?.getTime() : undefined)).filter((x): x is number => x !== undefined);
    const startMs = times.length ? Math.min(...times) : now - 365 * DAY_MS;
    this.minSec = Math.floor(startMs / DAY_MS) * (DAY_MS / 1000); // midnight UTC
    this.maxSec = Math.max(this.minSec + DAY_MS / 1000, Math.ceil(now / DAY_MS) * (DAY_MS / 1000));
    const mem = remembered.get(accountId);
    this.axis = mem?.axis ?? 'effective';
    this.time = mem?.time ?? null;

    const sliderId = `asof-slider-${accountId}`;
    const axisId = `asof-axis-${accountId}`;
    this.axisSel = h('select', { testid: 'asof-axis', attrs: { id: axisId } },
      h('option', { attrs: { value: 'effective' }, text: 'As effective (business time)' }),
      h('option', { attrs: { value: 'recorded' }, text: 'As recorded (system time)' }));
    this.axisSel.value = this.axis;
    this.slider = h('input', {
      testid: 'asof-slider',
      attrs: {
        id: sliderId, type: 'range', min: String(this.minSec), max: String(this.maxSec), step: String(DAY_MS / 1000),
        'aria-describedby': `asof-help-${accountId}`,
      },
      // The value is a moment in seconds since 1970-01-01 UTC (a midnight); the maximum is now.
      data: { unit: 'epoch-seconds', minTime: new Date(this.minSec * 1000).toISOString(), maxTime: 'now' },
    });
    this.slider.value = this.valueOf(this.time);
    this.timeEl = h('p', { class: 'asof-time', testid: 'asof-time' });
    this.result = h('div', { class: 'asof-result', attrs: { 'aria-live': 'polite' } });
    this.status = h('p', { class: 'asof-status', attrs: { role: 'status' } });
    const nowBtn = h('button', { class: 'btn btn-secondary btn-small', attrs: { type: 'button' }, text: 'Back to now' });
    nowBtn.addEventListener('click', () => this.set(null));

    this.slider.addEventListener('input', () => {
      const ms = Number(this.slider.value) * 1000;
      this.set(ms >= Date.now() ? null : new Date(ms), true);
    });
    this.axisSel.addEventListener('change', () => {
      this.axis = this.axisSel.value === 'recorded' ? 'recorded' : 'effective';
      this.set(this.time, true);
    });

    this.el = h('section', { class: 'card asof-panel', attrs: { 'aria-labelledby': 'asof-title' } },
      h('h2', { class: 'card-title', text: 'The account as of a moment', attrs: { id: 'asof-title' } }),
      h('p', { class: 'card-note', attrs: { id: `asof-help-${accountId}` }, text: 'Move the slider to see the account as it stood then: as recorded by then (what the system knew), or as effective then (what had happened, including facts recorded later).' }),
      h('div', 'field', h('label', { attrs: { for: axisId }, text: 'Time axis' }), this.axisSel),
      h('div', 'field',
        h('label', { attrs: { for: sliderId }, text: 'As of' }),
        this.slider,
        h('div', 'range-ends', h('span', { text: date(new Date(this.minSec * 1000)) }), h('span', { text: 'now' }))),
      this.timeEl,
      this.result,
      this.status,
      h('div', 'asof-actions', nowBtn));
    this.showTime();
  }

  /** The slider position for a moment: its day's midnight (now: the end). */
  private valueOf(t: Date | null): string {
    if (!t) return String(this.maxSec);
    const day = Math.floor(t.getTime() / DAY_MS) * (DAY_MS / 1000);
    return String(Math.max(this.minSec, Math.min(this.maxSec, day)));
  }

  private showTime(): void {
    const t = this.time;
    const text = t ? `${this.axis === 'recorded' ? 'As recorded by' : 'As effective at'} ${dateTime(t)}` : `Now (${dateTime(new Date())}), everything recorded`;
    this.timeEl.textContent = text;
    this.timeEl.dataset.time = t ? t.toISOString() : 'now';
    this.slider.setAttribute('aria-valuetext', t ? dateTime(t) : 'now');
    // Events after the moment (on the chosen axis) are faded in the timeline.
    for (const i of this.items) {
      const at = this.axis === 'recorded' ? i.recorded : i.occurred;
      i.el.classList.toggle('is-future', !!t && !!at && at.getTime() > t.getTime());
    }
  }

  /** Moves to a moment (null: now) and fetches the account as of then. */
  set(t: Date | null, fromControl = false): void {
    this.time = t;
    remembered.set(this.accountId, { axis: this.axis, time: t });
    if (!fromControl) this.slider.value = this.valueOf(t);
    this.showTime();
    this.ctx.setReady(false);
    this.status.textContent = 'Loading…';
    this.fetchLater();
  }

  jumpTo(i: Item): void {
    const t = this.axis === 'recorded' ? i.recorded : i.occurred;
    if (!t) return;
    this.set(t);
    this.slider.focus();
  }

  async load(): Promise<void> {
    await this.fetch();
  }

  private async fetch(): Promise<void> {
    this.fetchLater.cancel();
    this.abort?.abort();
    const ac = new AbortController();
    this.abort = ac;
    const onLeave = (): void => ac.abort();
    this.ctx.signal.addEventListener('abort', onLeave, { once: true });
    const seq = ++this.seq;
    const t = this.time ?? new Date();
    let view: ProgrammeView | null = null;
    let err: unknown = null;
    try {
      view = (await api.programme(this.ctx.programmeId, { time: t, axis: this.axis }, ac.signal)).programme;
    } catch (e) {
      if (isAbort(e) || this.ctx.signal.aborted) return;
      if (!(e instanceof ApiError && e.status === 404)) err = e;
    } finally {
      this.ctx.signal.removeEventListener('abort', onLeave);
    }
    if (seq !== this.seq) return;
    this.render(view, err);
    this.status.textContent = '';
    this.ctx.setReady(true);
  }

  private render(view: ProgrammeView | null, err: unknown): void {
    clear(this.result);
    if (err) {
      this.result.append(errorBox(err, 'the account at that moment'));
      return;
    }
    const a = view?.accounts.find((x) => x.accountId === this.accountId);
    const names = new Names(view ?? this.current);
    const row = (label: string, value: Child, testid?: string): HTMLElement[] => [h('dt', { text: label }), h('dd', { testid }, value)];
    const stageWord = a ? a.stage : 'not yet nominated';
    this.result.append(
      h('dl', 'facts facts-tight',
        row('Stage', h('span', { class: `stage-word stage-${a ? a.stage : 'absent'}`, text: stageWord }), 'asof-stage'),
        row('Sponsor', a?.sponsor ? names.person(a.sponsor) : '—'),
        row('Manager', a?.manager ? names.person(a.manager) : '—'),
        row('Weighted score', a && a.criteriaVersion ? `${score(a.weightedScore)} (criteria v${a.criteriaVersion})` : '—'),
        row('Programme', view ? `${view.admittedKeyAccounts} admitted key accounts; criteria v${view.criteriaVersion || '—'}` : 'Not yet chartered')),
    );
  }
}
