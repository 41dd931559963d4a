/**
 * The PostgreSQL store's SharedClockStore: the one virtual clock of every server process on the
 * database, a row in `sigload.virtual_clock` (core migration 3). A move updates the row and
 * announces the new time with NOTIFY on channel `sigload_clock` in the same statement, so the
 * announcement leaves only if the move committed; listeners hold one connection each, outside
 * the pool (docs/postgres.md "Several server processes").
 */
import pg from 'pg';
import type { SharedClockStore } from '../store.js';
import { CORE_SCHEMA, PostgresContext, floorMs, storeError, toNumber } from './context.js';

export const CLOCK_CHANNEL = 'sigload_clock';

export function postgresClock(ctx: PostgresContext, databaseUrl: string): SharedClockStore {
  const table = `${CORE_SCHEMA}.virtual_clock`;
  return {
    async joinVirtualClock(localMs: number): Promise<number> {
      await ctx.query(`INSERT INTO ${table} (now_ms) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [floorMs(localMs)]);
      const { rows } = await ctx.query<{ now_ms: string }>(`SELECT now_ms FROM ${table}`);
      return toNumber(rows[0]!.now_ms);
    },

    async advanceVirtualClock(localMs: number, advanceMs: number): Promise<number> {
      const { rows } = await ctx.query<{ now_ms: string }>(
        `WITH moved AS (
           INSERT INTO ${table} AS c (now_ms) VALUES ($1::bigint + $2::bigint)
           ON CONFLICT (id) DO UPDATE SET now_ms = GREATEST(c.now_ms, $1::bigint) + $2::bigint
           RETURNING now_ms)
         SELECT now_ms, pg_notify('${CLOCK_CHANNEL}', now_ms::text) FROM moved`,
        [floorMs(localMs), floorMs(advanceMs)],
      );
      return toNumber(rows[0]!.now_ms);
    },

    async readVirtualClock(): Promise<number | undefined> {
      const { rows } = await ctx.query<{ now_ms: string }>(`SELECT now_ms FROM ${table}`);
      return rows[0] === undefined ? undefined : toNumber(rows[0].now_ms);
    },

    async watchVirtualClock(onTime: (nowMs: number) => void): Promise<{ readonly open: boolean; close(): Promise<void> }> {
      const client = new pg.Client({ connectionString: databaseUrl });
      let open = true;
      // A lost listener: the clock's catch-up read covers the gap and listens again.
      client.on('error', () => (open = false));
      client.on('end', () => (open = false));
      client.on('notification', (message) => {
        if (message.channel !== CLOCK_CHANNEL || message.payload === undefined) return;
        const nowMs = Number(message.payload);
        if (Number.isFinite(nowMs)) onTime(nowMs);
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${CLOCK_CHANNEL}`);
      } catch (error) {
        await client.end().catch(() => {});
        throw storeError(error);
      }
      return {
        get open() {
          return open;
        },
        close: () => client.end().catch(() => {}),
      };
    },
  };
}
