// The programme's live change feed (Server-Sent Events), open for as long as someone is
// logged in, whatever the view: the header's verification line and the current view
// refresh when it delivers an event, and the Live view lists what arrived.
import { api } from './api';
import type { HistoryEntry } from './types';

export type FeedStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface Received {
  entry: HistoryEntry;
  receivedAt: Date;
  seq: number;
}

type Listener = (r: Received) => void;
type StatusListener = (s: FeedStatus) => void;

const MAX_KEPT = 200;

class Feed {
  private es: EventSource | null = null;
  private programmeId = '';
  private retryTimer: number | undefined;
  private retryDelay = 3000;
  private seqNo = 0;
  /** The cursor of the last event received: a feed opened anew resumes after it. */
  private lastId = '';
  status: FeedStatus = 'offline';
  /** Called when the feed closed for good (it may be the session that ended). */
  onClosed: (() => void) | null = null;
  /** Newest first. */
  readonly received: Received[] = [];
  private readonly listeners = new Set<Listener>();
  private readonly statusListeners = new Set<StatusListener>();

  start(programmeId: string): void {
    if (this.es && this.programmeId === programmeId) return;
    this.stop();
    this.programmeId = programmeId;
    this.received.length = 0;
    this.lastId = '';
    this.open();
  }

  stop(): void {
    window.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.es) {
      this.es.close();
      this.es = null;
    }
    this.programmeId = '';
    this.setStatus('offline');
  }

  onEvent(f: Listener): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  onStatus(f: StatusListener): () => void {
    this.statusListeners.add(f);
    f(this.status);
    return () => this.statusListeners.delete(f);
  }

  private open(): void {
    if (!this.programmeId) return;
    this.setStatus(this.status === 'offline' ? 'connecting' : 'reconnecting');
    const es = new EventSource(api.feedUrl(this.programmeId, this.lastId));
    this.es = es;
    es.onopen = (): void => {
      this.retryDelay = 3000;
      this.setStatus('connected');
    };
    es.addEventListener('change', (ev: MessageEvent<string>) => {
      let entry: HistoryEntry;
      try {
        entry = JSON.parse(ev.data) as HistoryEntry;
      } catch {
        return;
      }
      if (!entry || !entry.envelope) return;
      if (ev.lastEventId) this.lastId = ev.lastEventId;
      this.seqNo += 1;
      const r: Received = { entry, receivedAt: new Date(), seq: this.seqNo };
      this.received.unshift(r);
      if (this.received.length > MAX_KEPT) this.received.length = MAX_KEPT;
      for (const f of this.listeners) f(r);
    });
    es.addEventListener('end', () => {
      // The read side ended the feed: reopen after a pause.
      this.retryLater(es);
    });
    es.onerror = (): void => {
      if (es.readyState === EventSource.CONNECTING) {
        this.setStatus('reconnecting'); // the browser retries by itself (retry: 3000)
      } else {
        this.retryLater(es); // closed for good (e.g. 503: too many feeds): we retry
      }
    };
  }

  private retryLater(es: EventSource): void {
    if (this.es !== es) return;
    es.close();
    this.es = null;
    this.setStatus('reconnecting');
    this.onClosed?.();
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.open(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, 30000);
  }

  private setStatus(s: FeedStatus): void {
    if (this.status === s) return;
    this.status = s;
    for (const f of this.statusListeners) f(s);
  }
}

export const feed = new Feed();
