// The gateway's HTTP API (docs/gateway.md). Same origin, cookie session; every error is
// JSON {"error": {"code", "status", "message", "rule", "field"}}.
import type {
  ApiErrorBody,
  GetHistoryResponse,
  GetPortfolioEconomicsResponse,
  GetProgrammeResponse,
  GetRegisterResponse,
  GetScorecardResponse,
  HistoryEntry,
  ListProgrammesResponse,
  Session,
  SessionProbe,
  TimeAxis,
  VerifyHistoryResponse,
} from './types';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly rule: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

/** Called when a request finds the session gone (401 outside the login itself). */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Do not call the unauthorized handler on 401 (login and session probes). */
  quiet401?: boolean;
}

async function request<T>(path: string, o: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(o.headers ?? {}) };
  const init: RequestInit = {
    method: o.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
  };
  if (o.signal) init.signal = o.signal;
  if (o.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(o.body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    const err = (json as ApiErrorBody | undefined)?.error;
    const e = new ApiError(
      err?.message || `${res.status} ${res.statusText || 'request failed'}`,
      err?.status ?? res.status,
      err?.code ?? '',
      err?.rule ?? '',
      err?.field ?? '',
    );
    if (res.status === 401 && !o.quiet401 && onUnauthorized) onUnauthorized();
    throw e;
  }
  if (json === undefined) throw new ApiError(`unexpected response from ${path}`, res.status, '', '', '');
  return json as T;
}

const p = (id: string): string => `/api/programmes/${encodeURIComponent(id)}`;

export interface AsOf {
  time: Date;
  axis: TimeAxis;
}

function asOfQuery(asOf?: AsOf): string {
  if (!asOf) return '';
  const q = new URLSearchParams({ asOf: asOf.time.toISOString(), axis: asOf.axis });
  return `?${q.toString()}`;
}

export const api = {
  /** The current session, or null when the browser has none. */
  session: async (): Promise<Session | null> => {
    const s = await request<SessionProbe>('/api/session', { quiet401: true });
    if (!s.authenticated || !s.principal) return null;
    return { principal: s.principal, roles: s.roles ?? [], csrfToken: s.csrfToken ?? '' };
  },
  login: (token: string): Promise<Session> =>
    request<Session>('/api/session', { method: 'POST', body: { token }, quiet401: true }),
  logout: (csrfToken: string): Promise<void> =>
    request<void>('/api/session', {
      method: 'DELETE',
      headers: { 'X-CSRF-Token': csrfToken },
      quiet401: true,
    }),
  programmes: (signal?: AbortSignal): Promise<ListProgrammesResponse> =>
    request('/api/programmes', { signal }),
  programme: (id: string, asOf?: AsOf, signal?: AbortSignal): Promise<GetProgrammeResponse> =>
    request(`${p(id)}${asOfQuery(asOf)}`, { signal }),
  scorecard: (id: string, signal?: AbortSignal): Promise<GetScorecardResponse> =>
    request(`${p(id)}/scorecard`, { signal }),
  register: (id: string, signal?: AbortSignal): Promise<GetRegisterResponse> =>
    request(`${p(id)}/register`, { signal }),
  verification: (id: string, signal?: AbortSignal): Promise<VerifyHistoryResponse> =>
    request(`${p(id)}/verification`, { signal }),
  historyPage: (
    id: string,
    q: { account?: string; pageSize?: number; pageToken?: string },
    signal?: AbortSignal,
  ): Promise<GetHistoryResponse> => {
    const params = new URLSearchParams();
    if (q.account) params.set('account', q.account);
    if (q.pageSize) params.set('pageSize', String(q.pageSize));
    if (q.pageToken) params.set('pageToken', q.pageToken);
    const s = params.toString();
    return request(`${p(id)}/history${s ? `?${s}` : ''}`, { signal });
  },
  /** Every page of an account's (or the programme's) history, oldest first. */
  async history(id: string, account: string | undefined, signal?: AbortSignal): Promise<HistoryEntry[]> {
    const all: HistoryEntry[] = [];
    let token = '';
    for (let page = 0; page < 100; page++) {
      const r = await api.historyPage(id, { account, pageSize: 500, pageToken: token }, signal);
      all.push(...r.entries);
      token = r.nextPageToken;
      if (!token) break;
    }
    return all;
  },
  /** Every account's economics in one call (accounts without metrics are absent). */
  portfolioEconomics: (id: string, signal?: AbortSignal): Promise<GetPortfolioEconomicsResponse> =>
    request(`${p(id)}/economics`, { signal }),
  /** The feed; `after` (a cursor it sent) resumes where a closed feed stopped. */
  feedUrl: (id: string, after?: string): string =>
    `${p(id)}/feed${after ? `?after=${encodeURIComponent(after)}` : ''}`,
};
