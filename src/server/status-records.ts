/**
 * A status as the store keeps it (record kind `status`, subject to retention).
 *
 * The columns a status needs in the clear for retention and receipts — wamid, the user's wa_id,
 * the status and its time — are the whole of a plain `sent`, `delivered` or `read` event. Only
 * what goes beyond them (the business's `biz_opaque_callback_data`, `errors`, `pricing`) is
 * sealed at rest under the business's data key; an event with nothing beyond its columns stores
 * no sealed bytes (an empty `sealed`), so a send pays for one AES-GCM seal less and nothing
 * readable is added at rest either way.
 */
import { recordKey, type BusinessRecord, type StatusRecord } from '../store/store.js';
import type { AtRest } from './at-rest.js';
import type { StatusEvent } from './webhook-payloads.js';

const NOTHING_SEALED = new Uint8Array(0);

/** True when the event carries something its clear columns do not. */
function hasSealedPart(event: StatusEvent): boolean {
  return event.biz_opaque_callback_data !== undefined || event.errors !== undefined || event.pricing !== undefined;
}

export function statusRecord(atRest: AtRest, business: Pick<BusinessRecord, 'phone_number_id' | 'region' | 'wrapped_data_key'>, event: StatusEvent): StatusRecord {
  const pnid = business.phone_number_id;
  return {
    phone_number_id: pnid,
    id: event.id,
    wa_id: event.recipient_id,
    status: event.status,
    at_ms: event.timestamp_ms,
    sealed: hasSealedPart(event) ? atRest.sealJsonForBusiness(business, 'status', recordKey.status(pnid, event.id, event.status), event) : NOTHING_SEALED,
  };
}
