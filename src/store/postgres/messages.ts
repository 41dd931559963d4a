/**
 * The PostgreSQL store's MessageStore (stored inbound messages (retention-subject)).
 */
import { StoreError } from '../store.js';
import type { MessageStore, MessageRecord } from '../store.js';
import { PostgresContext, toBuffer, floorMs } from './context.js';

export function postgresMessages(ctx: PostgresContext): MessageStore {
  return {
    async appendMessages(records: readonly MessageRecord[]): Promise<void> {
      if (records.length === 0) return;
      for (const r of records) if (!Number.isFinite(r.created_at_ms)) throw new StoreError('invalid', 'created_at_ms');
      const groups = await ctx.byRegion(records);
      await ctx.withPartitions(groups, () =>
        ctx.transaction(async (client) => {
          const activity = new Map<string, number>();
          for (const [region, group] of groups) {
            await client.query(
              `INSERT INTO ${ctx.schema(region)}.messages (phone_number_id, id, wa_id, created_at_ms, sealed)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])`,
              [group.map((r) => r.phone_number_id), group.map((r) => r.id), group.map((r) => r.wa_id), group.map((r) => floorMs(r.created_at_ms)), group.map((r) => toBuffer(r.sealed))],
            );
            const pairs = new Map<string, { pnid: string; waId: string; atMs: number }>();
            for (const r of group) {
              const key = `${r.phone_number_id}\u0000${r.wa_id}`;
              pairs.set(key, { pnid: r.phone_number_id, waId: r.wa_id, atMs: Math.max(pairs.get(key)?.atMs ?? -Infinity, r.created_at_ms) });
              activity.set(r.wa_id, Math.max(activity.get(r.wa_id) ?? -Infinity, r.created_at_ms));
            }
            await ctx.touchConversations(client, region, 'last_inbound_ms', pairs);
          }
          await ctx.touchContacts(client, activity);
        }),
      );
    },
  };
}
