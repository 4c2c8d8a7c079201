// #/live: the programme's events as they are recorded, newest first, without reloading.
// The feed itself runs app-wide (feed.ts); this view lists what it delivers.
import { h } from '../dom';
import { describe } from '../events';
import { api } from '../api';
import { dateTime, Names } from '../format';
import { feed, type FeedStatus, type Received } from '../feed';
import { accountLink, pageHead } from '../ui';
import type { ViewContext } from './context';

export function statusText(s: FeedStatus): string {
  switch (s) {
    case 'connected': return 'Live: connected';
    case 'connecting': return 'Connecting…';
    case 'reconnecting': return 'Reconnecting…';
    default: return 'Offline';
  }
}

export async function renderLive(root: HTMLElement, ctx: ViewContext): Promise<void> {
  let names = new Names(await ctx.data.programme());
  const indicator = h('p', { class: 'conn', attrs: { role: 'status' } });
  const list = h('ol', { class: 'live-list', testid: 'live-list', attrs: { 'aria-live': 'polite', 'aria-relevant': 'additions' } });
  const empty = h('p', { class: 'live-empty', text: 'Waiting for new events: what is recorded from now on appears here at once, without reloading.' });

  const item = (r: Received, fresh: boolean): HTMLElement => {
    const env = r.entry.envelope;
    const d = describe(env, names);
    const li = h('li', { class: `live-item${fresh ? ' is-new' : ''}`, testid: 'live-event', data: { eventType: d.type, eventId: env.eventId } },
      h('div', 'live-when', h('time', { attrs: { datetime: env.recordedAt }, text: dateTime(env.recordedAt) })),
      h('div', 'live-what',
        h('span', { class: 'live-title', text: d.title }),
        d.why[0] ? h('span', { class: 'live-why', text: `${d.why[0].label}: ${d.why[0].value}` }) : null,
        h('span', 'live-meta',
          d.accountId ? [accountLink(d.accountId, names.account(d.accountId)), ' · '] : h('span', { text: 'Programme · ' }),
          h('span', { text: `by ${names.actor(env.actor)}` }),
          env.occurredAt ? h('span', { class: 'muted', text: ` · occurred ${dateTime(env.occurredAt)}` }) : null)));
    if (fresh) window.setTimeout(() => li.classList.remove('is-new'), 6000);
    return li;
  };

  for (const r of feed.received) list.appendChild(item(r, false));
  // Before anything arrives, the latest events already recorded, so the view is never blank.
  const recent = h('ol', { class: 'live-list live-recent', attrs: { 'aria-label': 'Recorded before you opened the dashboard' } });
  const recentHead = h('h2', { class: 'section-title', text: 'Recorded earlier' });
  recentHead.hidden = true;
  try {
    const version = Number((await ctx.data.verification()).eventsChecked || '0');
    const shown = 15;
    const page = await api.historyPage(ctx.programmeId, { pageSize: shown, pageToken: String(Math.max(0, version - shown)) }, ctx.signal);
    const seen = new Set(feed.received.map((r) => r.entry.envelope.eventId));
    for (const entry of [...page.entries].reverse()) {
      if (seen.has(entry.envelope.eventId)) continue;
      const li = item({ entry, receivedAt: new Date(entry.envelope.recordedAt ?? Date.now()), seq: 0 }, false);
      li.removeAttribute('data-testid');
      recent.appendChild(li);
    }
    recentHead.hidden = recent.childElementCount === 0;
  } catch {
    /* the earlier events are a convenience; the live list works without them */
  }
  empty.hidden = feed.received.length > 0;

  const offEvent = feed.onEvent((r) => {
    void (async (): Promise<void> => {
      const nom = r.entry.envelope.event.accountNominated;
      if (nom && typeof nom.accountId === 'string' && typeof nom.accountName === 'string') names.addAccount(nom.accountId, nom.accountName);
      list.insertBefore(item(r, true), list.firstChild);
      empty.hidden = true;
      // Names may have changed (a new account or person): refresh them for the next items.
      try {
        names = new Names(await ctx.data.programme());
      } catch {
        /* keep the old names */
      }
    })();
  });
  const offStatus = feed.onStatus((s) => {
    indicator.textContent = statusText(s);
    indicator.className = `conn conn-${s}`;
  });
  ctx.signal.addEventListener('abort', () => {
    offEvent();
    offStatus();
  }, { once: true });

  root.append(
    pageHead('Live changes', 'Every event of the programme as it is recorded: who did what, to which account, and when.'),
    h('div', 'live-bar', indicator),
    empty,
    list,
    recentHead,
    recent,
  );
}
