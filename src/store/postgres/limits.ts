/**
 * The PostgreSQL store's SharedLimitStore: the send limits and the spam guard's state of every
 * server process on the database, in the business's region schema (tables and functions of
 * region migration 4). Each call is one statement, so one round trip; the functions serialize
 * the calls of one business with a transaction-scoped advisory lock (docs/postgres.md
 * "Several server processes").
 */
import type { SendRefusal, SendTake, SendTakeResult, SendTaken, SharedLimitStore } from '../store.js';
import { PostgresContext, floorMs, toNumberOrNull } from './context.js';

const refusals: ReadonlySet<string> = new Set<SendRefusal>(['throughput', 'pair-rate', 're-engagement', 'messaging-limit', 'reported', 'spam-stopped', 'spam-quality', 'spam-cold']);

interface TakeRow {
  refusal: string | null;
  prev_tier_ms: string | null;
  new_cold: boolean;
  prev_stopped_ms: string | null;
  set_stopped_ms: string | null;
}

/**
 * Deletes the window rows matching `where` (over `limit_contacts`, parameters $1…) and counts
 * them out of `limit_counts`, in one statement: the retention paths, which take no business lock.
 */
export function forgetContacts(schema: string, where: string): string {
  return `WITH gone AS (DELETE FROM ${schema}.limit_contacts WHERE ${where} RETURNING phone_number_id, kind),
     per AS (SELECT phone_number_id, kind, count(*) AS n FROM gone GROUP BY phone_number_id, kind)
   UPDATE ${schema}.limit_counts AS c SET users = c.users - per.n FROM per WHERE c.phone_number_id = per.phone_number_id AND c.kind = per.kind`;
}

export function postgresLimits(ctx: PostgresContext): SharedLimitStore {
  const giveBack = async (taken: SendTaken): Promise<void> => {
    const s = ctx.schema(await ctx.requireRegion(taken.phone_number_id));
    await ctx.query(`SELECT ${s}.give_back_send($1, $2, $3, $4, $5, $6, $7, $8)`, [
      taken.phone_number_id,
      taken.wa_id,
      floorMs(taken.now_ms),
      taken.business_initiated,
      taken.prev_tier_ms,
      taken.new_cold,
      taken.prev_stopped_ms,
      taken.set_stopped_ms,
    ]);
  };
  return {
    async takeSend(take: SendTake): Promise<SendTakeResult> {
      const s = ctx.schema(await ctx.requireRegion(take.phone_number_id));
      const nowMs = floorMs(take.now_ms);
      const { rows } = await ctx.query<TakeRow>(
        `SELECT * FROM ${s}.take_send($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
        [
          take.phone_number_id,
          take.wa_id,
          nowMs,
          take.throughput_mps,
          take.pair_burst,
          1 / take.pair_interval_ms,
          take.business_initiated,
          take.is_template,
          take.tier_limit,
          floorMs(take.tier_window_ms),
          take.reported,
          take.cold,
          take.cold_threshold,
          floorMs(take.cold_window_ms),
          floorMs(take.penalty_ms),
          floorMs(take.quality_window_ms),
          take.min_audience,
          take.red_ratio,
        ],
      );
      const row = rows[0]!;
      if (row.refusal !== null) {
        if (!refusals.has(row.refusal)) throw new Error(`take_send answered an unknown refusal "${row.refusal}"`);
        return { refusal: row.refusal as SendRefusal };
      }
      return {
        refusal: null,
        taken: {
          phone_number_id: take.phone_number_id,
          wa_id: take.wa_id,
          now_ms: nowMs,
          business_initiated: take.business_initiated,
          prev_tier_ms: toNumberOrNull(row.prev_tier_ms),
          new_cold: row.new_cold,
          prev_stopped_ms: toNumberOrNull(row.prev_stopped_ms),
          set_stopped_ms: toNumberOrNull(row.set_stopped_ms),
        },
      };
    },

    giveBackSend: giveBack,

    async takeInbound(phoneNumberId: string, throughputMps: number, nowMs: number): Promise<boolean> {
      const s = ctx.schema(await ctx.requireRegion(phoneNumberId));
      const { rows } = await ctx.query<{ taken: boolean }>(`SELECT ${s}.take_inbound($1, $2, $3) AS taken`, [phoneNumberId, floorMs(nowMs), throughputMps]);
      return rows[0]!.taken;
    },

    async giveBackInbound(phoneNumberId: string, nowMs: number): Promise<void> {
      await giveBack({ phone_number_id: phoneNumberId, wa_id: '', now_ms: nowMs, business_initiated: false, prev_tier_ms: null, new_cold: false, prev_stopped_ms: null, set_stopped_ms: null });
    },

    async recordReached(phoneNumberId: string, waId: string, nowMs: number): Promise<void> {
      const s = ctx.schema(await ctx.requireRegion(phoneNumberId));
      await ctx.query(
        `INSERT INTO ${s}.limit_contacts AS c VALUES ($1, 'reached', $2, $3)
         ON CONFLICT (wa_id, phone_number_id, kind) DO UPDATE SET at_ms = GREATEST(c.at_ms, EXCLUDED.at_ms)`,
        [phoneNumberId, waId, floorMs(nowMs)],
      );
    },

    async recordReport(phoneNumberId: string, waId: string, nowMs: number, qualityWindowMs: number): Promise<boolean> {
      const s = ctx.schema(await ctx.requireRegion(phoneNumberId));
      const result = await ctx.query(
        `INSERT INTO ${s}.limit_contacts AS c
         SELECT $1, 'report', $2, $3 WHERE EXISTS (
           SELECT 1 FROM ${s}.limit_contacts WHERE phone_number_id = $1 AND kind = 'reached' AND wa_id = $2 AND at_ms >= $3::bigint - $4::bigint)
         ON CONFLICT (wa_id, phone_number_id, kind) DO UPDATE SET at_ms = GREATEST(c.at_ms, EXCLUDED.at_ms)`,
        [phoneNumberId, waId, floorMs(nowMs), floorMs(qualityWindowMs)],
      );
      return (result.rowCount ?? 0) > 0;
    },

    async forgetLimitsBefore(horizonMs: number, nowMs: number): Promise<void> {
      for (const region of await ctx.loadRegions()) {
        const s = ctx.schema(region);
        await ctx.query(forgetContacts(s, 'at_ms < $1'), [floorMs(horizonMs)]);
        // A pair bucket untouched since the horizon (the user retention, 30 days) has long been
        // full again (45 tokens at one per 6 s): the same as no bucket.
        await ctx.query(`DELETE FROM ${s}.limit_buckets WHERE wa_id <> '' AND updated_ms < $1`, [floorMs(horizonMs)]);
        await ctx.query(`DELETE FROM ${s}.limit_stops WHERE stopped_until_ms < $1`, [floorMs(nowMs)]);
      }
    },
  };
}
