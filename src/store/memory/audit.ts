/**
 * The memory store's AuditStore (the listing of every record at rest in a region).
 */
import { toBase64 } from '../../encoding/base64.js';
import { DEFAULT_REGION, REGIONS, StoreError, recordKey } from '../store.js';
import type { AuditStore, AuditRecord, RecordKind, Region } from '../store.js';
import { MemoryContext } from './context.js';

export function memoryAudit(ctx: MemoryContext): AuditStore {
  return {
    async *auditRecords(region: Region): AsyncIterable<AuditRecord> {
      if (!REGIONS.includes(region)) throw new StoreError('invalid', `unknown region ${String(region)}`);
      const partition = ctx.partition(region);
      const line = (kind: RecordKind, key: string, storedAtMs: number, bytes: Uint8Array): AuditRecord => ({ region, kind, key, stored_at: iso(storedAtMs), bytes: toBase64(bytes) });
      const empty = new Uint8Array(0);
      // Snapshots: the caller may await between records while the store changes.
      for (const b of [...partition.businesses.values()]) {
        yield line('business', recordKey.business(b.phone_number_id), b.created_at_ms, b.sealed_profile);
        yield line('business_key', recordKey.businessDataKey(b.phone_number_id), b.created_at_ms, b.wrapped_data_key);
        const identity = partition.identities.get(b.phone_number_id);
        if (identity !== undefined) yield line('business_key', recordKey.businessIdentity(b.phone_number_id), identity.updated_at_ms, identity.sealed);
        for (const p of [...(partition.businessPreKeys.get(b.phone_number_id)?.values() ?? [])]) {
          yield line('business_key', recordKey.businessPreKey(b.phone_number_id, p.preKey.id), p.stored_at_ms, p.preKey.sealed);
        }
      }
      if (region === DEFAULT_REGION) {
        for (const c of [...ctx.contacts.values()]) {
          yield line('contact', recordKey.contact(c.wa_id), c.created_at_ms, empty);
          for (const d of [...c.devices.values()]) {
            yield line('contact', recordKey.device(c.wa_id, d.record.device_id), d.record.registered_at_ms, d.record.sealed_keys);
            for (const p of [...d.preKeys.values()]) yield line('contact', recordKey.devicePreKey(c.wa_id, d.record.device_id, p.preKey.id), p.stored_at_ms, p.preKey.sealed);
          }
          for (const deviceId of [...c.inboxSeq.keys()]) yield line('contact', recordKey.inboxCursor(c.wa_id, deviceId), c.created_at_ms, empty);
        }
      }
      for (const byUser of [...partition.conversations.values()]) {
        for (const c of [...byUser.values()]) yield line('contact', recordKey.conversation(c.phone_number_id, c.wa_id), c.stored_at_ms, empty);
      }
      for (const [address, byBusiness] of [...partition.sessions]) {
        for (const [pnid, s] of [...byBusiness]) yield line('session', `${pnid}/${address}`, s.stored_at_ms, s.sealed); // = recordKey.session
      }
      for (const bucket of [...partition.buckets.values()]) {
        for (const m of bucket.messages.slice()) yield line('message', recordKey.message(m.phone_number_id, m.id), m.created_at_ms, m.sealed);
        for (const e of bucket.inbox.slice()) {
          if (!e.expired) yield line('inbox', recordKey.inbox(e.entry.wa_id, e.entry.device_id, e.entry.id), e.entry.created_at_ms, e.entry.sealed);
        }
        for (const s of bucket.statuses.slice()) yield line('status', recordKey.status(s.phone_number_id, s.id, s.status), s.at_ms, s.sealed);
        for (const q of bucket.webhooks.slice()) {
          if (!q.gone) yield line('webhook', recordKey.webhook(q.item.phone_number_id, q.item.id), q.item.created_at_ms, q.item.sealed);
        }
      }
    },
  };
}

/** Standard base64 with padding of the bytes exactly as stored. */
/** ISO 8601 UTC. */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}
