// The gateway's HTTP API (docs/gateway.md). Same origin, cookie session; every error is
// JSON {"error": {"code", "status", "message", "rule", "field"}}.
import type {
  ApiErrorBody,
  GetEconomicsResponse,
  GetHistoryResponse,
  GetProgrammeResponse,
  GetRegisterResponse,
  GetScorecardResponse,
  HistoryEntry,
  ListProgrammesResponse,
  Session,
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
  session: (): Promise<Session> => request<Session>('/api/session', { quiet401: true }),
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
  /** null when the account has no metrics (404). */
  economics: async (id: string, account: string, signal?: AbortSignal): Promise<GetEconomicsResponse | null> => {
    try {
      return await request<GetEconomicsResponse>(
        `${p(id)}/accounts/${encodeURIComponent(account)}/economics`,
        { signal },
      );
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  },
  feedUrl: (id: string): string => `${p(id)}/feed`,
};
