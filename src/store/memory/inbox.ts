/**
 * The memory store's InboxStore (per-device inboxes of ciphertexts, with cursors).
 */
import { StoreError } from '../store.js';
import type { InboxStore, InboxAppend, InboxEntry, InboxPage } from '../store.js';
import { lowerBoundBy } from '../memory-buckets.js';
import { deviceAddress, MemoryContext, type StoredInbox } from './context.js';

export function memoryInbox(ctx: MemoryContext): InboxStore {
  return {
    async appendInbox(entries: readonly InboxAppend[]): Promise<readonly number[]> {
      for (const e of entries) {
        if (!ctx.businessRegion.has(e.phone_number_id)) throw new StoreError('not-found', `business ${e.phone_number_id}`);
        ctx.device(e.wa_id, e.device_id);
      }
      const cursors: number[] = [];
      for (const e of entries) {
        const partition = ctx.businessPartition(e.phone_number_id);
        const contact = ctx.contacts.get(e.wa_id)!;
        const cursor = (contact.inboxSeq.get(e.device_id) ?? 0) + 1;
        contact.inboxSeq.set(e.device_id, cursor);
        // Explicit fields (one object shape for every entry; a spread of a caller's object is slower).
        const entry: InboxEntry = { phone_number_id: e.phone_number_id, wa_id: e.wa_id, device_id: e.device_id, id: e.id, created_at_ms: e.created_at_ms, sealed: e.sealed, cursor };
        const stored: StoredInbox = { entry, expired: false };
        const address = deviceAddress(e.wa_id, e.device_id);
        let inbox = partition.inbox.get(address);
        if (inbox === undefined) partition.inbox.set(address, (inbox = { entries: [], head: 0 }));
        inbox.entries.push(stored);
        partition.buckets.at(e.created_at_ms).inbox.push(stored);
        cursors.push(cursor);
      }
      ctx.counts.inbox += entries.length;
      return cursors;
    },

    async readInbox(waId: string, deviceId: number, after: number, limit: number, maxBytes = Number.POSITIVE_INFINITY): Promise<InboxPage> {
      const address = deviceAddress(waId, deviceId);
      const max = Math.max(0, Math.floor(limit));
      const found: InboxEntry[] = [];
      for (const partition of ctx.partitions.values()) {
        const inbox = partition.inbox.get(address);
        if (inbox === undefined) continue;
        const entries = inbox.entries;
        let i = Math.max(inbox.head, lowerBoundBy(entries, after + 1, (s) => s.entry.cursor));
        let taken = 0;
        for (; i < entries.length && taken < max; i++) {
          const stored = entries[i]!;
          if (stored.expired) continue;
          found.push(stored.entry);
          taken++;
        }
      }
      found.sort((a, b) => a.cursor - b.cursor);
      if (found.length > max) found.length = max;
      let bytes = 0;
      for (let i = 0; i < found.length; i++) {
        bytes += found[i]!.sealed.length;
        if (bytes > maxBytes && i > 0) {
          found.length = i;
          break;
        }
      }
      return { entries: found, cursor: found.length > 0 ? found[found.length - 1]!.cursor : after };
    },
  };
}
