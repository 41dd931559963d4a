/**
 * The Store (src/store/store.ts) on PostgreSQL, with node-postgres (`pg`).
 *
 * Layout (src/store/migrations): a `sigload` schema with the region registry and the business
 * directory, and one schema per Local Storage region (`region_us`, `region_de`, …, created on
 * demand). Message data is partitioned by UTC day (src/store/postgres-partitions.ts), so the
 * retention sweep drops whole expired days and deletes only rows at the edge.
 *
 * The store never seals or opens anything: it gets sealed bytes from `AtRest`
 * (src/server/at-rest.ts), exactly as the memory store does, and stores them as `bytea`.
 *
 * Consistency across several server processes on one database (docs/postgres.md):
 * - one-time prekeys: `UPDATE/DELETE … WHERE key = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)
 *   RETURNING`, so concurrent takers each get a different key and never wait on each other;
 * - sessions: optimistic compare-and-set on `version` (`putSession`); a loser gets
 *   StoreError('conflict'), reloads and redoes its ratchet step, so no step is lost;
 * - inbox cursors: a per-device counter row whose lock orders concurrent appends, so a reader
 *   never sees cursor n+1 before n;
 * - webhook claims: `FOR UPDATE SKIP LOCKED` plus a lease (due_at_ms moved forward);
 * - DDL (migrations, partitions): advisory locks.
 */
import pg from 'pg';
import { DEFAULT_REGION, StoreError, isRegion, recordKey } from './store.js';
import type {
  AuditRecord,
  BusinessIdentityRecord,
  BusinessRecord,
  ContactRecord,
  ConversationRecord,
  DeviceKeysUpdate,
  DeviceRecord,
  InboxAppend,
  InboxEntry,
  InboxPage,
  MessageRecord,
  MessageStatus,
  MessageSweepResult,
  RecordKind,
  Region,
  RegisterDeviceResult,
  SealedPreKey,
  SessionRecord,
  StatusRecord,
  Store,
  StoreMetrics,
  UserSweepResult,
  WebhookItem,
} from './store.js';
import { PARTITIONED_TABLES, coreMigrations, regionMigrations } from './migrations/index.js';
import { runMigrations } from './postgres-migrate.js';
import { DAY_MS, dayStartMs, deleteExpiredEdge, dropExpiredPartitions, ensureDailyPartitions, ident, partitionLockKey } from './postgres-partitions.js';

export interface PostgresStoreOptions {
  /** postgres://user@host:port/db. Required. */
  database_url: string;
  /** Connections in this process's pool. Default 10. */
  pool_size?: number;
  /** Most webhook items one business may have queued. Default 10000 (as the memory store). */
  webhook_queue_capacity?: number;
  /** Days of partitions created ahead of the newest record's day. Default 2. */
  partitions_ahead_days?: number;
  /**
   * Count the rows of a day partition before the retention sweep drops it, so
   * `messages_deleted` is exact. Default true.
   */
  count_dropped_partitions?: boolean;
  /** The server clock, for stored_at/updated_at bookkeeping (not retention). Default Date.now. */
  now_ms?: () => number;
}

const CORE = 'sigload';
/** Above this many rows (planner estimate) a message-data table's metric is the estimate. */
const METRICS_EXACT_LIMIT = 100_000;

/** `region_us` for "US". */
export function regionSchema(region: Region): string {
  return `region_${region.toLowerCase()}`;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

function buf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
function bytes(value: Buffer): Uint8Array {
  return new Uint8Array(value);
}
function num(value: string | number | null): number {
  return Number(value);
}
/**
 * Times are `bigint` milliseconds in the database; callers' clocks may hand fractions (the
 * webhook dispatcher's due-check time), which `bigint` refuses. Instants stored or compared with
 * ≤ are floored; "not before" times and strict "before" cutoffs are rounded up.
 */
const floorMs = (ms: number): number => Math.floor(ms);
const ceilMs = (ms: number): number => Math.ceil(ms);
function optNum(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}

/** Maps driver errors to the store's closed set of error kinds. */
function storeError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code;
  if (code === '23505') return new StoreError('exists', (error as Error).message, { cause: error });
  if (code === '22P02' || code === '22003' || code === '22021') return new StoreError('invalid', (error as Error).message, { cause: error });
  return new StoreError('unavailable', (error as Error)?.message ?? String(error), { cause: error });
}

export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #options: Required<Omit<PostgresStoreOptions, 'database_url' | 'pool_size'>>;
  /** Region schemas migrated by this process (or found registered). */
  readonly #regions = new Set<Region>();
  readonly #regionSetup = new Map<Region, Promise<void>>();
  #regionsLoadedAtMs = 0;
  #metricsInFlight: Promise<StoreMetrics> | undefined;
  /** phone_number_id → region (a business's region never changes). */
  readonly #businessRegion = new Map<string, Region>();
  /** `${schema}:${dayMs}` of days whose partitions exist. */
  readonly #partitionDays = new Set<string>();

  private constructor(pool: pg.Pool, options: PostgresStoreOptions) {
    this.#pool = pool;
    this.#options = {
      webhook_queue_capacity: options.webhook_queue_capacity ?? 10_000,
      partitions_ahead_days: options.partitions_ahead_days ?? 2,
      count_dropped_partitions: options.count_dropped_partitions ?? true,
      now_ms: options.now_ms ? () => floorMs(options.now_ms!()) : Date.now,
    };
  }

  /** Connects, runs the migrations (core and home region) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    if (!options.database_url) throw new StoreError('invalid', 'database_url is required for the PostgreSQL store');
    const pool = new pg.Pool({ connectionString: options.database_url, max: options.pool_size ?? 10 });
    pool.on('error', () => {}); // an idle client lost its connection; the next query reports it
    const store = new PostgresStore(pool, options);
    try {
      await runMigrations(pool, CORE, coreMigrations);
      await store.#ensureRegion(DEFAULT_REGION);
      await store.#loadRegions();
    } catch (error) {
      await pool.end().catch(() => {});
      throw storeError(error);
    }
    return store;
  }

  /** The pool, for benchmarks and tests that inspect tables directly. */
  get pool(): pg.Pool {
    return this.#pool;
  }

  // --- plumbing ---------------------------------------------------------------------------

  async #loadRegions(): Promise<Region[]> {
    const { rows } = await this.#pool.query<{ region: string }>(`SELECT region FROM ${CORE}.regions`);
    for (const row of rows) if (isRegion(row.region)) this.#regions.add(row.region);
    this.#regionsLoadedAtMs = Date.now();
    return [...this.#regions];
  }

  /**
   * The region list for the hot paths (webhook claims and due times, polled continuously):
   * reread at most once a second, so a region another process created shows up within 1 s.
   */
  async #recentRegions(): Promise<Region[]> {
    if (Date.now() - this.#regionsLoadedAtMs < 1_000) return [...this.#regions];
    return this.#loadRegions();
  }

  #ensureRegion(region: Region): Promise<void> {
    if (this.#regions.has(region)) return Promise.resolve();
    let setup = this.#regionSetup.get(region);
    if (!setup) {
      setup = (async () => {
        await runMigrations(this.#pool, regionSchema(region), regionMigrations);
        await this.#pool.query(`INSERT INTO ${CORE}.regions (region, schema_name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [region, regionSchema(region)]);
        this.#regions.add(region);
      })();
      this.#regionSetup.set(region, setup);
      setup.catch(() => this.#regionSetup.delete(region));
    }
    return setup;
  }

  async #ensurePartitions(region: Region, createdAtMs: readonly number[]): Promise<void> {
    const schema = regionSchema(region);
    for (const day of new Set(createdAtMs.map(dayStartMs))) {
      if (this.#partitionDays.has(`${schema}:${day}`)) continue;
      const last = day + this.#options.partitions_ahead_days * DAY_MS;
      await ensureDailyPartitions(this.#pool, schema, PARTITIONED_TABLES, day, last);
      for (let d = day; d <= last; d += DAY_MS) this.#partitionDays.add(`${schema}:${d}`);
    }
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
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

  async #query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      throw storeError(error);
    }
  }

  /** The region of a business, or undefined when unknown. */
  async #regionOf(phoneNumberId: string, client: Queryable = this.#pool): Promise<Region | undefined> {
    const cached = this.#businessRegion.get(phoneNumberId);
    if (cached) return cached;
    let rows: { region: string }[];
    try {
      rows = (await client.query<{ region: string }>(`SELECT region FROM ${CORE}.business_directory WHERE phone_number_id = $1`, [phoneNumberId])).rows;
    } catch (error) {
      throw storeError(error);
    }
    const region = rows[0]?.region;
    if (!region || !isRegion(region)) return undefined;
    await this.#ensureRegion(region);
    this.#businessRegion.set(phoneNumberId, region);
    return region;
  }

  async #requireRegion(phoneNumberId: string): Promise<Region> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) throw new StoreError('not-found', `business ${phoneNumberId}`);
    return region;
  }

  #home(): string {
    return ident(regionSchema(DEFAULT_REGION));
  }

  #schema(region: Region): string {
    return ident(regionSchema(region));
  }

  // --- businesses -------------------------------------------------------------------------

  async createBusiness(business: BusinessRecord): Promise<void> {
    if (!isRegion(business.region)) throw new StoreError('invalid', `unknown region ${String(business.region)}`);
    await this.#ensureRegion(business.region);
    const s = this.#schema(business.region);
    await this.#transaction(async (client) => {
      await client.query(`INSERT INTO ${CORE}.business_directory (phone_number_id, region, access_token_hash) VALUES ($1, $2, $3)`, [
        business.phone_number_id,
        business.region,
        business.access_token_hash,
      ]);
      await client.query(
        `INSERT INTO ${s}.businesses (phone_number_id, waba_id, region, access_token_hash, created_at_ms, wrapped_data_key, sealed_profile, stored_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [business.phone_number_id, business.waba_id, business.region, business.access_token_hash, business.created_at_ms, buf(business.wrapped_data_key), buf(business.sealed_profile), this.#options.now_ms()],
      );
    });
    this.#businessRegion.set(business.phone_number_id, business.region);
  }

  #businessRow(row: BusinessRow): BusinessRecord {
    return {
      phone_number_id: row.phone_number_id,
      waba_id: row.waba_id,
      region: row.region as Region,
      access_token_hash: row.access_token_hash,
      created_at_ms: num(row.created_at_ms),
      wrapped_data_key: bytes(row.wrapped_data_key),
      sealed_profile: bytes(row.sealed_profile),
    };
  }

  async getBusiness(phoneNumberId: string): Promise<BusinessRecord | undefined> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) return undefined;
    const { rows } = await this.#query<BusinessRow>(`SELECT * FROM ${this.#schema(region)}.businesses WHERE phone_number_id = $1`, [phoneNumberId]);
    return rows[0] ? this.#businessRow(rows[0]) : undefined;
  }

  async getBusinessByTokenHash(accessTokenHash: string): Promise<BusinessRecord | undefined> {
    const { rows } = await this.#query<{ phone_number_id: string }>(`SELECT phone_number_id FROM ${CORE}.business_directory WHERE access_token_hash = $1`, [accessTokenHash]);
    return rows[0] ? this.getBusiness(rows[0].phone_number_id) : undefined;
  }

  async updateBusinessProfile(phoneNumberId: string, sealedProfile: Uint8Array): Promise<void> {
    const region = await this.#requireRegion(phoneNumberId);
    const result = await this.#query(`UPDATE ${this.#schema(region)}.businesses SET sealed_profile = $2, stored_at_ms = $3 WHERE phone_number_id = $1`, [
      phoneNumberId,
      buf(sealedProfile),
      this.#options.now_ms(),
    ]);
    if (result.rowCount === 0) throw new StoreError('not-found', `business ${phoneNumberId}`);
  }

  async listBusinesses(): Promise<readonly BusinessRecord[]> {
    const out: BusinessRecord[] = [];
    for (const region of await this.#loadRegions()) {
      const { rows } = await this.#query<BusinessRow>(`SELECT * FROM ${this.#schema(region)}.businesses ORDER BY created_at_ms, phone_number_id`);
      out.push(...rows.map((row) => this.#businessRow(row)));
    }
    return out.sort((a, b) => a.created_at_ms - b.created_at_ms);
  }

  async getBusinessIdentity(phoneNumberId: string): Promise<BusinessIdentityRecord | undefined> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) return undefined;
    const { rows } = await this.#query<{ sealed: Buffer; updated_at_ms: string }>(
      `SELECT sealed, updated_at_ms FROM ${this.#schema(region)}.business_identities WHERE phone_number_id = $1`,
      [phoneNumberId],
    );
    return rows[0] ? { phone_number_id: phoneNumberId, sealed: bytes(rows[0].sealed), updated_at_ms: num(rows[0].updated_at_ms) } : undefined;
  }

  async putBusinessIdentity(record: BusinessIdentityRecord): Promise<void> {
    const region = await this.#requireRegion(record.phone_number_id);
    await this.#query(
      `INSERT INTO ${this.#schema(region)}.business_identities (phone_number_id, sealed, updated_at_ms) VALUES ($1, $2, $3)
       ON CONFLICT (phone_number_id) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at_ms = EXCLUDED.updated_at_ms`,
      [record.phone_number_id, buf(record.sealed), record.updated_at_ms],
    );
  }

  /**
   * Removes and returns one one-time prekey no other call gets: `FOR UPDATE SKIP LOCKED` makes
   * concurrent takers (in any process) pick different rows without waiting on each other. (The
   * server keeps the private half of a handed-out key with the device's session record.)
   */
  async takeBusinessPreKey(phoneNumberId: string): Promise<SealedPreKey | undefined> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) return undefined;
    const s = this.#schema(region);
    const { rows } = await this.#query<{ id: number; sealed: Buffer }>(
      `DELETE FROM ${s}.business_pre_keys
        WHERE phone_number_id = $1 AND id = (
          SELECT id FROM ${s}.business_pre_keys WHERE phone_number_id = $1
          ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, sealed`,
      [phoneNumberId],
    );
    return rows[0] ? { id: rows[0].id, sealed: bytes(rows[0].sealed) } : undefined;
  }

  async addBusinessPreKeys(phoneNumberId: string, preKeys: readonly SealedPreKey[]): Promise<void> {
    const region = await this.#requireRegion(phoneNumberId);
    if (preKeys.length === 0) return;
    await this.#query(
      `INSERT INTO ${this.#schema(region)}.business_pre_keys (phone_number_id, id, sealed, stored_at_ms)
       SELECT $1, id, sealed, $4 FROM unnest($2::integer[], $3::bytea[]) AS k (id, sealed)
       ON CONFLICT (phone_number_id, id) DO UPDATE SET sealed = EXCLUDED.sealed, stored_at_ms = EXCLUDED.stored_at_ms`,
      [phoneNumberId, preKeys.map((k) => k.id), preKeys.map((k) => buf(k.sealed)), this.#options.now_ms()],
    );
  }

  async businessPreKeyCount(phoneNumberId: string): Promise<number> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) return 0;
    const { rows } = await this.#query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.#schema(region)}.business_pre_keys WHERE phone_number_id = $1`,
      [phoneNumberId],
    );
    return num(rows[0]!.n);
  }

  // --- users and devices (home region) ----------------------------------------------------

  async registerDevice(device: DeviceRecord, oneTimePreKeys: readonly SealedPreKey[]): Promise<RegisterDeviceResult> {
    const home = this.#home();
    const regions = await this.#loadRegions();
    return this.#transaction(async (client) => {
      if (device.identity_key_hash !== undefined) {
        // One wa_id per identity key: registrations of the same key are serialised on its hash.
        await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`identity:${device.identity_key_hash}`]);
        const taken = await client.query(`SELECT 1 FROM ${home}.devices WHERE identity_key_hash = $1 AND wa_id <> $2 LIMIT 1`, [device.identity_key_hash, device.wa_id]);
        if ((taken.rowCount ?? 0) > 0) throw new StoreError('exists', 'identity_key is registered to another wa_id');
      }
      await client.query(
        `INSERT INTO ${home}.contacts (wa_id, created_at_ms, last_activity_ms) VALUES ($1, $2, $2)
         ON CONFLICT (wa_id) DO UPDATE SET last_activity_ms = GREATEST(${home}.contacts.last_activity_ms, EXCLUDED.last_activity_ms)`,
        [device.wa_id, device.registered_at_ms],
      );
      const existing = await client.query(`DELETE FROM ${home}.devices WHERE wa_id = $1 AND device_id = $2 RETURNING 1`, [device.wa_id, device.device_id]);
      const replaced = (existing.rowCount ?? 0) > 0;
      let sessionsDropped = 0;
      if (replaced) {
        await client.query(`DELETE FROM ${home}.device_pre_keys WHERE wa_id = $1 AND device_id = $2`, [device.wa_id, device.device_id]);
        for (const region of regions) {
          const dropped = await client.query(`DELETE FROM ${this.#schema(region)}.sessions WHERE wa_id = $1 AND device_id = $2`, [device.wa_id, device.device_id]);
          sessionsDropped += dropped.rowCount ?? 0;
          // Entries sealed for the old keys' sessions: the new keys cannot open them.
          await client.query(`DELETE FROM ${this.#schema(region)}.inbox WHERE wa_id = $1 AND device_id = $2`, [device.wa_id, device.device_id]);
        }
      }
      await client.query(`INSERT INTO ${home}.devices (wa_id, device_id, token_hash, registered_at_ms, sealed_keys, identity_key_hash) VALUES ($1, $2, $3, $4, $5, $6)`, [
        device.wa_id,
        device.device_id,
        device.token_hash,
        device.registered_at_ms,
        buf(device.sealed_keys),
        device.identity_key_hash ?? null,
      ]);
      await this.#insertDevicePreKeys(client, device.wa_id, device.device_id, oneTimePreKeys);
      return { replaced, sessions_dropped: sessionsDropped };
    });
  }

  async #insertDevicePreKeys(client: Queryable, waId: string, deviceId: number, preKeys: readonly SealedPreKey[]): Promise<void> {
    if (preKeys.length === 0) return;
    await client.query(
      `INSERT INTO ${this.#home()}.device_pre_keys (wa_id, device_id, id, sealed, stored_at_ms)
       SELECT $1, $2, id, sealed, $5 FROM unnest($3::integer[], $4::bytea[]) AS k (id, sealed)
       ON CONFLICT (wa_id, device_id, id) DO UPDATE SET sealed = EXCLUDED.sealed`,
      [waId, deviceId, preKeys.map((k) => k.id), preKeys.map((k) => buf(k.sealed)), this.#options.now_ms()],
    );
  }

  async updateDeviceKeys(waId: string, deviceId: number, update: DeviceKeysUpdate): Promise<void> {
    const home = this.#home();
    await this.#transaction(async (client) => {
      // The device row's lock serialises uploads of one device, so the cap holds across processes.
      const found = await client.query(`SELECT 1 FROM ${home}.devices WHERE wa_id = $1 AND device_id = $2 FOR UPDATE`, [waId, deviceId]);
      if (found.rowCount === 0) throw new StoreError('not-found', `device ${recordKey.device(waId, deviceId)}`);
      const added = update.add_one_time_pre_keys ?? [];
      if (update.max_one_time_pre_keys !== undefined) {
        const { rows } = await client.query<{ n: string }>(
          `SELECT (SELECT count(*) FROM ${home}.device_pre_keys WHERE wa_id = $1 AND device_id = $2)
                + (SELECT count(*) FROM unnest($3::integer[]) AS k (id)
                    WHERE NOT EXISTS (SELECT 1 FROM ${home}.device_pre_keys p WHERE p.wa_id = $1 AND p.device_id = $2 AND p.id = k.id)) AS n`,
          [waId, deviceId, added.map((k) => k.id)],
        );
        const after = num(rows[0]!.n);
        if (after > update.max_one_time_pre_keys) throw new StoreError('invalid', `the device would hold ${after} one-time prekeys; at most ${update.max_one_time_pre_keys} are kept`);
      }
      if (update.sealed_keys) {
        await client.query(`UPDATE ${home}.devices SET sealed_keys = $3 WHERE wa_id = $1 AND device_id = $2`, [waId, deviceId, buf(update.sealed_keys)]);
      }
      await this.#insertDevicePreKeys(client, waId, deviceId, update.add_one_time_pre_keys ?? []);
    });
  }

  #deviceRow(row: DeviceRow): DeviceRecord {
    return {
      wa_id: row.wa_id,
      device_id: row.device_id,
      token_hash: row.token_hash,
      registered_at_ms: num(row.registered_at_ms),
      sealed_keys: bytes(row.sealed_keys),
    };
  }

  async getDevice(waId: string, deviceId: number): Promise<DeviceRecord | undefined> {
    const { rows } = await this.#query<DeviceRow>(`SELECT * FROM ${this.#home()}.devices WHERE wa_id = $1 AND device_id = $2`, [waId, deviceId]);
    return rows[0] ? this.#deviceRow(rows[0]) : undefined;
  }

  async getDeviceByTokenHash(tokenHash: string): Promise<DeviceRecord | undefined> {
    const { rows } = await this.#query<DeviceRow>(`SELECT * FROM ${this.#home()}.devices WHERE token_hash = $1`, [tokenHash]);
    return rows[0] ? this.#deviceRow(rows[0]) : undefined;
  }

  async listDevices(waId: string): Promise<readonly DeviceRecord[]> {
    const { rows } = await this.#query<DeviceRow>(`SELECT * FROM ${this.#home()}.devices WHERE wa_id = $1 ORDER BY device_id`, [waId]);
    return rows.map((row) => this.#deviceRow(row));
  }

  async takeDevicePreKey(waId: string, deviceId: number): Promise<SealedPreKey | undefined> {
    const home = this.#home();
    const { rows } = await this.#query<{ id: number; sealed: Buffer }>(
      `DELETE FROM ${home}.device_pre_keys
        WHERE wa_id = $1 AND device_id = $2 AND id = (
          SELECT id FROM ${home}.device_pre_keys WHERE wa_id = $1 AND device_id = $2
          ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, sealed`,
      [waId, deviceId],
    );
    return rows[0] ? { id: rows[0].id, sealed: bytes(rows[0].sealed) } : undefined;
  }

  async devicePreKeyCount(waId: string, deviceId: number): Promise<number> {
    const { rows } = await this.#query<{ n: string }>(`SELECT count(*) AS n FROM ${this.#home()}.device_pre_keys WHERE wa_id = $1 AND device_id = $2`, [waId, deviceId]);
    return num(rows[0]!.n);
  }

  async getContact(waId: string): Promise<ContactRecord | undefined> {
    const { rows } = await this.#query<{ created_at_ms: string; last_activity_ms: string }>(
      `SELECT created_at_ms, last_activity_ms FROM ${this.#home()}.contacts WHERE wa_id = $1`,
      [waId],
    );
    return rows[0] ? { wa_id: waId, created_at_ms: num(rows[0].created_at_ms), last_activity_ms: num(rows[0].last_activity_ms) } : undefined;
  }

  /** Moves users' last activity forward (never back); creates the contact when new. */
  async #touchContacts(client: Queryable, activity: ReadonlyMap<string, number>): Promise<void> {
    if (activity.size === 0) return;
    const home = this.#home();
    const waIds = [...activity.keys()].sort();
    await client.query(
      `INSERT INTO ${home}.contacts (wa_id, created_at_ms, last_activity_ms)
       SELECT wa_id, at_ms, at_ms FROM unnest($1::text[], $2::bigint[]) AS a (wa_id, at_ms)
       ON CONFLICT (wa_id) DO UPDATE SET last_activity_ms = GREATEST(${home}.contacts.last_activity_ms, EXCLUDED.last_activity_ms)`,
      [waIds, waIds.map((w) => floorMs(activity.get(w)!))],
    );
  }

  // --- conversations ----------------------------------------------------------------------

  async getConversation(phoneNumberId: string, waId: string): Promise<ConversationRecord | undefined> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) return undefined;
    const { rows } = await this.#query<{ last_inbound_ms: string | null; last_status_ms: string | null; reported_spam_ms: string | null }>(
      `SELECT last_inbound_ms, last_status_ms, reported_spam_ms FROM ${this.#schema(region)}.conversations WHERE phone_number_id = $1 AND wa_id = $2`,
      [phoneNumberId, waId],
    );
    const row = rows[0];
    return row
      ? { phone_number_id: phoneNumberId, wa_id: waId, last_inbound_ms: optNum(row.last_inbound_ms), last_status_ms: optNum(row.last_status_ms), reported_spam_ms: optNum(row.reported_spam_ms) }
      : undefined;
  }

  async reportSpam(phoneNumberId: string, waId: string, atMs: number): Promise<void> {
    const region = await this.#requireRegion(phoneNumberId);
    const s = this.#schema(region);
    await this.#transaction(async (client) => {
      await client.query(`INSERT INTO ${this.#home()}.contacts (wa_id, created_at_ms, last_activity_ms) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING`, [waId, floorMs(atMs)]);
      await client.query(
        `INSERT INTO ${s}.conversations (phone_number_id, wa_id, reported_spam_ms, stored_at_ms) VALUES ($1, $2, $3, $3)
         ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET reported_spam_ms = EXCLUDED.reported_spam_ms`,
        [phoneNumberId, waId, floorMs(atMs)],
      );
    });
  }

  /** Upserts conversations, moving one timestamp column forward. */
  async #touchConversations(client: Queryable, region: Region, column: 'last_inbound_ms' | 'last_status_ms', pairs: ReadonlyMap<string, { pnid: string; waId: string; atMs: number }>): Promise<void> {
    if (pairs.size === 0) return;
    const s = this.#schema(region);
    const sorted = [...pairs.values()].sort((a, b) => (a.pnid + '\u0000' + a.waId < b.pnid + '\u0000' + b.waId ? -1 : 1));
    await client.query(
      `INSERT INTO ${s}.conversations (phone_number_id, wa_id, ${column}, stored_at_ms)
       SELECT pnid, wa_id, at_ms, at_ms FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c (pnid, wa_id, at_ms)
       ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET ${column} = GREATEST(${s}.conversations.${column}, EXCLUDED.${column})`,
      [sorted.map((p) => p.pnid), sorted.map((p) => p.waId), sorted.map((p) => floorMs(p.atMs))],
    );
  }

  // --- sessions ---------------------------------------------------------------------------

  async getSession(phoneNumberId: string, waId: string, deviceId: number): Promise<SessionRecord | undefined> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) return undefined;
    const { rows } = await this.#query<{ sealed: Buffer; version: number }>(
      `SELECT sealed, version FROM ${this.#schema(region)}.sessions WHERE phone_number_id = $1 AND wa_id = $2 AND device_id = $3`,
      [phoneNumberId, waId, deviceId],
    );
    return rows[0] ? { sealed: bytes(rows[0].sealed), version: num(rows[0].version) } : undefined;
  }

  async putSession(phoneNumberId: string, waId: string, deviceId: number, sealed: Uint8Array, expectedVersion: number): Promise<number> {
    const region = await this.#requireRegion(phoneNumberId);
    const s = this.#schema(region);
    const now = this.#options.now_ms();
    if (expectedVersion === 0 && !(await this.getDevice(waId, deviceId))) throw new StoreError('not-found', `device ${recordKey.device(waId, deviceId)}`);
    const result =
      expectedVersion === 0
        ? await this.#query<{ version: number }>(
            `INSERT INTO ${s}.sessions (phone_number_id, wa_id, device_id, sealed, version, updated_at_ms) VALUES ($1, $2, $3, $4, nextval('${CORE}.session_versions'), $5)
             ON CONFLICT (phone_number_id, wa_id, device_id) DO NOTHING RETURNING version`,
            [phoneNumberId, waId, deviceId, buf(sealed), now],
          )
        : await this.#query<{ version: number }>(
            `UPDATE ${s}.sessions SET sealed = $4, version = nextval('${CORE}.session_versions'), updated_at_ms = $6
              WHERE phone_number_id = $1 AND wa_id = $2 AND device_id = $3 AND version = $5 RETURNING version`,
            [phoneNumberId, waId, deviceId, buf(sealed), expectedVersion, now],
          );
    const version = result.rows[0] === undefined ? undefined : num(result.rows[0].version);
    if (version === undefined) throw new StoreError('conflict', `session ${recordKey.session(phoneNumberId, waId, deviceId)} is not at version ${expectedVersion}`);
    return version;
  }

  async deleteSession(phoneNumberId: string, waId: string, deviceId: number): Promise<void> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) return;
    await this.#query(`DELETE FROM ${this.#schema(region)}.sessions WHERE phone_number_id = $1 AND wa_id = $2 AND device_id = $3`, [phoneNumberId, waId, deviceId]);
  }

  // --- message data -----------------------------------------------------------------------

  /** Groups records by their business's region; StoreError('not-found') for an unknown business. */
  async #byRegion<T extends { phone_number_id: string }>(records: readonly T[]): Promise<Map<Region, T[]>> {
    const groups = new Map<Region, T[]>();
    for (const record of records) {
      const region = await this.#requireRegion(record.phone_number_id);
      let group = groups.get(region);
      if (!group) groups.set(region, (group = []));
      group.push(record);
    }
    return groups;
  }

  /** Runs `work`; when a row found no partition (the clock jumped past what we created), creates it and retries once. */
  async #withPartitions<T>(groups: Map<Region, { created_at_ms: number }[]>, work: () => Promise<T>): Promise<T> {
    for (const [region, group] of groups) await this.#ensurePartitions(region, group.map((r) => r.created_at_ms));
    try {
      return await work();
    } catch (error) {
      const cause = error instanceof StoreError ? (error.cause as { code?: string } | undefined) : (error as { code?: string });
      if (cause?.code !== '23514') throw error;
      this.#partitionDays.clear();
      for (const [region, group] of groups) await this.#ensurePartitions(region, group.map((r) => r.created_at_ms));
      return work();
    }
  }

  async appendMessages(records: readonly MessageRecord[]): Promise<void> {
    if (records.length === 0) return;
    for (const r of records) if (!Number.isFinite(r.created_at_ms)) throw new StoreError('invalid', 'created_at_ms');
    const groups = await this.#byRegion(records);
    await this.#withPartitions(groups, () =>
      this.#transaction(async (client) => {
        const activity = new Map<string, number>();
        for (const [region, group] of groups) {
          await client.query(
            `INSERT INTO ${this.#schema(region)}.messages (phone_number_id, id, wa_id, created_at_ms, sealed)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])`,
            [group.map((r) => r.phone_number_id), group.map((r) => r.id), group.map((r) => r.wa_id), group.map((r) => floorMs(r.created_at_ms)), group.map((r) => buf(r.sealed))],
          );
          const pairs = new Map<string, { pnid: string; waId: string; atMs: number }>();
          for (const r of group) {
            const key = `${r.phone_number_id}\u0000${r.wa_id}`;
            pairs.set(key, { pnid: r.phone_number_id, waId: r.wa_id, atMs: Math.max(pairs.get(key)?.atMs ?? -Infinity, r.created_at_ms) });
            activity.set(r.wa_id, Math.max(activity.get(r.wa_id) ?? -Infinity, r.created_at_ms));
          }
          await this.#touchConversations(client, region, 'last_inbound_ms', pairs);
        }
        await this.#touchContacts(client, activity);
      }),
    );
  }

  async appendInbox(entries: readonly InboxAppend[]): Promise<readonly number[]> {
    if (entries.length === 0) return [];
    const groups = await this.#byRegion(entries);
    const regionOf = new Map<InboxAppend, Region>();
    for (const [region, group] of groups) for (const e of group) regionOf.set(e, region);
    return this.#withPartitions(groups, () =>
      this.#transaction(async (client) => {
        // Per device, in a fixed order (no deadlocks between appenders): reserve cursors.
        const byDevice = new Map<string, InboxAppend[]>();
        for (const e of entries) {
          const key = `${e.wa_id}.${e.device_id}`;
          let list = byDevice.get(key);
          if (!list) byDevice.set(key, (list = []));
          list.push(e);
        }
        const cursors = new Map<InboxAppend, number>();
        const home = this.#home();
        for (const key of [...byDevice.keys()].sort()) {
          const list = byDevice.get(key)!;
          const found = await client.query(`SELECT 1 FROM ${home}.devices WHERE wa_id = $1 AND device_id = $2`, [list[0]!.wa_id, list[0]!.device_id]);
          if (found.rowCount === 0) throw new StoreError('not-found', `device ${recordKey.device(list[0]!.wa_id, list[0]!.device_id)}`);
          const regions = [...new Set(list.map((e) => regionOf.get(e)!))];
          const { rows } = await client.query<{ last_cursor: string }>(
            `INSERT INTO ${home}.inbox_cursors (wa_id, device_id, last_cursor, regions) VALUES ($1, $2, $3, $4::text[])
             ON CONFLICT (wa_id, device_id) DO UPDATE SET last_cursor = ${home}.inbox_cursors.last_cursor + EXCLUDED.last_cursor,
               regions = ARRAY(SELECT DISTINCT r FROM unnest(${home}.inbox_cursors.regions || EXCLUDED.regions) AS r ORDER BY r)
             RETURNING last_cursor`,
            [list[0]!.wa_id, list[0]!.device_id, list.length, regions],
          );
          const last = num(rows[0]!.last_cursor);
          list.forEach((e, i) => cursors.set(e, last - list.length + 1 + i));
        }
        for (const [region, group] of groups) {
          await client.query(
            `INSERT INTO ${this.#schema(region)}.inbox (wa_id, device_id, cursor, phone_number_id, id, created_at_ms, sealed)
             SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bytea[])`,
            [
              group.map((e) => e.wa_id),
              group.map((e) => e.device_id),
              group.map((e) => cursors.get(e)!),
              group.map((e) => e.phone_number_id),
              group.map((e) => e.id),
              group.map((e) => floorMs(e.created_at_ms)),
              group.map((e) => buf(e.sealed)),
            ],
          );
        }
        return entries.map((e) => cursors.get(e)!);
      }),
    );
  }

  async readInbox(waId: string, deviceId: number, after: number, limit: number, maxBytes?: number): Promise<InboxPage> {
    const { rows: cursorRows } = await this.#query<{ regions: string[] }>(`SELECT regions FROM ${this.#home()}.inbox_cursors WHERE wa_id = $1 AND device_id = $2`, [waId, deviceId]);
    const regions = (cursorRows[0]?.regions ?? []).filter(isRegion);
    if (regions.length === 0) return { entries: [], cursor: after };
    for (const region of regions) await this.#ensureRegion(region);
    const union = regions
      .map((region) => `(SELECT wa_id, device_id, cursor, phone_number_id, id, created_at_ms, sealed FROM ${this.#schema(region)}.inbox WHERE wa_id = $1 AND device_id = $2 AND cursor > $3 ORDER BY cursor LIMIT $4)`)
      .join(' UNION ALL ');
    // With a byte bound: the running total of sealed bytes in cursor order, cut where it passes
    // the bound (the first entry always stays), so a page never loads more than it answers.
    const { rows } =
      maxBytes === undefined
        ? await this.#query<InboxRow>(`SELECT * FROM (${union}) AS i ORDER BY cursor LIMIT $4`, [waId, deviceId, after, limit])
        : await this.#query<InboxRow>(
            `SELECT wa_id, device_id, cursor, phone_number_id, id, created_at_ms, sealed FROM (
               SELECT i.*, row_number() OVER (ORDER BY cursor) AS n, sum(octet_length(sealed)) OVER (ORDER BY cursor) AS total
                 FROM (SELECT * FROM (${union}) AS u ORDER BY cursor LIMIT $4) AS i) AS p
              WHERE n = 1 OR total <= $5 ORDER BY cursor`,
            [waId, deviceId, after, limit, maxBytes],
          );
    const entries: InboxEntry[] = rows.map((row) => ({
      phone_number_id: row.phone_number_id,
      wa_id: row.wa_id,
      device_id: row.device_id,
      id: row.id,
      created_at_ms: num(row.created_at_ms),
      sealed: bytes(row.sealed),
      cursor: num(row.cursor),
    }));
    return { entries, cursor: entries.length > 0 ? entries[entries.length - 1]!.cursor : after };
  }

  async recordStatuses(records: readonly StatusRecord[]): Promise<void> {
    if (records.length === 0) return;
    const groups = await this.#byRegion(records);
    const withCreated = new Map<Region, (StatusRecord & { created_at_ms: number })[]>();
    for (const [region, group] of groups) withCreated.set(region, group.map((r) => ({ ...r, created_at_ms: r.at_ms })));
    await this.#withPartitions(withCreated, () =>
      this.#transaction(async (client) => {
        const activity = new Map<string, number>();
        for (const [region, group] of withCreated) {
          await client.query(
            `INSERT INTO ${this.#schema(region)}.statuses (phone_number_id, id, wa_id, status, at_ms, created_at_ms, sealed)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bytea[])`,
            [group.map((r) => r.phone_number_id), group.map((r) => r.id), group.map((r) => r.wa_id), group.map((r) => r.status), group.map((r) => floorMs(r.at_ms)), group.map((r) => floorMs(r.created_at_ms)), group.map((r) => buf(r.sealed))],
          );
          const pairs = new Map<string, { pnid: string; waId: string; atMs: number }>();
          for (const r of group) {
            const key = `${r.phone_number_id}\u0000${r.wa_id}`;
            pairs.set(key, { pnid: r.phone_number_id, waId: r.wa_id, atMs: Math.max(pairs.get(key)?.atMs ?? -Infinity, r.at_ms) });
            activity.set(r.wa_id, Math.max(activity.get(r.wa_id) ?? -Infinity, r.at_ms));
          }
          await this.#touchConversations(client, region, 'last_status_ms', pairs);
        }
        await this.#touchContacts(client, activity);
      }),
    );
  }

  async listStatuses(phoneNumberId: string, wamid: string): Promise<readonly StatusRecord[]> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) return [];
    const { rows } = await this.#query<{ wa_id: string; status: string; at_ms: string; sealed: Buffer }>(
      `SELECT wa_id, status, at_ms, sealed FROM ${this.#schema(region)}.statuses WHERE phone_number_id = $1 AND id = $2 ORDER BY at_ms, seq`,
      [phoneNumberId, wamid],
    );
    return rows.map((row) => ({ phone_number_id: phoneNumberId, id: wamid, wa_id: row.wa_id, status: row.status as MessageStatus, at_ms: num(row.at_ms), sealed: bytes(row.sealed) }));
  }

  // --- webhook queue ----------------------------------------------------------------------

  async enqueueWebhooks(items: readonly WebhookItem[]): Promise<void> {
    if (items.length === 0) return;
    const groups = await this.#byRegion(items);
    await this.#transaction(async (client) => {
      for (const [region, group] of groups) {
        const s = this.#schema(region);
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
          const depth = num(rows[0]!.n);
          const adding = ids.size - num(rows[0]!.queued); // already queued: idempotent
          if (depth + adding > this.#options.webhook_queue_capacity) {
            throw new StoreError('queue-full', `webhook queue of ${pnid} holds ${depth} of ${this.#options.webhook_queue_capacity}; ${adding} more refused`);
          }
        }
        await client.query(
          `INSERT INTO ${s}.webhooks (phone_number_id, id, created_at_ms, due_at_ms, attempts, sealed)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::integer[], $6::bytea[])
           ON CONFLICT (phone_number_id, id) DO NOTHING`,
          [group.map((i) => i.phone_number_id), group.map((i) => i.id), group.map((i) => floorMs(i.created_at_ms)), group.map((i) => ceilMs(i.due_at_ms)), group.map((i) => i.attempts), group.map((i) => buf(i.sealed))],
        );
      }
    });
  }

  async claimWebhooks(nowMs: number, options: { limit: number; lease_ms: number; phone_number_id?: string }): Promise<readonly WebhookItem[]> {
    let regions: Region[];
    if (options.phone_number_id !== undefined) {
      const region = await this.#regionOf(options.phone_number_id);
      if (!region) return [];
      regions = [region];
    } else {
      regions = await this.#recentRegions();
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
    const schemas = regions.map((region) => this.#schema(region));
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
    const { rows } = await this.#query<WebhookRow & { was_due_at_ms: string }>(
      `WITH ${[...offered, picked, ...leased].join(',\n')}
       ${schemas.map((_, i) => `SELECT * FROM leased_${i}`).join(' UNION ALL ')}`,
      values,
    );
    // RETURNING has no order: oldest due first (store.ts), as the claim picked them.
    rows.sort((x, y) => num(x.was_due_at_ms) - num(y.was_due_at_ms) || num(x.created_at_ms) - num(y.created_at_ms) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    return rows.map(webhookItem);
  }

  async ackWebhooks(phoneNumberId: string, ids: readonly string[]): Promise<void> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region || ids.length === 0) return;
    await this.#query(`DELETE FROM ${this.#schema(region)}.webhooks WHERE phone_number_id = $1 AND id = ANY ($2::text[])`, [phoneNumberId, [...ids]]);
  }

  async rescheduleWebhook(phoneNumberId: string, id: string, dueAtMs: number, attempts: number): Promise<void> {
    const region = await this.#regionOf(phoneNumberId);
    if (!region) return;
    await this.#query(`UPDATE ${this.#schema(region)}.webhooks SET due_at_ms = $3, attempts = $4 WHERE phone_number_id = $1 AND id = $2`, [phoneNumberId, id, ceilMs(dueAtMs), attempts]);
  }

  async webhookQueueDepth(phoneNumberId?: string): Promise<number> {
    if (phoneNumberId !== undefined) {
      const region = await this.#regionOf(phoneNumberId);
      if (!region) return 0;
      const { rows } = await this.#query<{ n: string }>(`SELECT count(*) AS n FROM ${this.#schema(region)}.webhooks WHERE phone_number_id = $1`, [phoneNumberId]);
      return num(rows[0]!.n);
    }
    let total = 0;
    for (const region of await this.#recentRegions()) {
      const { rows } = await this.#query<{ n: string }>(`SELECT count(*) AS n FROM ${this.#schema(region)}.webhooks`);
      total += num(rows[0]!.n);
    }
    return total;
  }

  async nextWebhookDueMs(): Promise<number | undefined> {
    let next: number | undefined;
    for (const region of await this.#recentRegions()) {
      const { rows } = await this.#query<{ due: string | null }>(`SELECT min(due_at_ms) AS due FROM ${this.#schema(region)}.webhooks`);
      const due = optNum(rows[0]!.due);
      if (due !== null && (next === undefined || due < next)) next = due;
    }
    return next;
  }

  // --- retention --------------------------------------------------------------------------

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
      for (const region of await this.#loadRegions()) {
        const schema = regionSchema(region);
        for (const table of PARTITIONED_TABLES) {
          const dropped = await dropExpiredPartitions(this.#pool, schema, table, cutoffMs, { countDropped: this.#options.count_dropped_partitions });
          deleted += dropped.rows;
          if (dropped.partitions > 0) for (const key of [...this.#partitionDays]) if (key.startsWith(`${schema}:`) && Number(key.slice(schema.length + 1)) < cutoffMs) this.#partitionDays.delete(key);
          if (budget > 0) {
            const edge = await deleteExpiredEdge(this.#pool, schema, table, cutoffMs, budget);
            deleted += edge;
            budget -= edge;
          }
        }
        if (budget > 0) {
          const s = ident(schema);
          const result = await this.#pool.query(`DELETE FROM ${s}.webhooks WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${s}.webhooks WHERE created_at_ms < $1 LIMIT $2))`, [cutoffMs, budget]);
          deleted += result.rowCount ?? 0;
          budget -= result.rowCount ?? 0;
        }
      }
    } catch (error) {
      throw storeError(error);
    }
    return { messages_deleted: deleted, done: budget > 0 };
  }

  /** Users whose last activity is before the cutoff, found through `contacts_last_activity`, in batches. */
  async sweepUsers(cutoff: number, options: { max_users: number }): Promise<UserSweepResult> {
    const cutoffMs = ceilMs(cutoff);
    const limit = Math.max(1, Math.floor(options.max_users));
    const regions = await this.#loadRegions();
    const home = this.#home();
    return this.#transaction(async (client) => {
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
          const s = this.#schema(region);
          records += (await client.query(`DELETE FROM ${s}.conversations WHERE wa_id = ANY ($1::text[])`, [waIds])).rowCount ?? 0;
          records += (await client.query(`DELETE FROM ${s}.sessions WHERE wa_id = ANY ($1::text[])`, [waIds])).rowCount ?? 0;
          // The user's undelivered inbox ciphertexts go with the device (as in the memory store).
          records += (await client.query(`DELETE FROM ${s}.inbox WHERE wa_id = ANY ($1::text[])`, [waIds])).rowCount ?? 0;
        }
      }
      return { user_ids_deleted: waIds.length, records_deleted: records, done: waIds.length < limit };
    });
  }

  // --- audit and metrics ------------------------------------------------------------------

  async *auditRecords(region: Region): AsyncIterable<AuditRecord> {
    if (!isRegion(region)) throw new StoreError('invalid', `unknown region ${String(region)}`);
    if (!(await this.#loadRegions()).includes(region)) return;
    const s = this.#schema(region);
    const sources: { kind: RecordKind; sql: string }[] = [
      { kind: 'business', sql: `SELECT phone_number_id AS key, stored_at_ms AS at, sealed_profile AS bytes FROM ${s}.businesses` },
      { kind: 'business_key', sql: `SELECT phone_number_id || '/data_key' AS key, stored_at_ms AS at, wrapped_data_key AS bytes FROM ${s}.businesses` },
      { kind: 'business_key', sql: `SELECT phone_number_id || '/identity' AS key, updated_at_ms AS at, sealed AS bytes FROM ${s}.business_identities` },
      { kind: 'business_key', sql: `SELECT phone_number_id || '/pre_key/' || id AS key, stored_at_ms AS at, sealed AS bytes FROM ${s}.business_pre_keys` },
      { kind: 'contact', sql: `SELECT wa_id AS key, created_at_ms AS at, '\\x'::bytea AS bytes FROM ${s}.contacts` },
      { kind: 'contact', sql: `SELECT wa_id || '.' || device_id AS key, registered_at_ms AS at, sealed_keys AS bytes FROM ${s}.devices` },
      { kind: 'contact', sql: `SELECT wa_id || '.' || device_id || '/pre_key/' || id AS key, stored_at_ms AS at, sealed AS bytes FROM ${s}.device_pre_keys` },
      {
        kind: 'contact',
        sql: `SELECT c.wa_id || '.' || c.device_id || '/inbox_cursor' AS key, COALESCE(d.registered_at_ms, 0) AS at, '\\x'::bytea AS bytes
                FROM ${s}.inbox_cursors c LEFT JOIN ${s}.devices d ON d.wa_id = c.wa_id AND d.device_id = c.device_id`,
      },
      { kind: 'contact', sql: `SELECT phone_number_id || '/' || wa_id AS key, stored_at_ms AS at, '\\x'::bytea AS bytes FROM ${s}.conversations` },
      { kind: 'session', sql: `SELECT phone_number_id || '/' || wa_id || '.' || device_id AS key, updated_at_ms AS at, sealed AS bytes FROM ${s}.sessions` },
      { kind: 'message', sql: `SELECT phone_number_id || '/' || id AS key, created_at_ms AS at, sealed AS bytes FROM ${s}.messages` },
      { kind: 'inbox', sql: `SELECT wa_id || '.' || device_id || '/' || id AS key, created_at_ms AS at, sealed AS bytes FROM ${s}.inbox` },
      { kind: 'status', sql: `SELECT phone_number_id || '/' || id || '/' || status AS key, created_at_ms AS at, sealed AS bytes FROM ${s}.statuses` },
      { kind: 'webhook', sql: `SELECT phone_number_id || '/' || id AS key, created_at_ms AS at, sealed AS bytes FROM ${s}.webhooks` },
    ];
    const client = await this.#pool.connect().catch((error: unknown) => {
      throw storeError(error);
    });
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      for (const source of sources) {
        await client.query(`DECLARE audit_cursor NO SCROLL CURSOR FOR ${source.sql}`);
        for (;;) {
          const { rows } = await client.query<{ key: string; at: string; bytes: Buffer }>('FETCH 1000 FROM audit_cursor');
          for (const row of rows) {
            yield { region, kind: source.kind, key: row.key, stored_at: new Date(num(row.at)).toISOString(), bytes: row.bytes.toString('base64') };
          }
          if (rows.length < 1000) break;
        }
        await client.query('CLOSE audit_cursor');
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw storeError(error);
    } finally {
      client.release();
    }
  }

  /**
   * Counts for the metrics endpoint and the spam guard's user count (called about once a second
   * under load). Exact, except that a message-data table whose planner statistics say it holds
   * more than `METRICS_EXACT_LIMIT` rows reports that estimate: counting 10^6 rows on every call
   * would cost more than the sends being measured. Concurrent calls share one round of queries.
   */
  metrics(): Promise<StoreMetrics> {
    this.#metricsInFlight ??= this.#countMetrics().finally(() => {
      this.#metricsInFlight = undefined;
    });
    return this.#metricsInFlight;
  }

  async #countMetrics(): Promise<StoreMetrics> {
    const totals = { webhook_queue_depth: 0, businesses: 0, contacts: 0, devices: 0, sessions: 0, messages: 0, inbox_entries: 0, statuses: 0 };
    for (const region of await this.#recentRegions()) {
      const s = this.#schema(region);
      const estimate = (table: string) =>
        `(SELECT COALESCE(sum(c.reltuples) FILTER (WHERE c.reltuples >= 0), 0) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '${regionSchema(region)}.${table}'::regclass)`;
      const counted = (table: string) => `CASE WHEN ${estimate(table)} > ${METRICS_EXACT_LIMIT} THEN ${estimate(table)}::bigint ELSE (SELECT count(*) FROM ${s}.${table}) END`;
      const { rows } = await this.#query<Record<keyof typeof totals, string>>(
        `SELECT (SELECT count(*) FROM ${s}.webhooks) AS webhook_queue_depth, (SELECT count(*) FROM ${s}.businesses) AS businesses,
                (SELECT count(*) FROM ${s}.contacts) AS contacts, (SELECT count(*) FROM ${s}.devices) AS devices,
                (SELECT count(*) FROM ${s}.sessions) AS sessions, ${counted('messages')} AS messages,
                ${counted('inbox')} AS inbox_entries, ${counted('statuses')} AS statuses`,
      );
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += num(rows[0]![key]);
    }
    return totals;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

interface BusinessRow {
  phone_number_id: string;
  waba_id: string;
  region: string;
  access_token_hash: string;
  created_at_ms: string;
  wrapped_data_key: Buffer;
  sealed_profile: Buffer;
}
interface DeviceRow {
  wa_id: string;
  device_id: number;
  token_hash: string;
  registered_at_ms: string;
  sealed_keys: Buffer;
}
interface InboxRow {
  wa_id: string;
  device_id: number;
  cursor: string;
  phone_number_id: string;
  id: string;
  created_at_ms: string;
  sealed: Buffer;
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
    created_at_ms: num(row.created_at_ms),
    due_at_ms: num(row.due_at_ms),
    attempts: row.attempts,
    sealed: bytes(row.sealed),
  };
}

/** Opens the PostgreSQL store (the factory `npm start -- --store postgres` calls). */
export function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  return PostgresStore.open(options);
}
