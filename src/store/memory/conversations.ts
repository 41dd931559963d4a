/**
 * The memory store's ConversationStore (the business ↔ user pair: service window and spam reports).
 */
import type { ConversationStore, ConversationRecord } from '../store.js';
import { MemoryContext } from './context.js';

export function memoryConversations(ctx: MemoryContext): ConversationStore {
  return {
    async getConversation(phoneNumberId: string, waId: string): Promise<ConversationRecord | undefined> {
      const region = ctx.businessRegion.get(phoneNumberId);
      if (region === undefined) return undefined;
      const c = ctx.partition(region).conversations.get(phoneNumberId)?.get(waId);
      return c === undefined ? undefined : { phone_number_id: c.phone_number_id, wa_id: c.wa_id, last_inbound_ms: c.last_inbound_ms, last_status_ms: c.last_status_ms, reported_spam_ms: c.reported_spam_ms };
    },

    async reportSpam(phoneNumberId: string, waId: string, atMs: number): Promise<void> {
      const conversation = ctx.conversation(ctx.businessPartition(phoneNumberId), phoneNumberId, waId, atMs);
      conversation.reported_spam_ms = atMs;
    },
  };
}
