// What the page holds in memory: the session (its CSRF token never leaves memory), the
// chosen programme, a cache of the read API's answers (emptied when the live feed reports
// a change), and the "ready" signal the browser tests wait on.
import { api } from './api';
import type {
  GetEconomicsResponse,
  GetRegisterResponse,
  GetScorecardResponse,
  HistoryEntry,
  ProgrammeSummary,
  ProgrammeView,
  Session,
  VerifyHistoryResponse,
} from './types';

export interface AppState {
  session: Session | null;
  programmes: ProgrammeSummary[];
  programmeId: string;
}

export const state: AppState = { session: null, programmes: [], programmeId: '' };

/** document.body.dataset.ready / window.__kamReady: true once the view has its data. */
export function setReady(ready: boolean): void {
  document.body.dataset.ready = ready ? 'true' : 'false';
  (window as unknown as { __kamReady: boolean }).__kamReady = ready;
}

export class DataCache {
  private readonly memo = new Map<string, Promise<unknown>>();
  constructor(readonly programmeId: string) {}

  private get<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      this.memo.set(key, p);
      p.catch(() => {
        if (this.memo.get(key) === p) this.memo.delete(key);
      });
    }
    return p;
  }

  programme(): Promise<ProgrammeView> {
    return this.get('programme', async () => (await api.programme(this.programmeId)).programme);
  }
  scorecard(): Promise<GetScorecardResponse> {
    return this.get('scorecard', () => api.scorecard(this.programmeId));
  }
  register(): Promise<GetRegisterResponse> {
    return this.get('register', () => api.register(this.programmeId));
  }
  verification(): Promise<VerifyHistoryResponse> {
    return this.get('verification', () => api.verification(this.programmeId));
  }
  /** Every account's economics, by account id (one request for the whole portfolio). */
  private portfolioEconomics(): Promise<Map<string, GetEconomicsResponse>> {
    return this.get('economics', async () => {
      const r = await api.portfolioEconomics(this.programmeId);
      return new Map(r.accounts.map((a) => [a.accountId, a.economics] as const));
    });
  }
  /** null when the account has no published metrics. */
  async economics(accountId: string): Promise<GetEconomicsResponse | null> {
    return (await this.portfolioEconomics()).get(accountId) ?? null;
  }
  async economicsOf(accountIds: string[]): Promise<Map<string, GetEconomicsResponse | null>> {
    const all = await this.portfolioEconomics();
    return new Map(accountIds.map((id) => [id, all.get(id) ?? null] as const));
  }
  accountHistory(accountId: string): Promise<HistoryEntry[]> {
    return this.get(`history/${accountId}`, () => api.history(this.programmeId, accountId));
  }
  /** The programme's first event: where the "as of" slider starts. Never invalidated. */
  firstEvent(): Promise<HistoryEntry | null> {
    return this.get('first', async () => {
      const r = await api.historyPage(this.programmeId, { pageSize: 1 });
      return r.entries[0] ?? null;
    });
  }

  /** Forget everything that a new event can change. */
  invalidate(): void {
    for (const k of [...this.memo.keys()]) if (k !== 'first') this.memo.delete(k);
  }
}

let cache: DataCache | null = null;
export function data(): DataCache {
  if (!cache || cache.programmeId !== state.programmeId) cache = new DataCache(state.programmeId);
  return cache;
}
export function resetData(): void {
  cache = null;
}
