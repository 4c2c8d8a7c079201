// Numbers, money, dates and names as a person reads them. Money arrives in minor units
// (cents) as strings; dates are ISO calendar dates or RFC 3339 times, shown in UTC.
import type { ProgrammeView } from './types';

const LOCALE = 'en-GB';

const fractionDigitsCache = new Map<string, number>();
/** How many minor units a currency has (2 for EUR, 0 for JPY). */
export function minorDigits(currency: string): number {
  let d = fractionDigitsCache.get(currency);
  if (d === undefined) {
    try {
      d = new Intl.NumberFormat(LOCALE, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      d = 2;
    }
    fractionDigitsCache.set(currency, d);
  }
  return d;
}

/** Minor units (string or number) to major units as a number, for charts. */
export function toMajor(minor: string | number, currency: string): number {
  const n = typeof minor === 'number' ? minor : Number(minor);
  if (!Number.isFinite(n)) return 0;
  return n / 10 ** minorDigits(currency);
}

const moneyFormats = new Map<string, Intl.NumberFormat>();
function moneyFormat(currency: string, compact: boolean): Intl.NumberFormat {
  const key = `${currency}/${compact}`;
  let f = moneyFormats.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(LOCALE, compact
        ? { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 }
        : { style: 'currency', currency, maximumFractionDigits: 0, minimumFractionDigits: 0 });
    } catch {
      f = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: compact ? 1 : 0 });
    }
    moneyFormats.set(key, f);
  }
  return f;
}

/** "€1,234,567" from minor units; the minus is a real minus sign. */
export function money(minor: string | number, currency: string): string {
  return fixMinus(moneyFormat(currency, false).format(toMajor(minor, currency)));
}

/** "€1,234,567" from an amount already in major units. */
export function moneyMajor(major: number, currency: string): string {
  return fixMinus(moneyFormat(currency, false).format(major));
}

/** "€17.6M" from major units, for chart axes. */
export function moneyCompact(major: number, currency: string): string {
  return fixMinus(moneyFormat(currency, true).format(major));
}

function fixMinus(s: string): string {
  return s.replace(/^-/, '\u2212');
}

export function isNegative(minor: string | number): boolean {
  return Number(minor) < 0;
}

export function percent(ratio: number, digits = 1): string {
  if (!Number.isFinite(ratio)) return '—';
  return fixMinus(new Intl.NumberFormat(LOCALE, { style: 'percent', maximumFractionDigits: digits }).format(ratio));
}

export function score(n: number): string {
  return new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 }).format(n);
}

export function integer(n: number | string): string {
  return new Intl.NumberFormat(LOCALE).format(Number(n));
}

const dateFmt = new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const dateTimeFmt = new Intl.DateTimeFormat(LOCALE, {
  day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', hourCycle: 'h23',
});

/** "15 Feb 2025" from "2025-02-15" or an RFC 3339 time; "—" when empty. */
export function date(s: string | undefined | Date): string {
  if (!s) return '—';
  const d = s instanceof Date ? s : parseDate(s);
  return d ? dateFmt.format(d) : String(s);
}

/** "15 Feb 2025, 10:00 UTC". */
export function dateTime(s: string | undefined | Date): string {
  if (!s) return '—';
  const d = s instanceof Date ? s : parseDate(s);
  return d ? `${dateTimeFmt.format(d)} UTC` : String(s);
}

export function parseDate(s: string): Date | null {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  return Number.isNaN(d.getTime()) ? null : d;
}

export const DAY_MS = 86_400_000;

/** Whole days from an ISO date to now (UTC). */
export function daysSince(isoDate: string, now = new Date()): number | null {
  const d = parseDate(isoDate);
  if (!d) return null;
  return Math.floor((now.getTime() - d.getTime()) / DAY_MS);
}

export function days(n: number): string {
  return `${integer(n)} ${n === 1 ? 'day' : 'days'}`;
}

export function plural(n: number, one: string, many: string): string {
  return `${integer(n)} ${n === 1 ? one : many}`;
}

export function capitalise(s: string): string {
  return s ? s.charAt(0).toUpperCase() + s.slice(1) : s;
}

/** SKILL_FINANCE -> finance; PERSON_FUNCTION_SUPPLY_CHAIN -> supply chain. */
export function enumWords(v: string, prefix: string): string {
  return v.replace(prefix, '').toLowerCase().replace(/_/g, ' ');
}
export const skillName = (s: string): string => enumWords(s, 'SKILL_');
export const functionName = (s: string): string => enumWords(s, 'PERSON_FUNCTION_');
export const metricName = (s: string): string => {
  const w = enumWords(s, 'METRIC_KIND_');
  return w === 'customer lifetime value' ? 'lifetime value' : w;
};

/** Names of people and accounts of a programme, by id. */
export class Names {
  private readonly people = new Map<string, string>();
  private readonly principals = new Map<string, string>();
  private readonly accounts = new Map<string, string>();
  constructor(p?: ProgrammeView) {
    if (p) {
      for (const x of p.people) {
        this.people.set(x.personId, x.name);
        if (x.principal) this.principals.set(x.principal, x.name);
      }
      for (const a of p.accounts) this.accounts.set(a.accountId, a.name);
    }
  }
  /** Who an event's actor (a principal) is: "Kim Tanaka (kam@supplier.example)". */
  actor(principal: string): string {
    if (!principal) return 'unknown';
    if (isSealed(principal)) return sealed(principal);
    const name = this.principals.get(principal);
    return name ? `${name} (${principal})` : principal;
  }
  person(id: string): string {
    if (!id) return '—';
    return this.people.get(id) ?? id;
  }
  account(id: string): string {
    if (!id) return '—';
    return this.accounts.get(id) ?? id;
  }
  hasAccount(id: string): boolean {
    return this.accounts.has(id);
  }
  addAccount(id: string, name: string): void {
    if (name && !this.accounts.has(id)) this.accounts.set(id, name);
  }
}

/** A finding's subject "account <id>" -> the id; anything else (e.g. "programme") -> null. */
export function subjectAccount(subject: string): string | null {
  const m = /^account\s+(\S+)$/.exec(subject.trim());
  return m ? m[1] ?? null : null;
}

/** A personal value the read side did not open for this reader (docs/topics.md, "Personal
 * data"): "kam-pd1:<programme>/<person>:<ciphertext>". */
export function isSealed(value: string): boolean {
  return value.startsWith('kam-pd1:');
}

/** A sealed value as a reader sees it: whose it is, never the ciphertext. */
export function sealed(value: string): string {
  const m = /^kam-pd1:([^:]+):/.exec(value);
  return m ? `[sealed: ${m[1]}]` : value;
}
