/**
 * The memory store's MessageStore (stored inbound messages (retention-subject)).
 */
import { StoreError } from '../store.js';
import type { MessageStore, MessageRecord } from '../store.js';
import { MemoryContext, type Partition, type ConversationState } from './context.js';

export function memoryMessages(ctx: MemoryContext): MessageStore {
  return {
    async appendMessages(records: readonly MessageRecord[]): Promise<void> {
      // Check every record first: all or nothing.
      for (const r of records) {
        if (!ctx.businessRegion.has(r.phone_number_id)) throw new StoreError('not-found', `business ${r.phone_number_id}`);
        if (!Number.isFinite(r.created_at_ms)) throw new StoreError('invalid', 'created_at_ms');
      }
      let lastPnid: string | undefined;
      let lastPartition: Partition | undefined;
      let lastWaId: string | undefined;
      let lastConversation: ConversationState | undefined;
      for (const r of records) {
        if (r.phone_number_id !== lastPnid) {
          lastPnid = r.phone_number_id;
          lastPartition = ctx.businessPartition(lastPnid);
          lastWaId = undefined;
        }
        const partition = lastPartition!;
        const bucket = partition.buckets.at(r.created_at_ms);
        const messages = bucket.messages;
        if (messages.length > 0 && messages[messages.length - 1]!.created_at_ms > r.created_at_ms) bucket.messagesSorted = false;
        messages.push(r);
        // The service window and the user's activity (a message from the user).
        if (r.wa_id !== lastWaId) {
          lastWaId = r.wa_id;
          lastConversation = ctx.conversation(partition, r.phone_number_id, r.wa_id, r.created_at_ms);
        }
        const conversation = lastConversation!;
        if (conversation.last_inbound_ms === null || r.created_at_ms > conversation.last_inbound_ms) {
          conversation.last_inbound_ms = r.created_at_ms;
          ctx.touchUser(r.wa_id, r.created_at_ms);
        }
      }
      ctx.counts.messages += records.length;
    },
  };
}
