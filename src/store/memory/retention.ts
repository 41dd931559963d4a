/**
 * The memory store's RetentionStore (the retention sweeps).
 */
import type { RetentionStore, MessageSweepResult, StatusRecord, UserSweepResult } from '../store.js';
import { lowerBoundBy } from '../memory-buckets.js';
import { deviceAddress, GONE_WEBHOOK, MemoryContext, type Partition, type StoredInbox, type QueuedWebhook, type MessageBucket, type ContactState } from './context.js';

export function memoryRetention(ctx: MemoryContext): RetentionStore {
  return {
    async sweepMessageData(cutoffMs: number, options: { max_records: number }): Promise<MessageSweepResult> {
      let budget = Math.max(1, Math.floor(options.max_records));
      let deleted = 0;
      for (const partition of ctx.partitions.values()) {
        const buckets = partition.buckets;
        for (;;) {
          const start = buckets.oldestStart();
          if (start === undefined || start >= cutoffMs) break;
          const bucket = buckets.get(start)!;
          const whole = start + buckets.widthMs <= cutoffMs;
          // Stored messages: a whole bucket goes at once; the edge bucket loses its expired prefix.
          if (whole) {
            deleted += bucket.messages.length;
            ctx.counts.messages -= bucket.messages.length;
            bucket.messages = [];
          } else {
            const before = bucket.messages.length;
            if (bucket.messagesSorted) {
              const keepFrom = lowerBoundBy(bucket.messages, cutoffMs, (m) => m.created_at_ms);
              if (keepFrom > 0) bucket.messages = bucket.messages.slice(keepFrom);
            } else {
              bucket.messages = bucket.messages.filter((m) => m.created_at_ms >= cutoffMs);
            }
            deleted += before - bucket.messages.length;
            ctx.counts.messages -= before - bucket.messages.length;
          }
          // Statuses, inbox entries and webhook pieces are also indexed elsewhere: one by one.
          const r = sweepIndexed(ctx, partition, bucket, cutoffMs, budget, whole);
          deleted += r.deleted;
          budget -= r.deleted;
          if (!r.done) return { messages_deleted: deleted, done: false };
          if (whole || (bucket.messages.length === 0 && bucket.statuses.length === 0 && bucket.inbox.length === 0 && bucket.webhooks.length === 0)) {
            buckets.delete(start);
          }
          if (!whole) break; // the edge bucket: everything after it is newer
        }
      }
      return { messages_deleted: deleted, done: true };
    },

    async sweepUsers(cutoffMs: number, options: { max_users: number }): Promise<UserSweepResult> {
      const budget = Math.max(1, Math.floor(options.max_users));
      let users = 0;
      let records = 0;
      for (;;) {
        const start = ctx.activity.oldestStart();
        if (start === undefined || start >= cutoffMs) break;
        const set = ctx.activity.get(start)!;
        for (const waId of set) {
          if (users >= budget) return { user_ids_deleted: users, records_deleted: records, done: false };
          const contact = ctx.contacts.get(waId);
          if (contact === undefined || contact.activity_bucket !== start) {
            set.delete(waId);
            continue;
          }
          if (contact.last_activity_ms >= cutoffMs) continue; // edge bucket, still active
          set.delete(waId);
          records += deleteUser(ctx, contact);
          users++;
        }
        if (set.size > 0) break; // edge bucket with active users left
        ctx.activity.delete(start);
      }
      return { user_ids_deleted: users, records_deleted: records, done: true };
    },
  };
}

/**
 * Deletes the bucket's expired statuses, inbox entries and webhook pieces. A whole expired
 * bucket is emptied from the end, at most `budget` records per call (O(deleted)); the edge
 * bucket is filtered in one pass (bounded by one bucket's worth of records).
 */
function sweepIndexed(ctx: MemoryContext, partition: Partition, bucket: MessageBucket, cutoffMs: number, budget: number, whole: boolean): { deleted: number; done: boolean } {
  let deleted = 0;
  const dropStatus = (r: StatusRecord): void => {
    const byMessage = partition.statusesByMessage.get(r.phone_number_id);
    const history = byMessage?.get(r.id);
    if (history !== undefined) {
      const i = history.indexOf(r);
      if (i >= 0) history.splice(i, 1);
      if (history.length === 0) byMessage!.delete(r.id);
      if (byMessage!.size === 0) partition.statusesByMessage.delete(r.phone_number_id);
    }
    ctx.counts.statuses -= 1;
    deleted++;
  };
  const touched = new Set<string>();
  const dropInbox = (e: StoredInbox): void => {
    if (e.expired) return; // deleted with its user already
    e.expired = true;
    touched.add(deviceAddress(e.entry.wa_id, e.entry.device_id));
    ctx.counts.inbox -= 1;
    deleted++;
  };
  const dropWebhook = (q: QueuedWebhook): void => {
    if (q.gone) return; // acknowledged already
    q.gone = true;
    bucket.webhooksLive -= 1;
    const queue = partition.webhooks.get(q.item.phone_number_id);
    if (queue?.items.delete(q.item.id) === true) ctx.counts.webhooks -= 1;
    q.item = GONE_WEBHOOK;
    deleted++;
  };
  let done = true;
  if (whole) {
    const drain = <T>(list: T[], drop: (item: T) => void): void => {
      while (list.length > 0 && deleted < budget) drop(list.pop()!);
      if (list.length > 0) done = false;
    };
    drain(bucket.statuses, dropStatus);
    drain(bucket.inbox, dropInbox);
    drain(bucket.webhooks, dropWebhook);
  } else {
    bucket.statuses = bucket.statuses.filter((r) => (r.at_ms < cutoffMs ? (dropStatus(r), false) : true));
    bucket.inbox = bucket.inbox.filter((e) => (e.expired ? false : e.entry.created_at_ms < cutoffMs ? (dropInbox(e), false) : true));
    bucket.webhooks = bucket.webhooks.filter((q) => (q.gone ? false : q.item.created_at_ms < cutoffMs ? (dropWebhook(q), false) : true));
  }
  for (const address of touched) {
    const inbox = partition.inbox.get(address);
    if (inbox === undefined) continue;
    while (inbox.head < inbox.entries.length && inbox.entries[inbox.head]!.expired) inbox.head++;
    if (inbox.head === inbox.entries.length) partition.inbox.delete(address);
    else if (inbox.head > 1024 && inbox.head * 2 > inbox.entries.length) {
      inbox.entries = inbox.entries.slice(inbox.head);
      inbox.head = 0;
    }
  }
  return { deleted, done };
}

/** Deletes every identifier of a user; returns the records deleted besides the contact. */
function deleteUser(ctx: MemoryContext, contact: ContactState): number {
  let records = 0;
  for (const [deviceId, device] of contact.devices) {
    ctx.deviceByToken.delete(device.record.token_hash);
    ctx.releaseIdentity(device.record);
    records += 1 + device.preKeys.size;
    const address = deviceAddress(contact.wa_id, deviceId);
    records += ctx.dropSessions(address);
    records += ctx.dropInbox(address);
    ctx.counts.devices -= 1;
  }
  for (const pnid of contact.businesses) {
    const region = ctx.businessRegion.get(pnid);
    if (region === undefined) continue;
    const byUser = ctx.partition(region).conversations.get(pnid);
    if (byUser?.delete(contact.wa_id) === true) records++;
    if (byUser !== undefined && byUser.size === 0) ctx.partition(region).conversations.delete(pnid);
  }
  ctx.contacts.delete(contact.wa_id);
  return records;
}
