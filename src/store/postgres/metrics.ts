/**
 * The PostgreSQL store's MetricsStore (counts for the metrics endpoint and the spam guard).
 */
import type { MetricsStore, StoreMetrics } from '../store.js';
import { PostgresContext, METRICS_EXACT_LIMIT, regionSchema, toNumber } from './context.js';

export function postgresMetrics(ctx: PostgresContext): MetricsStore {
  return {
    /**
     * Counts for the metrics endpoint and the spam guard's user count (called about once a second
     * under load). Exact, except that a message-data table whose planner statistics say it holds
     * more than `METRICS_EXACT_LIMIT` rows reports that estimate: counting 10^6 rows on every call
     * would cost more than the sends being measured. Concurrent calls share one round of queries.
     */
    metrics(): Promise<StoreMetrics> {
      ctx.metricsInFlight ??= countMetrics(ctx).finally(() => {
        ctx.metricsInFlight = undefined;
      });
      return ctx.metricsInFlight;
    },
  };
}

async function countMetrics(ctx: PostgresContext): Promise<StoreMetrics> {
  const totals = { webhook_queue_depth: 0, businesses: 0, contacts: 0, devices: 0, sessions: 0, messages: 0, inbox_entries: 0, statuses: 0 };
  for (const region of await ctx.recentRegions()) {
    const s = ctx.schema(region);
    const estimate = (table: string) =>
      `(SELECT COALESCE(sum(c.reltuples) FILTER (WHERE c.reltuples >= 0), 0) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '${regionSchema(region)}.${table}'::regclass)`;
    const counted = (table: string) => `CASE WHEN ${estimate(table)} > ${METRICS_EXACT_LIMIT} THEN ${estimate(table)}::bigint ELSE (SELECT count(*) FROM ${s}.${table}) END`;
    const { rows } = await ctx.query<Record<keyof typeof totals, string>>(
      `SELECT (SELECT count(*) FROM ${s}.webhooks) AS webhook_queue_depth, (SELECT count(*) FROM ${s}.businesses) AS businesses,
              (SELECT count(*) FROM ${s}.contacts) AS contacts, (SELECT count(*) FROM ${s}.devices) AS devices,
              (SELECT count(*) FROM ${s}.sessions) AS sessions, ${counted('messages')} AS messages,
              ${counted('inbox')} AS inbox_entries, ${counted('statuses')} AS statuses`,
    );
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += toNumber(rows[0]![key]);
  }
  return totals;
}
