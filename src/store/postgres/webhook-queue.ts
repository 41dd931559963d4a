/**
 * The PostgreSQL store's WebhookQueueStore (the bounded webhook retry queue).
 */
import { StoreError } from '../store.js';
import type { WebhookQueueStore, Region, WebhookItem } from '../store.js';
import { partitionLockKey } from '../postgres-partitions.js';
import { PostgresContext, toBuffer, toBytes, toNumber, toNumberOrNull, floorMs, ceilMs } from './context.js';

export function postgresWebhookQueue(ctx: PostgresContext): WebhookQueueStore {
  return {
    async enqueueWebhooks(items: readonly WebhookItem[]): Promise<void> {
      if (items.length === 0) return;
      const groups = await ctx.byRegion(items);
      await ctx.transaction(async (client) => {
        for (const [region, group] of groups) {
          const s = ctx.schema(region);
          const perBusiness = new Map<string, Set<string>>();
          for (const item of group) {
            let ids = perBusiness.get(item.phone_number_id);
            if (!ids) perBusiness.set(item.phone_number_id, (ids = new Set()));
            ids.add(item.id);
          }
          for (const [pnid, ids] of [...perBusiness].sort()) {
            // One enqueuer per business at a time, across processes, so the bound holds.
            await client.query('SELECT pg_advisory_xact_lock($1)', [partitionLockKey(`webhooks:${pnid}`)]);
            const { rows } = await client.query<{ n: string; queued: string }>(
              `SELECT count(*) AS n, count(*) FILTER (WHERE id = ANY ($2::text[])) AS queued FROM ${s}.webhooks WHERE phone_number_id = $1`,
              [pnid, [...ids]],
            );
            const depth = toNumber(rows[0]!.n);
            const adding = ids.size - toNumber(rows[0]!.queued); // already queued: idempotent
            if (depth + adding > ctx.options.webhook_queue_capacity) {
              throw new StoreError('queue-full', `webhook queue of ${pnid} holds ${depth} of ${ctx.options.webhook_queue_capacity}; ${adding} more refused`);
            }
          }
          await client.query(
            `INSERT INTO ${s}.webhooks (phone_number_id, id, created_at_ms, due_at_ms, attempts, sealed)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::integer[], $6::bytea[])
             ON CONFLICT (phone_number_id, id) DO NOTHING`,
            [group.map((i) => i.phone_number_id), group.map((i) => i.id), group.map((i) => floorMs(i.created_at_ms)), group.map((i) => ceilMs(i.due_at_ms)), group.map((i) => i.attempts), group.map((i) => toBuffer(i.sealed))],
          );
        }
      });
    },

    async claimWebhooks(nowMs: number, options: { limit: number; lease_ms: number; phone_number_id?: string }): Promise<readonly WebhookItem[]> {
      let regions: Region[];
      if (options.phone_number_id !== undefined) {
        const region = await ctx.regionOf(options.phone_number_id);
        if (!region) return [];
        regions = [region];
      } else {
        regions = await ctx.recentRegions();
      }
      if (regions.length === 0 || !(options.limit >= 1)) return [];
      // One statement over every region schema, so the claim is oldest due first across regions
      // (store.ts), not region by region: each region offers its `limit` oldest due items
      // (FOR UPDATE SKIP LOCKED), the oldest `limit` of the union are leased, and the offered
      // rows that were not picked are unlocked when the statement commits (a concurrent claimer
      // skips them only for that instant and gets them on its next poll).
      const byBusiness = options.phone_number_id !== undefined ? 'AND phone_number_id = $4' : '';
      const values: unknown[] = [floorMs(nowMs), Math.floor(options.limit), ceilMs(nowMs + options.lease_ms)];
      if (options.phone_number_id !== undefined) values.push(options.phone_number_id);
      const schemas = regions.map((region) => ctx.schema(region));
      const offered = schemas.map(
        (s, i) => `offered_${i} AS (SELECT ${i} AS region_index, phone_number_id, id, due_at_ms, created_at_ms FROM ${s}.webhooks
            WHERE due_at_ms <= $1 ${byBusiness} ORDER BY due_at_ms, created_at_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      );
      const picked = `picked AS (SELECT * FROM (${schemas.map((_, i) => `SELECT * FROM offered_${i}`).join(' UNION ALL ')}) AS o
            ORDER BY due_at_ms, created_at_ms, id LIMIT $2)`;
      const leased = schemas.map(
        (s, i) => `leased_${i} AS (UPDATE ${s}.webhooks AS w SET due_at_ms = $3 FROM picked
            WHERE picked.region_index = ${i} AND w.phone_number_id = picked.phone_number_id AND w.id = picked.id
            RETURNING w.*, picked.due_at_ms AS was_due_at_ms)`,
      );
      const { rows } = await ctx.query<WebhookRow & { was_due_at_ms: string }>(
        `WITH ${[...offered, picked, ...leased].join(',\n')}
         ${schemas.map((_, i) => `SELECT * FROM leased_${i}`).join(' UNION ALL ')}`,
        values,
      );
      // RETURNING has no order: oldest due first (store.ts), as the claim picked them.
      rows.sort((x, y) => toNumber(x.was_due_at_ms) - toNumber(y.was_due_at_ms) || toNumber(x.created_at_ms) - toNumber(y.created_at_ms) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      return rows.map(webhookItem);
    },

    async ackWebhooks(phoneNumberId: string, ids: readonly string[]): Promise<void> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region || ids.length === 0) return;
      await ctx.query(`DELETE FROM ${ctx.schema(region)}.webhooks WHERE phone_number_id = $1 AND id = ANY ($2::text[])`, [phoneNumberId, [...ids]]);
    },

    async rescheduleWebhook(phoneNumberId: string, id: string, dueAtMs: number, attempts: number): Promise<void> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region) return;
      await ctx.query(`UPDATE ${ctx.schema(region)}.webhooks SET due_at_ms = $3, attempts = $4 WHERE phone_number_id = $1 AND id = $2`, [phoneNumberId, id, ceilMs(dueAtMs), attempts]);
    },

    async webhookQueueDepth(phoneNumberId?: string): Promise<number> {
      if (phoneNumberId !== undefined) {
        const region = await ctx.regionOf(phoneNumberId);
        if (!region) return 0;
        const { rows } = await ctx.query<{ n: string }>(`SELECT count(*) AS n FROM ${ctx.schema(region)}.webhooks WHERE phone_number_id = $1`, [phoneNumberId]);
        return toNumber(rows[0]!.n);
      }
      let total = 0;
      for (const region of await ctx.recentRegions()) {
        const { rows } = await ctx.query<{ n: string }>(`SELECT count(*) AS n FROM ${ctx.schema(region)}.webhooks`);
        total += toNumber(rows[0]!.n);
      }
      return total;
    },

    async nextWebhookDueMs(): Promise<number | undefined> {
      let next: number | undefined;
      for (const region of await ctx.recentRegions()) {
        const { rows } = await ctx.query<{ due: string | null }>(`SELECT min(due_at_ms) AS due FROM ${ctx.schema(region)}.webhooks`);
        const due = toNumberOrNull(rows[0]!.due);
        if (due !== null && (next === undefined || due < next)) next = due;
      }
      return next;
    },
  };
}

interface WebhookRow {
  phone_number_id: string;
  id: string;
  created_at_ms: string;
  due_at_ms: string;
  attempts: number;
  sealed: Buffer;
}

function webhookItem(row: WebhookRow): WebhookItem {
  return {
    phone_number_id: row.phone_number_id,
    id: row.id,
    created_at_ms: toNumber(row.created_at_ms),
    due_at_ms: toNumber(row.due_at_ms),
    attempts: row.attempts,
    sealed: toBytes(row.sealed),
  };
}
