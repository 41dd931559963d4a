/**
 * The PostgreSQL store's RetentionStore (the retention sweeps).
 */
import type { RetentionStore, MessageSweepResult, UserSweepResult } from '../store.js';
import { PARTITIONED_TABLES } from '../migrations/index.js';
import { deleteExpiredEdge, dropExpiredPartitions, ident } from '../postgres-partitions.js';
import { PostgresContext, regionSchema, ceilMs, storeError } from './context.js';
import { forgetContacts } from './limits.js';

export function postgresRetention(ctx: PostgresContext): RetentionStore {
  return {
    /**
     * Drops every day partition of message data that lies wholly before the cutoff (its rows
     * count towards `messages_deleted`; dropping is O(1) in the rows, so `max_records` does not
     * bound it), then deletes at most `max_records` rows at the edge (the partition that
     * straddles the cutoff, and expired webhook items).
     */
    async sweepMessageData(cutoff: number, options: { max_records: number }): Promise<MessageSweepResult> {
      const cutoffMs = ceilMs(cutoff);
      let deleted = 0;
      let budget = Math.max(1, Math.floor(options.max_records));
      try {
        for (const region of await ctx.loadRegions()) {
          const schema = regionSchema(region);
          for (const table of PARTITIONED_TABLES) {
            const dropped = await dropExpiredPartitions(ctx.pool, schema, table, cutoffMs, { countDropped: ctx.options.count_dropped_partitions });
            deleted += dropped.rows;
            if (dropped.partitions > 0) for (const key of [...ctx.partitionDays]) if (key.startsWith(`${schema}:`) && Number(key.slice(schema.length + 1)) < cutoffMs) ctx.partitionDays.delete(key);
            if (budget > 0) {
              const edge = await deleteExpiredEdge(ctx.pool, schema, table, cutoffMs, budget);
              deleted += edge;
              budget -= edge;
            }
          }
          if (budget > 0) {
            const s = ident(schema);
            const result = await ctx.pool.query(`DELETE FROM ${s}.webhooks WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${s}.webhooks WHERE created_at_ms < $1 LIMIT $2))`, [cutoffMs, budget]);
            deleted += result.rowCount ?? 0;
            budget -= result.rowCount ?? 0;
          }
        }
      } catch (error) {
        throw storeError(error);
      }
      return { messages_deleted: deleted, done: budget > 0 };
    },

    /** Users whose last activity is before the cutoff, found through `contacts_last_activity`, in batches. */
    async sweepUsers(cutoff: number, options: { max_users: number }): Promise<UserSweepResult> {
      const cutoffMs = ceilMs(cutoff);
      const limit = Math.max(1, Math.floor(options.max_users));
      const regions = await ctx.loadRegions();
      const home = ctx.home();
      return ctx.transaction(async (client) => {
        const { rows } = await client.query<{ wa_id: string }>(
          `DELETE FROM ${home}.contacts WHERE wa_id = ANY (ARRAY(
             SELECT wa_id FROM ${home}.contacts WHERE last_activity_ms < $1 ORDER BY last_activity_ms LIMIT $2 FOR UPDATE SKIP LOCKED))
           RETURNING wa_id`,
          [cutoffMs, limit],
        );
        const waIds = rows.map((r) => r.wa_id);
        let records = 0;
        if (waIds.length > 0) {
          records += (await client.query(`DELETE FROM ${home}.devices WHERE wa_id = ANY ($1::text[])`, [waIds])).rowCount ?? 0;
          records += (await client.query(`DELETE FROM ${home}.device_pre_keys WHERE wa_id = ANY ($1::text[])`, [waIds])).rowCount ?? 0;
          await client.query(`DELETE FROM ${home}.inbox_cursors WHERE wa_id = ANY ($1::text[])`, [waIds]);
          for (const region of regions) {
            const s = ctx.schema(region);
            records += (await client.query(`DELETE FROM ${s}.conversations WHERE wa_id = ANY ($1::text[])`, [waIds])).rowCount ?? 0;
            records += (await client.query(`DELETE FROM ${s}.sessions WHERE wa_id = ANY ($1::text[])`, [waIds])).rowCount ?? 0;
            // The user's undelivered inbox ciphertexts go with the device (as in the memory store).
            records += (await client.query(`DELETE FROM ${s}.inbox WHERE wa_id = ANY ($1::text[])`, [waIds])).rowCount ?? 0;
            // Their rows in the shared send limits and spam guard (routing metadata, not counted as records).
            await client.query(forgetContacts(s, 'wa_id = ANY ($1::text[])'), [waIds]);
            await client.query(`DELETE FROM ${s}.limit_buckets WHERE wa_id = ANY ($1::text[])`, [waIds]);
          }
        }
        return { user_ids_deleted: waIds.length, records_deleted: records, done: waIds.length < limit };
      });
    },
  };
}
