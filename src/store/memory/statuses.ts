/**
 * The memory store's StatusStore (message status events).
 */
import { StoreError } from '../store.js';
import type { StatusStore, StatusRecord } from '../store.js';
import { MemoryContext } from './context.js';

export function memoryStatuses(ctx: MemoryContext): StatusStore {
  return {
    async recordStatuses(records: readonly StatusRecord[]): Promise<void> {
      for (const r of records) {
        if (!ctx.businessRegion.has(r.phone_number_id)) throw new StoreError('not-found', `business ${r.phone_number_id}`);
      }
      for (const r of records) {
        const partition = ctx.businessPartition(r.phone_number_id);
        partition.buckets.at(r.at_ms).statuses.push(r);
        let byMessage = partition.statusesByMessage.get(r.phone_number_id);
        if (byMessage === undefined) partition.statusesByMessage.set(r.phone_number_id, (byMessage = new Map()));
        let history = byMessage.get(r.id);
        if (history === undefined) byMessage.set(r.id, (history = []));
        history.push(r);
        const conversation = ctx.conversation(partition, r.phone_number_id, r.wa_id, r.at_ms);
        if (conversation.last_status_ms === null || r.at_ms > conversation.last_status_ms) conversation.last_status_ms = r.at_ms;
        ctx.touchUser(r.wa_id, r.at_ms);
      }
      ctx.counts.statuses += records.length;
    },

    async listStatuses(phoneNumberId: string, wamid: string): Promise<readonly StatusRecord[]> {
      const region = ctx.businessRegion.get(phoneNumberId);
      if (region === undefined) return [];
      return [...(ctx.partition(region).statusesByMessage.get(phoneNumberId)?.get(wamid) ?? [])].sort((a, b) => a.at_ms - b.at_ms);
    },
  };
}
