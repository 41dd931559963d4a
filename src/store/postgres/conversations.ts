/**
 * The PostgreSQL store's ConversationStore (the business ↔ user pair: service window and spam reports).
 */
import type { ConversationStore, ConversationRecord } from '../store.js';
import { PostgresContext, toNumberOrNull, floorMs } from './context.js';

export function postgresConversations(ctx: PostgresContext): ConversationStore {
  return {
    async getConversation(phoneNumberId: string, waId: string): Promise<ConversationRecord | undefined> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region) return undefined;
      const { rows } = await ctx.query<{ last_inbound_ms: string | null; last_status_ms: string | null; reported_spam_ms: string | null }>(
        `SELECT last_inbound_ms, last_status_ms, reported_spam_ms FROM ${ctx.schema(region)}.conversations WHERE phone_number_id = $1 AND wa_id = $2`,
        [phoneNumberId, waId],
      );
      const row = rows[0];
      return row
        ? { phone_number_id: phoneNumberId, wa_id: waId, last_inbound_ms: toNumberOrNull(row.last_inbound_ms), last_status_ms: toNumberOrNull(row.last_status_ms), reported_spam_ms: toNumberOrNull(row.reported_spam_ms) }
        : undefined;
    },

    async reportSpam(phoneNumberId: string, waId: string, atMs: number): Promise<void> {
      const region = await ctx.requireRegion(phoneNumberId);
      const s = ctx.schema(region);
      await ctx.transaction(async (client) => {
        await client.query(`INSERT INTO ${ctx.home()}.contacts (wa_id, created_at_ms, last_activity_ms) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING`, [waId, floorMs(atMs)]);
        await client.query(
          `INSERT INTO ${s}.conversations (phone_number_id, wa_id, reported_spam_ms, stored_at_ms) VALUES ($1, $2, $3, $3)
           ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET reported_spam_ms = EXCLUDED.reported_spam_ms`,
          [phoneNumberId, waId, floorMs(atMs)],
        );
      });
    },
  };
}
