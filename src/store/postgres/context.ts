/**
 * The PostgreSQL store's shared context: the pool, the transaction and query helpers that map
 * driver errors to `StoreError`, region routing (a business's region, its schema, creating a
 * region's schema on demand), day partitions of message data, and the two writes that several
 * roles make (user activity, conversation timestamps). Every role of the PostgreSQL store
 * (src/store/postgres/*.ts) is a function of one `PostgresContext`.
 *
 * Layout (src/store/migrations): a `sigload` schema with the region registry and the business
 * directory, and one schema per Local Storage region (`region_us`, `region_de`, …, created on
 * demand). Message data is partitioned by UTC day (src/store/postgres-partitions.ts).
 */
import type pg from 'pg';
import { DEFAULT_REGION, StoreError, isRegion } from '../store.js';
import type { Region, StoreMetrics } from '../store.js';
import { PARTITIONED_TABLES, regionMigrations } from '../migrations/index.js';
import { runMigrations } from '../postgres-migrate.js';
import { DAY_MS, dayStartMs, ensureDailyPartitions, ident } from '../postgres-partitions.js';
import { definedOptions } from '../../defined-options.js';

export interface PostgresStoreOptions {
  /** postgres://user@host:port/db. Required. */
  database_url: string;
  /** Connections in this process's pool. @default 10 */
  pool_size?: number;
  /** Most webhook items one business may have queued (as the memory store). @default 10_000 */
  webhook_queue_capacity?: number;
  /** Days of partitions created ahead of the newest record's day. @default 2 */
  partitions_ahead_days?: number;
  /**
   * Count the rows of a day partition before the retention sweep drops it, so
   * `messages_deleted` is exact. @default true
   */
  count_dropped_partitions?: boolean;
  /** The server clock, for stored_at/updated_at bookkeeping (not retention). @default Date.now */
  now_ms?: () => number;
}

/** The defaults of `PostgresStoreOptions` (all but the required `database_url`), in one place. */
export const POSTGRES_STORE_DEFAULTS: Required<Omit<PostgresStoreOptions, 'database_url'>> = Object.freeze({
  pool_size: 10,
  webhook_queue_capacity: 10_000,
  partitions_ahead_days: 2,
  count_dropped_partitions: true,
  now_ms: Date.now,
});

/** The schema of the region registry and the business directory. */
export const CORE_SCHEMA = 'sigload';
/** Above this many rows (planner estimate) a message-data table's metric is the estimate. */
export const METRICS_EXACT_LIMIT = 100_000;

/** `region_us` for "US". */
export function regionSchema(region: Region): string {
  return `region_${region.toLowerCase()}`;
}

/** A pool or a client inside a transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/** Sealed bytes as a `bytea` parameter (no copy). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
/** A `bytea` column as sealed bytes. */
export function toBytes(value: Buffer): Uint8Array {
  return new Uint8Array(value);
}
/** A `bigint`/`integer` column (pg returns `bigint` as a string) as a number. */
export function toNumber(value: string | number | null): number {
  return Number(value);
}
/** A nullable `bigint` column as a number or null. */
export function toNumberOrNull(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}
/**
 * Times are `bigint` milliseconds in the database; callers' clocks may hand fractions (the
 * webhook dispatcher's due-check time), which `bigint` refuses. Instants stored or compared with
 * ≤ are floored; "not before" times and strict "before" cutoffs are rounded up.
 */
export const floorMs = (ms: number): number => Math.floor(ms);
export const ceilMs = (ms: number): number => Math.ceil(ms);

/** Maps driver errors to the store's closed set of error kinds. */
export function storeError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code;
  if (code === '23505') return new StoreError('exists', (error as Error).message, { cause: error });
  if (code === '22P02' || code === '22003' || code === '22021') return new StoreError('invalid', (error as Error).message, { cause: error });
  return new StoreError('unavailable', (error as Error)?.message ?? String(error), { cause: error });
}

export class PostgresContext {
  readonly pool: pg.Pool;
  readonly options: Required<Omit<PostgresStoreOptions, 'database_url' | 'pool_size'>>;

  /** Region schemas migrated by this process (or found registered). */
  readonly regions = new Set<Region>();
  readonly regionSetup = new Map<Region, Promise<void>>();
  regionsLoadedAtMs = 0;
  metricsInFlight: Promise<StoreMetrics> | undefined;

  /** phone_number_id → region (a business's region never changes). */
  readonly businessRegion = new Map<string, Region>();

  /** `${schema}:${dayMs}` of days whose partitions exist. */
  readonly partitionDays = new Set<string>();

  constructor(pool: pg.Pool, options: PostgresStoreOptions) {
    this.pool = pool;
    const settings = { ...POSTGRES_STORE_DEFAULTS, ...definedOptions(options) };
    const clock = settings.now_ms;
    this.options = {
      webhook_queue_capacity: settings.webhook_queue_capacity,
      partitions_ahead_days: settings.partitions_ahead_days,
      count_dropped_partitions: settings.count_dropped_partitions,
      now_ms: clock === Date.now ? Date.now : () => floorMs(clock()),
    };
  }

  async loadRegions(): Promise<Region[]> {
    const { rows } = await this.pool.query<{ region: string }>(`SELECT region FROM ${CORE_SCHEMA}.regions`);
    for (const row of rows) if (isRegion(row.region)) this.regions.add(row.region);
    this.regionsLoadedAtMs = Date.now();
    return [...this.regions];
  }

  /**
   * The region list for the hot paths (webhook claims and due times, polled continuously):
   * reread at most once a second, so a region another process created shows up within 1 s.
   */
  async recentRegions(): Promise<Region[]> {
    if (Date.now() - this.regionsLoadedAtMs < 1_000) return [...this.regions];
    return this.loadRegions();
  }

  ensureRegion(region: Region): Promise<void> {
    if (this.regions.has(region)) return Promise.resolve();
    let setup = this.regionSetup.get(region);
    if (!setup) {
      setup = (async () => {
        await runMigrations(this.pool, regionSchema(region), regionMigrations);
        await this.pool.query(`INSERT INTO ${CORE_SCHEMA}.regions (region, schema_name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [region, regionSchema(region)]);
        this.regions.add(region);
      })();
      this.regionSetup.set(region, setup);
      setup.catch(() => this.regionSetup.delete(region));
    }
    return setup;
  }

  async ensurePartitions(region: Region, createdAtMs: readonly number[]): Promise<void> {
    const schema = regionSchema(region);
    for (const day of new Set(createdAtMs.map(dayStartMs))) {
      if (this.partitionDays.has(`${schema}:${day}`)) continue;
      const last = day + this.options.partitions_ahead_days * DAY_MS;
      await ensureDailyPartitions(this.pool, schema, PARTITIONED_TABLES, day, last);
      for (let d = day; d <= last; d += DAY_MS) this.partitionDays.add(`${schema}:${d}`);
    }
  }

  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw storeError(error);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw storeError(error);
    } finally {
      client.release();
    }
  }

  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw storeError(error);
    }
  }

  /** The region of a business, or undefined when unknown. */
  async regionOf(phoneNumberId: string, client: Queryable = this.pool): Promise<Region | undefined> {
    const cached = this.businessRegion.get(phoneNumberId);
    if (cached) return cached;
    let rows: { region: string }[];
    try {
      rows = (await client.query<{ region: string }>(`SELECT region FROM ${CORE_SCHEMA}.business_directory WHERE phone_number_id = $1`, [phoneNumberId])).rows;
    } catch (error) {
      throw storeError(error);
    }
    const region = rows[0]?.region;
    if (!region || !isRegion(region)) return undefined;
    await this.ensureRegion(region);
    this.businessRegion.set(phoneNumberId, region);
    return region;
  }

  async requireRegion(phoneNumberId: string): Promise<Region> {
    const region = await this.regionOf(phoneNumberId);
    if (!region) throw new StoreError('not-found', `business ${phoneNumberId}`);
    return region;
  }

  home(): string {
    return ident(regionSchema(DEFAULT_REGION));
  }

  schema(region: Region): string {
    return ident(regionSchema(region));
  }

  /** Moves users' last activity forward (never back); creates the contact when new. */
  async touchContacts(client: Queryable, activity: ReadonlyMap<string, number>): Promise<void> {
    if (activity.size === 0) return;
    const home = this.home();
    const waIds = [...activity.keys()].sort();
    await client.query(
      `INSERT INTO ${home}.contacts (wa_id, created_at_ms, last_activity_ms)
       SELECT wa_id, at_ms, at_ms FROM unnest($1::text[], $2::bigint[]) AS a (wa_id, at_ms)
       ON CONFLICT (wa_id) DO UPDATE SET last_activity_ms = GREATEST(${home}.contacts.last_activity_ms, EXCLUDED.last_activity_ms)`,
      [waIds, waIds.map((w) => floorMs(activity.get(w)!))],
    );
  }

  /**
   * Moves `column` of the conversation of each (business, user) pair in `records` forward to the
   * pair's latest `atMs`, and records each user's latest `atMs` in `activity` (written once per
   * transaction with `touchContacts`).
   */
  async touchConversationsOf<T extends { readonly phone_number_id: string; readonly wa_id: string }>(
    client: Queryable,
    region: Region,
    column: 'last_inbound_ms' | 'last_status_ms',
    records: readonly T[],
    atMs: (record: T) => number,
    activity: Map<string, number>,
  ): Promise<void> {
    const pairs = new Map<string, { pnid: string; waId: string; atMs: number }>();
    for (const r of records) {
      const at = atMs(r);
      const key = `${r.phone_number_id}\u0000${r.wa_id}`;
      pairs.set(key, { pnid: r.phone_number_id, waId: r.wa_id, atMs: Math.max(pairs.get(key)?.atMs ?? -Infinity, at) });
      activity.set(r.wa_id, Math.max(activity.get(r.wa_id) ?? -Infinity, at));
    }
    await this.touchConversations(client, region, column, pairs);
  }

  /** Upserts conversations, moving one timestamp column forward. */
  async touchConversations(client: Queryable, region: Region, column: 'last_inbound_ms' | 'last_status_ms', pairs: ReadonlyMap<string, { pnid: string; waId: string; atMs: number }>): Promise<void> {
    if (pairs.size === 0) return;
    const s = this.schema(region);
    const sorted = [...pairs.values()].sort((a, b) => (a.pnid + '\u0000' + a.waId < b.pnid + '\u0000' + b.waId ? -1 : 1));
    await client.query(
      `INSERT INTO ${s}.conversations (phone_number_id, wa_id, ${column}, stored_at_ms)
       SELECT pnid, wa_id, at_ms, at_ms FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c (pnid, wa_id, at_ms)
       ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET ${column} = GREATEST(${s}.conversations.${column}, EXCLUDED.${column})`,
      [sorted.map((p) => p.pnid), sorted.map((p) => p.waId), sorted.map((p) => floorMs(p.atMs))],
    );
  }

  /** Groups records by their business's region; StoreError('not-found') for an unknown business. */
  async byRegion<T extends { phone_number_id: string }>(records: readonly T[]): Promise<Map<Region, T[]>> {
    const groups = new Map<Region, T[]>();
    for (const record of records) {
      const region = await this.requireRegion(record.phone_number_id);
      let group = groups.get(region);
      if (!group) groups.set(region, (group = []));
      group.push(record);
    }
    return groups;
  }

  /** Runs `work`; when a row found no partition (the clock jumped past what we created), creates it and retries once. */
  async withPartitions<T>(groups: Map<Region, { created_at_ms: number }[]>, work: () => Promise<T>): Promise<T> {
    for (const [region, group] of groups) await this.ensurePartitions(region, group.map((r) => r.created_at_ms));
    try {
      return await work();
    } catch (error) {
      const cause = error instanceof StoreError ? (error.cause as { code?: string } | undefined) : (error as { code?: string });
      if (cause?.code !== '23514') throw error;
      this.partitionDays.clear();
      for (const [region, group] of groups) await this.ensurePartitions(region, group.map((r) => r.created_at_ms));
      return work();
    }
  }
}
