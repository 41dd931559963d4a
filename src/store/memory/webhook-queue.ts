/**
 * The memory store's WebhookQueueStore (the bounded webhook retry queue).
 */
import { StoreError } from '../store.js';
import type { WebhookQueueStore, WebhookItem } from '../store.js';
import { MinHeap } from '../memory-buckets.js';
import { GONE_WEBHOOK, MemoryContext, type Partition, type QueuedWebhook, type BusinessQueue } from './context.js';

export function memoryWebhookQueue(ctx: MemoryContext): WebhookQueueStore {
  return {
    async enqueueWebhooks(items: readonly WebhookItem[]): Promise<void> {
      // Count what each business's queue would hold afterwards; refuse everything if any overflows.
      const adding = new Map<string, Set<string>>();
      for (const item of items) {
        const partition = ctx.businessPartition(item.phone_number_id);
        const queue = partition.webhooks.get(item.phone_number_id);
        if (queue?.items.has(item.id) === true) continue; // already queued: idempotent
        let ids = adding.get(item.phone_number_id);
        if (ids === undefined) adding.set(item.phone_number_id, (ids = new Set()));
        ids.add(item.id);
      }
      for (const [pnid, ids] of adding) {
        const depth = ctx.businessPartition(pnid).webhooks.get(pnid)?.items.size ?? 0;
        if (depth + ids.size > ctx.capacity) {
          throw new StoreError('queue-full', `webhook queue of ${pnid} holds ${depth} of ${ctx.capacity}; ${ids.size} more refused`);
        }
      }
      for (const item of items) {
        const partition = ctx.businessPartition(item.phone_number_id);
        const queue = ctx.queue(partition, item.phone_number_id);
        if (queue.items.has(item.id)) continue;
        const queued: QueuedWebhook = { item, generation: 0, gone: false };
        queue.items.set(item.id, queued);
        queue.heap.push(item.due_at_ms, item.id, 0);
        const bucket = partition.buckets.at(item.created_at_ms);
        bucket.webhooks.push(queued);
        bucket.webhooksLive += 1;
        ctx.counts.webhooks += 1;
      }
    },

    async claimWebhooks(nowMs: number, options: { limit: number; lease_ms: number; phone_number_id?: string; skip_phone_number_ids?: ReadonlySet<string>; per_business_limit?: number }): Promise<readonly WebhookItem[]> {
      const claimed: WebhookItem[] = [];
      const queues: [Partition, string, BusinessQueue][] = [];
      if (options.phone_number_id !== undefined) {
        const region = ctx.businessRegion.get(options.phone_number_id);
        const queue = region === undefined ? undefined : ctx.partition(region).webhooks.get(options.phone_number_id);
        if (queue !== undefined) queues.push([ctx.partition(region!), options.phone_number_id, queue]);
      } else {
        const skip = options.skip_phone_number_ids;
        for (const partition of ctx.partitions.values()) {
          for (const [pnid, queue] of partition.webhooks) if (skip === undefined || !skip.has(pnid)) queues.push([partition, pnid, queue]);
        }
      }
      // k-way merge of the queues' due heads: oldest due first, O(limit · log queues).
      const heads = new MinHeap<{ queue: BusinessQueue; dueMs: number }>((h) => h.dueMs);
      const perBusiness = new Map<BusinessQueue, number>();
      const perBusinessLimit = options.per_business_limit ?? Infinity;
      const headOf = (queue: BusinessQueue): void => {
        if ((perBusiness.get(queue) ?? 0) >= perBusinessLimit) return;
        const top = queue.heap.peek((id, generation) => queue.items.get(id)?.generation === generation);
        if (top !== undefined && top.dueMs <= nowMs) heads.push({ queue, dueMs: top.dueMs });
      };
      for (const [, , queue] of queues) headOf(queue);
      while (claimed.length < options.limit) {
        const head = heads.pop();
        if (head === undefined) break;
        const queue = head.queue;
        const top = queue.heap.pop()!;
        const queued = queue.items.get(top.id)!;
        queued.generation += 1;
        queued.item = { ...queued.item, due_at_ms: nowMs + options.lease_ms };
        queue.heap.push(queued.item.due_at_ms, top.id, queued.generation);
        claimed.push(queued.item);
        perBusiness.set(queue, (perBusiness.get(queue) ?? 0) + 1);
        headOf(queue);
      }
      return claimed;
    },

    async ackWebhooks(phoneNumberId: string, ids: readonly string[]): Promise<void> {
      const region = ctx.businessRegion.get(phoneNumberId);
      if (region === undefined) return;
      const partition = ctx.partition(region);
      const queue = partition.webhooks.get(phoneNumberId);
      if (queue === undefined) return;
      for (const id of ids) {
        const queued = queue.items.get(id);
        if (queued === undefined) continue;
        queue.items.delete(id);
        ctx.counts.webhooks -= 1;
        queued.gone = true;
        const createdAtMs = queued.item.created_at_ms;
        queued.item = GONE_WEBHOOK; // the delivered payload goes now, not at retention time
        // Compact the bucket's list once most of it is gone (amortized O(1) per ack).
        const bucket = partition.buckets.peek(createdAtMs);
        if (bucket !== undefined) {
          bucket.webhooksLive -= 1;
          if (bucket.webhooks.length >= 64 && bucket.webhooksLive * 2 < bucket.webhooks.length) bucket.webhooks = bucket.webhooks.filter((q) => !q.gone);
        }
      }
      if (queue.items.size === 0) queue.heap.clear();
      else queue.heap.compact((id, generation) => queue.items.get(id)?.generation === generation, queue.items.size);
    },

    async rescheduleWebhook(phoneNumberId: string, id: string, dueAtMs: number, attempts: number): Promise<void> {
      const region = ctx.businessRegion.get(phoneNumberId);
      if (region === undefined) return;
      const queue = ctx.partition(region).webhooks.get(phoneNumberId);
      const queued = queue?.items.get(id);
      if (queue === undefined || queued === undefined) return;
      queued.generation += 1;
      queued.item = { ...queued.item, due_at_ms: dueAtMs, attempts };
      queue.heap.push(dueAtMs, id, queued.generation);
    },

    async webhookQueueDepth(phoneNumberId?: string): Promise<number> {
      if (phoneNumberId === undefined) return ctx.counts.webhooks;
      const region = ctx.businessRegion.get(phoneNumberId);
      return region === undefined ? 0 : (ctx.partition(region).webhooks.get(phoneNumberId)?.items.size ?? 0);
    },

    async nextWebhookDueMs(): Promise<number | undefined> {
      let next: number | undefined;
      for (const partition of ctx.partitions.values()) {
        for (const queue of partition.webhooks.values()) {
          const top = queue.heap.peek((id, generation) => queue.items.get(id)?.generation === generation);
          if (top !== undefined && (next === undefined || top.dueMs < next)) next = top.dueMs;
        }
      }
      return next;
    },
  };
}
