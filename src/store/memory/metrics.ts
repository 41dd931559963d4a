/**
 * The memory store's MetricsStore (counts for the metrics endpoint and the spam guard).
 */
import type { MetricsStore, StoreMetrics } from '../store.js';
import { MemoryContext } from './context.js';

export function memoryMetrics(ctx: MemoryContext): MetricsStore {
  return {
    async metrics(): Promise<StoreMetrics> {
      let businesses = 0;
      for (const partition of ctx.partitions.values()) businesses += partition.businesses.size;
      return {
        webhook_queue_depth: ctx.counts.webhooks,
        businesses,
        contacts: ctx.contacts.size,
        devices: ctx.counts.devices,
        sessions: ctx.counts.sessions,
        messages: ctx.counts.messages,
        inbox_entries: ctx.counts.inbox,
        statuses: ctx.counts.statuses,
      };
    },
  };
}
