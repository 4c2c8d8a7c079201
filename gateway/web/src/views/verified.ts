import { integer } from '../format';
import type { VerifyHistoryResponse } from '../types';

/** "History verified up to version N · intact", or where it breaks. */
export function verifiedText(v: VerifyHistoryResponse): { text: string; ok: boolean } {
  if (v.intact) return { text: `History verified up to version ${integer(v.eventsChecked)} · intact`, ok: true };
  const at = v.firstBreakVersion && v.firstBreakVersion !== '0' ? ` at version ${integer(v.firstBreakVersion)}` : '';
  return { text: `History verification FAILED: the hash chain breaks${at}${v.firstBreak ? ` (${v.firstBreak})` : ''}`, ok: false };
}
