import type { DataCache } from '../state';
import type { ProgrammeSummary, Session } from '../types';

export interface ViewContext {
  data: DataCache;
  programmeId: string;
  programme: ProgrammeSummary | undefined;
  session: Session;
  /** Aborted when the view is left. */
  signal: AbortSignal;
  /** The route's parameter (an account id) if any. */
  param: string;
  /** Marks the view loading again (false) or loaded (true), e.g. while the slider fetches. */
  setReady(ready: boolean): void;
  /** Re-render on a live change (true: a refresh, keep the view's own state). */
  refreshing: boolean;
}
