/**
 * The PostgreSQL store's StatusStore (message status events).
 */
import type { StatusStore, MessageStatus, Region, StatusRecord } from '../store.js';
import { PostgresContext, toBuffer, toBytes, toNumber, floorMs } from './context.js';

export function postgresStatuses(ctx: PostgresContext): StatusStore {
  return {
    async recordStatuses(records: readonly StatusRecord[]): Promise<void> {
      if (records.length === 0) return;
      const groups = await ctx.byRegion(records);
      const withCreated = new Map<Region, (StatusRecord & { created_at_ms: number })[]>();
      for (const [region, group] of groups) withCreated.set(region, group.map((r) => ({ ...r, created_at_ms: r.at_ms })));
      await ctx.withPartitions(withCreated, () =>
        ctx.transaction(async (client) => {
          const activity = new Map<string, number>();
          for (const [region, group] of withCreated) {
            await client.query(
              `INSERT INTO ${ctx.schema(region)}.statuses (phone_number_id, id, wa_id, status, at_ms, created_at_ms, sealed)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bytea[])`,
              [group.map((r) => r.phone_number_id), group.map((r) => r.id), group.map((r) => r.wa_id), group.map((r) => r.status), group.map((r) => floorMs(r.at_ms)), group.map((r) => floorMs(r.created_at_ms)), group.map((r) => toBuffer(r.sealed))],
            );
            await ctx.touchConversationsOf(client, region, 'last_status_ms', group, (r) => r.at_ms, activity);
          }
          await ctx.touchContacts(client, activity);
        }),
      );
    },

    async listStatuses(phoneNumberId: string, wamid: string): Promise<readonly StatusRecord[]> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region) return [];
      const { rows } = await ctx.query<{ wa_id: string; status: string; at_ms: string; sealed: Buffer }>(
        `SELECT wa_id, status, at_ms, sealed FROM ${ctx.schema(region)}.statuses WHERE phone_number_id = $1 AND id = $2 ORDER BY at_ms, seq`,
        [phoneNumberId, wamid],
      );
      return rows.map((row) => ({ phone_number_id: phoneNumberId, id: wamid, wa_id: row.wa_id, status: row.status as MessageStatus, at_ms: toNumber(row.at_ms), sealed: toBytes(row.sealed) }));
    },
  };
}
