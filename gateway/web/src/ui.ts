// Small pieces shared by the views.
import { ApiError } from './api';
import { badge, h, link, type Child } from './dom';
import { capitalise } from './format';

export function pageHead(title: string, lede?: Child, actions?: Child): HTMLElement {
  return h('div', 'page-head',
    h('div', 'page-head-text',
      h('h1', { class: 'page-title', text: title, attrs: { tabindex: '-1' } }),
      lede ? h('p', 'lede', lede) : null),
    actions ? h('div', 'page-actions', actions) : null);
}

export function kpi(label: string, value: Child, note?: Child, tone?: 'ok' | 'warn' | 'bad', extra?: Child): HTMLElement {
  return h('div', { class: `kpi${tone ? ` kpi-${tone}` : ''}` },
    h('div', { class: 'kpi-label', text: label }),
    h('div', 'kpi-value', value),
    extra ?? null,
    note ? h('div', 'kpi-note', note) : null);
}

export function errorBox(e: unknown, what: string): HTMLElement {
  const msg = e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
  return h('div', { class: 'notice notice-bad', attrs: { role: 'alert' } },
    h('strong', { text: `Could not load ${what}. ` }),
    h('span', { text: msg }));
}

export function notice(text: Child, tone: 'info' | 'warn' = 'info'): HTMLElement {
  return h('div', { class: `notice notice-${tone}` }, text);
}

const STAGE_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'neutral' | 'accent'> = {
  admitted: 'ok',
  incubating: 'accent',
  nominated: 'neutral',
  rejected: 'neutral',
  retired: 'neutral',
};

export function stageBadge(stage: string): HTMLElement {
  return badge(stage ? capitalise(stage) : '—', STAGE_TONE[stage] ?? 'neutral');
}

export const STAGE_ORDER: Record<string, number> = { admitted: 0, incubating: 1, nominated: 2, retired: 3, rejected: 4 };

export function accountLink(id: string, name: string): HTMLAnchorElement {
  return link(`#/account/${encodeURIComponent(id)}`, name);
}

export function dash(): HTMLElement {
  return h('span', 'muted', h('span', { text: '—', attrs: { 'aria-hidden': 'true' } }), h('span', { class: 'sr-only', text: 'none' }));
}

/** A table that may be wider than the screen: it scrolls sideways (keyboard too), with a
 *  hint on narrow screens; its first column stays in view. */
export function wideTable(label: string, table: HTMLTableElement): HTMLElement {
  return h('div', 'wide-table',
    h('p', { class: 'scroll-hint', attrs: { 'aria-hidden': 'true' }, text: 'Scroll the table sideways to see every column →' }),
    h('div', { class: 'table-wrap table-wrap-wide', attrs: { tabindex: '0', role: 'region', 'aria-label': `${label} (scrolls sideways)` } }, table));
}
