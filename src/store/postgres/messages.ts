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
            await ctx.touchConversationsOf(client, region, 'last_inbound_ms', group, (r) => r.created_at_ms, activity);
          }
          await ctx.touchContacts(client, activity);
        }),
      );
    },
  };
}
