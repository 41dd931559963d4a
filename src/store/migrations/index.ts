/**
 * Versioned migrations of the PostgreSQL store, embedded as TypeScript strings so `tsc` ships
 * them in dist/ with the code that runs them.
 *
 * Two sets:
 * - `coreMigrations` for the `sigload` schema: the migration ledger, the region registry and the
 *   business directory (phone_number_id → region, token hash → phone_number_id: routing metadata
 *   only, nothing sealed lives here).
 * - `regionMigrations` for each Local Storage region's schema `region_<code>` (created on demand
 *   the first time a business, or the home region's users, need it). Every region schema has
 *   the same tables; user identifiers (contacts, devices, device prekeys, inbox cursors) are used
 *   only in the home region (store.ts: DEFAULT_REGION).
 *
 * Each schema has its own `schema_migrations` table; `runMigrations` applies the missing versions
 * in order inside one transaction that holds an advisory lock, so several server processes that
 * start together apply each migration once. Never edit a released migration: add a new version.
 *
 * Message data (`messages`, `inbox`, `statuses`) is `PARTITION BY RANGE (created_at_ms)`, one
 * partition per UTC day (src/store/postgres-partitions.ts). The partition key has to be part of
 * every unique index on a partitioned table, hence `created_at_ms` in their primary keys.
 */

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** SQL for one schema; `$schema` is replaced by the quoted schema name. */
  readonly sql: string;
}

export const coreMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'regions and business directory',
    sql: `
      CREATE TABLE $schema.regions (
        region       text PRIMARY KEY,
        schema_name  text NOT NULL UNIQUE,
        created_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE $schema.business_directory (
        phone_number_id   text PRIMARY KEY,
        region            text NOT NULL REFERENCES $schema.regions (region),
        access_token_hash text NOT NULL UNIQUE
      );
    `,
  },
  {
    version: 2,
    name: 'session versions from one sequence',
    // SessionRecord.version is never reused for a (business, user, device), even after the
    // session was dropped and created again (store.ts, docs/store.md): a writer holding an old
    // version must not overwrite a new session (ABA). One database-wide sequence gives that.
    sql: `
      CREATE SEQUENCE $schema.session_versions AS bigint;
    `,
  },
];

export const regionMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'businesses, users, sessions, message data, webhook queue',
    sql: `
      -- Businesses: kept forever (transport-api.md §3 "business data is kept").
      CREATE TABLE $schema.businesses (
        phone_number_id   text PRIMARY KEY,
        waba_id           text NOT NULL,
        region            text NOT NULL,
        access_token_hash text NOT NULL UNIQUE,
        created_at_ms     bigint NOT NULL,
        wrapped_data_key  bytea NOT NULL,
        sealed_profile    bytea NOT NULL,
        stored_at_ms      bigint NOT NULL
      );
      CREATE TABLE $schema.business_identities (
        phone_number_id text PRIMARY KEY,
        sealed          bytea NOT NULL,
        updated_at_ms   bigint NOT NULL
      );
      -- One-time prekeys of businesses (issued_at_ms is unused: the server keeps a handed-out
      -- key's private half with the device's session record instead).
      CREATE TABLE $schema.business_pre_keys (
        phone_number_id text NOT NULL,
        id              integer NOT NULL,
        sealed          bytea NOT NULL,
        issued_at_ms    bigint,
        stored_at_ms    bigint NOT NULL,
        PRIMARY KEY (phone_number_id, id)
      );
      CREATE INDEX business_pre_keys_available ON $schema.business_pre_keys (phone_number_id, id) WHERE issued_at_ms IS NULL;

      -- User identifiers (home region only). last_activity_ms drives the user sweep through its index.
      CREATE TABLE $schema.contacts (
        wa_id            text PRIMARY KEY,
        created_at_ms    bigint NOT NULL,
        last_activity_ms bigint NOT NULL
      );
      CREATE INDEX contacts_last_activity ON $schema.contacts (last_activity_ms);
      CREATE TABLE $schema.devices (
        wa_id            text NOT NULL,
        device_id        integer NOT NULL,
        token_hash       text NOT NULL UNIQUE,
        registered_at_ms bigint NOT NULL,
        sealed_keys      bytea NOT NULL,
        PRIMARY KEY (wa_id, device_id)
      );
      CREATE TABLE $schema.device_pre_keys (
        wa_id        text NOT NULL,
        device_id    integer NOT NULL,
        id           integer NOT NULL,
        sealed       bytea NOT NULL,
        stored_at_ms bigint NOT NULL,
        PRIMARY KEY (wa_id, device_id, id)
      );
      -- Per-device inbox cursor, across all regions; its row lock orders concurrent appends, so
      -- cursors become visible in increasing order. regions lists where the device has entries.
      CREATE TABLE $schema.inbox_cursors (
        wa_id       text NOT NULL,
        device_id   integer NOT NULL,
        last_cursor bigint NOT NULL,
        regions     text[] NOT NULL,
        PRIMARY KEY (wa_id, device_id)
      );

      -- Business ↔ user pairs and Signal sessions (business region).
      CREATE TABLE $schema.conversations (
        phone_number_id  text NOT NULL,
        wa_id            text NOT NULL,
        last_inbound_ms  bigint,
        last_status_ms   bigint,
        reported_spam_ms bigint,
        stored_at_ms     bigint NOT NULL,
        PRIMARY KEY (phone_number_id, wa_id)
      );
      CREATE INDEX conversations_wa_id ON $schema.conversations (wa_id);
      CREATE TABLE $schema.sessions (
        phone_number_id text NOT NULL,
        wa_id           text NOT NULL,
        device_id       integer NOT NULL,
        sealed          bytea NOT NULL,
        version         integer NOT NULL,
        updated_at_ms   bigint NOT NULL,
        PRIMARY KEY (phone_number_id, wa_id, device_id)
      );
      CREATE INDEX sessions_device ON $schema.sessions (wa_id, device_id);

      -- Message data, partitioned by UTC day of creation (retention drops whole days).
      CREATE TABLE $schema.messages (
        phone_number_id text NOT NULL,
        id              text NOT NULL,
        wa_id           text NOT NULL,
        created_at_ms   bigint NOT NULL,
        sealed          bytea NOT NULL,
        PRIMARY KEY (phone_number_id, id, created_at_ms)
      ) PARTITION BY RANGE (created_at_ms);
      CREATE TABLE $schema.inbox (
        wa_id           text NOT NULL,
        device_id       integer NOT NULL,
        cursor          bigint NOT NULL,
        phone_number_id text NOT NULL,
        id              text NOT NULL,
        created_at_ms   bigint NOT NULL,
        sealed          bytea NOT NULL,
        PRIMARY KEY (wa_id, device_id, cursor, created_at_ms)
      ) PARTITION BY RANGE (created_at_ms);
      CREATE TABLE $schema.statuses (
        phone_number_id text NOT NULL,
        id              text NOT NULL,
        seq             bigint GENERATED ALWAYS AS IDENTITY,
        wa_id           text NOT NULL,
        status          text NOT NULL,
        at_ms           bigint NOT NULL,
        created_at_ms   bigint NOT NULL,
        sealed          bytea NOT NULL,
        PRIMARY KEY (phone_number_id, id, seq, created_at_ms)
      ) PARTITION BY RANGE (created_at_ms);

      -- Webhook retry queue: a queue, drained by acks, so a plain table with bounded deletes.
      CREATE TABLE $schema.webhooks (
        phone_number_id text NOT NULL,
        id              text NOT NULL,
        created_at_ms   bigint NOT NULL,
        due_at_ms       bigint NOT NULL,
        attempts        integer NOT NULL,
        sealed          bytea NOT NULL,
        PRIMARY KEY (phone_number_id, id)
      );
      CREATE INDEX webhooks_due ON $schema.webhooks (due_at_ms);
      CREATE INDEX webhooks_created ON $schema.webhooks (created_at_ms);
    `,
  },
  {
    version: 2,
    name: 'session versions are bigint (sigload.session_versions)',
    sql: `
      ALTER TABLE $schema.sessions ALTER COLUMN version TYPE bigint;
    `,
  },
  {
    version: 3,
    name: 'identity key hash per device (one wa_id per identity key)',
    sql: `
      ALTER TABLE $schema.devices ADD COLUMN identity_key_hash text;
      CREATE INDEX devices_identity_key_hash ON $schema.devices (identity_key_hash) WHERE identity_key_hash IS NOT NULL;
    `,
  },
];

/** The partitioned message-data tables of a region schema. */
export const PARTITIONED_TABLES = ['messages', 'inbox', 'statuses'] as const;
