/**
 * The Store (src/store/store.ts) on PostgreSQL, with node-postgres (`pg`).
 *
 * One file per role (src/store/roles.ts), each a function of the shared `PostgresContext`
 * (./context.ts: the pool, transactions, region routing, day partitions); `PostgresStore`
 * assembles them. The store never seals or opens anything: it gets sealed bytes from `AtRest`
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
 * - DDL (migrations, partitions): advisory locks;
 * - send limits and the spam guard (SharedLimitStore, ./limits.ts): one function call per send
 *   under a per-business advisory lock; the virtual clock (./clock.ts): a row and NOTIFY.
 */
import pg from 'pg';
import { DEFAULT_REGION, StoreError, type SharedClockStore, type SharedLimitStore, type Store } from '../store.js';
import { coreMigrations } from '../migrations/index.js';
import { runMigrations } from '../postgres-migrate.js';
import { CORE_SCHEMA, POSTGRES_STORE_DEFAULTS, PostgresContext, storeError, type PostgresStoreOptions } from './context.js';
import { postgresAudit } from './audit.js';
import { postgresBusinessKeys } from './business-keys.js';
import { postgresClock } from './clock.js';
import { postgresConversations } from './conversations.js';
import { postgresDevices } from './devices.js';
import { postgresBusinessDirectory } from './directory.js';
import { postgresInbox } from './inbox.js';
import { postgresLimits } from './limits.js';
import { postgresMessages } from './messages.js';
import { postgresMetrics } from './metrics.js';
import { postgresRetention } from './retention.js';
import { postgresSessions } from './sessions.js';
import { postgresStatuses } from './statuses.js';
import { postgresWebhookQueue } from './webhook-queue.js';

export { POSTGRES_STORE_DEFAULTS, regionSchema, type PostgresStoreOptions } from './context.js';

// The class carries the roles' methods, assigned in the constructor (interface merging types them).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface PostgresStore extends Store, SharedLimitStore, SharedClockStore {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PostgresStore {
  readonly #context: PostgresContext;

  private constructor(context: PostgresContext, databaseUrl: string) {
    this.#context = context;
    Object.assign(
      this,
      postgresBusinessDirectory(context),
      postgresBusinessKeys(context),
      postgresDevices(context),
      postgresConversations(context),
      postgresSessions(context),
      postgresMessages(context),
      postgresInbox(context),
      postgresStatuses(context),
      postgresWebhookQueue(context),
      postgresRetention(context),
      postgresAudit(context),
      postgresMetrics(context),
      postgresLimits(context),
      postgresClock(context, databaseUrl),
    );
  }

  /** Connects, runs the migrations (core and home region) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    if (!options.database_url) throw new StoreError('invalid', 'database_url is required for the PostgreSQL store');
    const pool = new pg.Pool({ connectionString: options.database_url, max: options.pool_size ?? POSTGRES_STORE_DEFAULTS.pool_size });
    pool.on('error', () => {}); // an idle client lost its connection; the next query reports it
    const context = new PostgresContext(pool, options);
    try {
      await runMigrations(pool, CORE_SCHEMA, coreMigrations);
      await context.ensureRegion(DEFAULT_REGION);
      await context.loadRegions();
    } catch (error) {
      await pool.end().catch(() => {});
      throw storeError(error);
    }
    return new PostgresStore(context, options.database_url);
  }

  /** The pool, for benchmarks and tests that inspect tables directly. */
  get pool(): pg.Pool {
    return this.#context.pool;
  }

  async close(): Promise<void> {
    await this.#context.pool.end();
  }
}

/** Opens the PostgreSQL store (the factory `npm start -- --store postgres` calls). */
export function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  return PostgresStore.open(options);
}
