/**
 * Daily range partitions for message data (PostgreSQL declarative partitioning, PG ≥ 11).
 *
 * Every message-data table is `PARTITION BY RANGE (created_at_ms)` with one partition per UTC day
 * of the server's clock, named `<table>_d<yyyymmdd>`. Retention (cloud-api.md §5: message data is
 * kept at most 30 days) then costs one `DROP TABLE` per fully expired day plus a `DELETE` of the
 * rows older than the cutoff in the single partition that straddles it, instead of a `DELETE` of
 * every expired row (which writes WAL for each row and leaves dead tuples for VACUUM).
 *
 * Partitions are created ahead (today … today + `aheadDays`) and on demand when the clock jumps
 * (virtual clock in tests and benchmarks). Creation and dropping run under a transaction-scoped
 * advisory lock per schema, so several server processes on one database never race on DDL.
 */
import type pg from 'pg';

export const DAY_MS = 86_400_000;

/** Start of the UTC day that contains `ms`. */
export function dayStartMs(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `<table>_d<yyyymmdd>` for the UTC day that contains `dayMs`. */
export function partitionName(table: string, dayMs: number): string {
  const iso = new Date(dayStartMs(dayMs)).toISOString();
  return `${table}_d${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
}

/** Quotes an identifier we built ourselves ([a-z0-9_] only; checked, never user input). */
export function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad SQL identifier ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** Advisory-lock key for DDL on one schema's partitions (stable across processes). */
export function partitionLockKey(schema: string): number {
  let h = 0x5ca1ab1e;
  for (const ch of `partitions:${schema}`) h = (Math.imul(h ^ ch.charCodeAt(0), 0x01000193) | 0) >>> 0;
  return h | 0;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Creates the daily partitions of `schema.table` for every day in [fromMs, toMs] that does not
 * exist yet. Call inside a transaction that holds `pg_advisory_xact_lock(partitionLockKey(schema))`,
 * or through `ensureDailyPartitions`.
 */
async function createMissingPartitions(client: Queryable, schema: string, table: string, fromMs: number, toMs: number): Promise<number> {
  const existing = new Set(await listPartitions(client, schema, table).then((parts) => parts.map((p) => p.name)));
  let created = 0;
  for (let day = dayStartMs(fromMs); day <= toMs; day += DAY_MS) {
    const name = partitionName(table, day);
    if (existing.has(name)) continue;
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${ident(schema)}.${ident(name)} PARTITION OF ${ident(schema)}.${ident(table)} FOR VALUES FROM (${day}) TO (${day + DAY_MS})`,
    );
    created++;
  }
  return created;
}

/** Ensures partitions for every day in [fromMs, toMs] of each table in `tables`, in one transaction. */
export async function ensureDailyPartitions(pool: pg.Pool, schema: string, tables: readonly string[], fromMs: number, toMs: number): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [partitionLockKey(schema)]);
    let created = 0;
    for (const table of tables) created += await createMissingPartitions(client, schema, table, fromMs, toMs);
    await client.query('COMMIT');
    return created;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export interface PartitionInfo {
  name: string;
  fromMs: number;
  toMs: number;
}

/** The daily partitions of `schema.table`, oldest first, with their bounds read from the catalog. */
export async function listPartitions(client: Queryable, schema: string, table: string): Promise<PartitionInfo[]> {
  const { rows } = await client.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
      WHERE n.nspname = $1 AND p.relname = $2`,
    [schema, table],
  );
  const parts: PartitionInfo[] = [];
  for (const row of rows) {
    const m = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(row.bound);
    if (m) parts.push({ name: row.name, fromMs: Number(m[1]), toMs: Number(m[2]) });
  }
  return parts.sort((a, b) => a.fromMs - b.fromMs);
}

export interface PartitionSweepOptions {
  /**
   * Count the rows of a partition before dropping it, so the sweep reports exact totals.
   * Default true. The count is a sequential scan: far cheaper than deleting the rows, but most
   * of a drop's cost; the partition-vs-delete benchmark reports the drop both ways.
   */
  countDropped?: boolean;
}

export interface PartitionDrop {
  /** Rows in the dropped partitions (0 when not counted). */
  rows: number;
  partitions: number;
}

/**
 * Drops every partition of `schema.table` whose whole day lies before `cutoffMs`.
 *
 * `DETACH PARTITION … CONCURRENTLY` (PG ≥ 14) takes only SHARE UPDATE EXCLUSIVE on the parent,
 * so inserts into today's partition go on while an old day is detached; the detached table is
 * then dropped on its own. A detach interrupted by a crash is finished (`FINALIZE`) next time.
 * A session advisory lock keeps two processes from detaching the same partition.
 */
export async function dropExpiredPartitions(pool: pg.Pool, schema: string, table: string, cutoffMs: number, options: PartitionSweepOptions = {}): Promise<PartitionDrop> {
  const countDropped = options.countDropped ?? true;
  const result: PartitionDrop = { rows: 0, partitions: 0 };
  const expired = (await listPartitions(pool, schema, table)).filter((p) => p.toMs <= cutoffMs);
  if (expired.length === 0) return result;
  const client = await pool.connect();
  const lockKey = partitionLockKey(schema);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockKey]);
    for (const part of await listPartitions(client, schema, table)) {
      if (part.toMs > cutoffMs) break;
      const qualified = `${ident(schema)}.${ident(part.name)}`;
      if (countDropped) {
        const counted = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified}`);
        result.rows += Number(counted.rows[0]!.n);
      }
      try {
        await client.query(`ALTER TABLE ${ident(schema)}.${ident(table)} DETACH PARTITION ${qualified} CONCURRENTLY`);
      } catch (error) {
        // 55000: a previous detach of this partition was interrupted; finish it.
        if ((error as { code?: string }).code !== '55000') throw error;
        await client.query(`ALTER TABLE ${ident(schema)}.${ident(table)} DETACH PARTITION ${qualified} FINALIZE`);
      }
      await client.query(`DROP TABLE IF EXISTS ${qualified}`);
      result.partitions++;
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => {});
    client.release();
  }
  return result;
}

/**
 * Deletes at most `limit` rows created before `cutoffMs` from the partitions that straddle the
 * cutoff (after `dropExpiredPartitions`, only one), in one bounded statement per partition.
 */
export async function deleteExpiredEdge(pool: pg.Pool, schema: string, table: string, cutoffMs: number, limit: number): Promise<number> {
  let deleted = 0;
  for (const part of await listPartitions(pool, schema, table)) {
    if (part.fromMs >= cutoffMs || deleted >= limit) break;
    const qualified = `${ident(schema)}.${ident(part.name)}`;
    const result = await pool.query(
      `DELETE FROM ${qualified} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${qualified} WHERE created_at_ms < $1 LIMIT $2))`,
      [cutoffMs, limit - deleted],
    );
    deleted += result.rowCount ?? 0;
  }
  return deleted;
}
