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
  {
    version: 3,
    name: 'one virtual clock for every server process',
    // One row (docs/postgres.md "Several server processes"): the time of the virtual clock that
    // every process on this database follows; moves are announced on channel sigload_clock.
    sql: `
      CREATE TABLE $schema.virtual_clock (
        id      boolean PRIMARY KEY DEFAULT true CHECK (id),
        now_ms  bigint NOT NULL
      );
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
  {
    version: 4,
    name: 'send limits and spam guard shared by every server process',
    // Routing metadata only (ids, times, token counts), in the business's region: the rows name
    // users, so they live where the business's user data lives, and the user sweep and the
    // forgetting after each sweep delete them (src/store/postgres/retention.ts, limits.ts).
    // Every function takes a transaction-scoped advisory lock per business, so the sends of
    // one number are checked and taken one at a time across processes (docs/postgres.md).
    sql: `
      -- Token buckets: wa_id '' is the number's throughput bucket, a user's wa_id its pair bucket.
      CREATE TABLE $schema.limit_buckets (
        phone_number_id text NOT NULL,
        wa_id           text NOT NULL,
        capacity        double precision NOT NULL,
        tokens          double precision NOT NULL,
        updated_ms      bigint NOT NULL,
        PRIMARY KEY (phone_number_id, wa_id)
      );
      CREATE INDEX limit_buckets_wa_id ON $schema.limit_buckets (wa_id);
      -- Rolling windows of users per business: the tier's unique users ('tier'), the spam
      -- guard's cold contacts ('cold'), users reached ('reached') and counted reports ('report').
      CREATE TABLE $schema.limit_contacts (
        phone_number_id text NOT NULL,
        kind            text NOT NULL CHECK (kind IN ('tier', 'cold', 'reached', 'report')),
        wa_id           text NOT NULL,
        at_ms           bigint NOT NULL,
        -- wa_id first: the key serves the upserts and the user sweep, and cannot pass for the
        -- window index (a window scan through it would read every user of the business).
        CONSTRAINT limit_contacts_key UNIQUE (wa_id, phone_number_id, kind)
      );
      -- The window of one business and kind, by time. On an expression, so that only window
      -- scans (which name the expression) use it and a per-user lookup never scans a window.
      CREATE INDEX limit_contacts_window ON $schema.limit_contacts ((phone_number_id || '.' || kind), at_ms);
      CREATE INDEX limit_contacts_at ON $schema.limit_contacts (at_ms);
      -- Users per business in each counted window ('tier', 'cold'): the rows of that kind, kept
      -- by the functions below, so a check reads one row instead of counting the window.
      CREATE TABLE $schema.limit_counts (
        phone_number_id text NOT NULL,
        kind            text NOT NULL,
        users           bigint NOT NULL,
        PRIMARY KEY (phone_number_id, kind)
      );
      -- A business stopped by the cold-contact rule, until when.
      CREATE TABLE $schema.limit_stops (
        phone_number_id  text PRIMARY KEY,
        stopped_until_ms bigint NOT NULL
      );

      CREATE FUNCTION $schema.limit_tokens(p_tokens double precision, p_capacity double precision, p_updated bigint, p_now bigint, p_per_ms double precision)
      RETURNS double precision LANGUAGE sql IMMUTABLE AS $fn$
        SELECT LEAST(p_capacity, p_tokens + GREATEST(0, p_now - p_updated) * p_per_ms)
      $fn$;

      -- Helpers are plpgsql, not sql: plpgsql keeps their plans per session, an sql function
      -- called from plpgsql is planned again on every call.
      CREATE FUNCTION $schema.limit_lock(p_pnid text) RETURNS void LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM pg_advisory_xact_lock(1936157548, hashtext(p_pnid));
      END
      $fn$;

      -- Users of a counted window at or after p_horizon: the count less the expired rows not yet pruned (O(expired)).
      CREATE FUNCTION $schema.limit_in_window(p_pnid text, p_kind text, p_horizon bigint) RETURNS bigint LANGUAGE plpgsql AS $fn$
      BEGIN
        RETURN COALESCE((SELECT users FROM $schema.limit_counts WHERE phone_number_id = p_pnid AND kind = p_kind), 0)
             - (SELECT count(*) FROM $schema.limit_contacts WHERE phone_number_id || '.' || kind = p_pnid || '.' || p_kind AND at_ms < p_horizon);
      END
      $fn$;

      -- Deletes the rows of a counted window before p_horizon, and counts them out.
      CREATE FUNCTION $schema.limit_prune(p_pnid text, p_kind text, p_horizon bigint) RETURNS void LANGUAGE plpgsql AS $fn$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM $schema.limit_contacts WHERE phone_number_id || '.' || kind = p_pnid || '.' || p_kind AND at_ms < p_horizon) THEN
          RETURN;
        END IF;
        WITH gone AS (DELETE FROM $schema.limit_contacts WHERE phone_number_id || '.' || kind = p_pnid || '.' || p_kind AND at_ms < p_horizon RETURNING 1)
        UPDATE $schema.limit_counts SET users = users - (SELECT count(*) FROM gone)
        WHERE phone_number_id = p_pnid AND kind = p_kind AND EXISTS (SELECT 1 FROM gone);
      END
      $fn$;

      -- Puts the user in a counted window at p_at (a user already there moves to the later time), counted in when new.
      CREATE FUNCTION $schema.limit_add(p_pnid text, p_kind text, p_wa_id text, p_at bigint) RETURNS void LANGUAGE plpgsql AS $fn$
      DECLARE
        v_inserted boolean;
      BEGIN
        INSERT INTO $schema.limit_contacts AS c VALUES (p_pnid, p_kind, p_wa_id, p_at)
          ON CONFLICT (wa_id, phone_number_id, kind) DO UPDATE SET at_ms = GREATEST(c.at_ms, EXCLUDED.at_ms)
          RETURNING (xmax = 0) INTO v_inserted;
        IF v_inserted THEN
          INSERT INTO $schema.limit_counts AS n VALUES (p_pnid, p_kind, 1)
            ON CONFLICT (phone_number_id, kind) DO UPDATE SET users = n.users + 1;
        END IF;
      END
      $fn$;

      -- Takes the user out of a counted window if still at p_at (the undo of limit_add of a new user).
      CREATE FUNCTION $schema.limit_remove(p_pnid text, p_kind text, p_wa_id text, p_at bigint) RETURNS void LANGUAGE plpgsql AS $fn$
      BEGIN
        WITH gone AS (DELETE FROM $schema.limit_contacts WHERE phone_number_id = p_pnid AND kind = p_kind AND wa_id = p_wa_id AND at_ms = p_at RETURNING 1)
        UPDATE $schema.limit_counts SET users = users - (SELECT count(*) FROM gone)
        WHERE phone_number_id = p_pnid AND kind = p_kind AND EXISTS (SELECT 1 FROM gone);
      END
      $fn$;

      -- Checks in the contract's order; takes only when every check passed (a refusal writes nothing).
      CREATE FUNCTION $schema.take_send(
        p_pnid text, p_wa_id text, p_now bigint,
        p_mps double precision, p_pair_burst double precision, p_pair_per_ms double precision,
        p_business_initiated boolean, p_is_template boolean, p_tier_limit bigint, p_tier_window bigint,
        p_reported boolean, p_cold boolean, p_cold_threshold bigint, p_cold_window bigint, p_penalty bigint,
        p_quality_window bigint, p_min_audience double precision, p_red_ratio double precision,
        OUT refusal text, OUT prev_tier_ms bigint, OUT new_cold boolean, OUT prev_stopped_ms bigint, OUT set_stopped_ms bigint)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        v_bucket record;
        v_tokens double precision;
        v_pair_tokens double precision;
        v_count bigint;
        v_reached bigint;
      BEGIN
        PERFORM $schema.limit_lock(p_pnid);
        new_cold := false;
        SELECT capacity, tokens, updated_ms INTO v_bucket FROM $schema.limit_buckets WHERE phone_number_id = p_pnid AND wa_id = '';
        v_tokens := CASE WHEN FOUND AND v_bucket.capacity = p_mps THEN $schema.limit_tokens(v_bucket.tokens, v_bucket.capacity, v_bucket.updated_ms, p_now, p_mps / 1000.0) ELSE p_mps END;
        IF v_tokens < 1 THEN refusal := 'throughput'; RETURN; END IF;
        SELECT capacity, tokens, updated_ms INTO v_bucket FROM $schema.limit_buckets WHERE phone_number_id = p_pnid AND wa_id = p_wa_id;
        v_pair_tokens := CASE WHEN FOUND THEN $schema.limit_tokens(v_bucket.tokens, v_bucket.capacity, v_bucket.updated_ms, p_now, p_pair_per_ms) ELSE p_pair_burst END;
        IF v_pair_tokens < 1 THEN refusal := 'pair-rate'; RETURN; END IF;
        IF p_business_initiated AND NOT p_is_template THEN refusal := 're-engagement'; RETURN; END IF;
        IF p_business_initiated THEN
          SELECT at_ms INTO prev_tier_ms FROM $schema.limit_contacts WHERE phone_number_id = p_pnid AND kind = 'tier' AND wa_id = p_wa_id;
          IF p_tier_limit IS NOT NULL AND (prev_tier_ms IS NULL OR p_now - prev_tier_ms > p_tier_window)
             AND $schema.limit_in_window(p_pnid, 'tier', p_now - p_tier_window) >= p_tier_limit THEN
            refusal := 'messaging-limit'; RETURN;
          END IF;
        END IF;
        IF p_reported OR EXISTS (SELECT 1 FROM $schema.limit_contacts
             WHERE phone_number_id = p_pnid AND kind = 'report' AND wa_id = p_wa_id AND at_ms >= p_now - p_quality_window) THEN
          refusal := 'reported'; RETURN;
        END IF;
        SELECT stopped_until_ms INTO prev_stopped_ms FROM $schema.limit_stops WHERE phone_number_id = p_pnid;
        IF prev_stopped_ms IS NOT NULL AND p_now < prev_stopped_ms THEN refusal := 'spam-stopped'; RETURN; END IF;
        SELECT count(*) INTO v_count FROM $schema.limit_contacts WHERE phone_number_id || '.' || kind = p_pnid || '.report' AND at_ms >= p_now - p_quality_window;
        IF v_count > 0 THEN
          -- Users reached, counted only as far as it can matter: past reports ÷ red ratio the rating is below RED.
          SELECT count(*) INTO v_reached FROM (SELECT 1 FROM $schema.limit_contacts
            WHERE phone_number_id || '.' || kind = p_pnid || '.reached' AND at_ms >= p_now - p_quality_window LIMIT ceil(v_count / p_red_ratio)::bigint + 1) AS r;
          IF v_count >= p_red_ratio * GREATEST(v_reached, p_min_audience) THEN refusal := 'spam-quality'; RETURN; END IF;
        END IF;
        IF p_cold AND NOT EXISTS (SELECT 1 FROM $schema.limit_contacts
             WHERE phone_number_id = p_pnid AND kind = 'cold' AND wa_id = p_wa_id AND at_ms >= p_now - p_cold_window) THEN
          IF $schema.limit_in_window(p_pnid, 'cold', p_now - p_cold_window) >= p_cold_threshold THEN refusal := 'spam-cold'; RETURN; END IF;
          new_cold := true;
        END IF;

        -- Every check passed: take.
        INSERT INTO $schema.limit_buckets AS b (phone_number_id, wa_id, capacity, tokens, updated_ms) VALUES (p_pnid, '', p_mps, v_tokens - 1, p_now)
          ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET capacity = EXCLUDED.capacity, tokens = EXCLUDED.tokens, updated_ms = GREATEST(b.updated_ms, EXCLUDED.updated_ms);
        INSERT INTO $schema.limit_buckets AS b (phone_number_id, wa_id, capacity, tokens, updated_ms) VALUES (p_pnid, p_wa_id, p_pair_burst, v_pair_tokens - 1, p_now)
          ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET tokens = EXCLUDED.tokens, updated_ms = GREATEST(b.updated_ms, EXCLUDED.updated_ms);
        IF p_business_initiated THEN
          PERFORM $schema.limit_prune(p_pnid, 'tier', p_now - p_tier_window);
          -- An expired row of this user was just pruned: undo deletes the new one.
          IF p_now - prev_tier_ms > p_tier_window THEN prev_tier_ms := NULL; END IF;
          PERFORM $schema.limit_add(p_pnid, 'tier', p_wa_id, p_now);
        END IF;
        IF p_cold THEN
          PERFORM $schema.limit_prune(p_pnid, 'cold', p_now - p_cold_window);
          IF new_cold THEN PERFORM $schema.limit_add(p_pnid, 'cold', p_wa_id, p_now); END IF;
          IF $schema.limit_in_window(p_pnid, 'cold', p_now - p_cold_window) >= p_cold_threshold THEN
            set_stopped_ms := p_now + p_penalty;
            INSERT INTO $schema.limit_stops AS s VALUES (p_pnid, set_stopped_ms)
              ON CONFLICT (phone_number_id) DO UPDATE SET stopped_until_ms = EXCLUDED.stopped_until_ms;
          END IF;
        END IF;
      END
      $fn$;

      -- Undoes one take_send (wa_id '' and no tier or cold facts: an inbound throughput token).
      CREATE FUNCTION $schema.give_back_send(
        p_pnid text, p_wa_id text, p_now bigint, p_business_initiated boolean, p_prev_tier_ms bigint,
        p_new_cold boolean, p_prev_stopped_ms bigint, p_set_stopped_ms bigint)
      RETURNS void LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM $schema.limit_lock(p_pnid);
        UPDATE $schema.limit_buckets SET tokens = LEAST(capacity, tokens + 1) WHERE phone_number_id = p_pnid AND wa_id IN ('', p_wa_id);
        IF p_business_initiated AND p_prev_tier_ms IS NULL THEN
          PERFORM $schema.limit_remove(p_pnid, 'tier', p_wa_id, p_now);
        ELSIF p_business_initiated THEN
          UPDATE $schema.limit_contacts SET at_ms = p_prev_tier_ms WHERE phone_number_id = p_pnid AND kind = 'tier' AND wa_id = p_wa_id AND at_ms = p_now;
        END IF;
        IF p_new_cold THEN
          PERFORM $schema.limit_remove(p_pnid, 'cold', p_wa_id, p_now);
        END IF;
        IF p_set_stopped_ms IS NOT NULL AND p_prev_stopped_ms IS NULL THEN
          DELETE FROM $schema.limit_stops WHERE phone_number_id = p_pnid AND stopped_until_ms = p_set_stopped_ms;
        ELSIF p_set_stopped_ms IS NOT NULL THEN
          UPDATE $schema.limit_stops SET stopped_until_ms = p_prev_stopped_ms WHERE phone_number_id = p_pnid AND stopped_until_ms = p_set_stopped_ms;
        END IF;
      END
      $fn$;

      CREATE FUNCTION $schema.take_inbound(p_pnid text, p_now bigint, p_mps double precision) RETURNS boolean LANGUAGE plpgsql AS $fn$
      DECLARE
        v_bucket record;
        v_tokens double precision;
      BEGIN
        PERFORM $schema.limit_lock(p_pnid);
        SELECT capacity, tokens, updated_ms INTO v_bucket FROM $schema.limit_buckets WHERE phone_number_id = p_pnid AND wa_id = '';
        v_tokens := CASE WHEN FOUND AND v_bucket.capacity = p_mps THEN $schema.limit_tokens(v_bucket.tokens, v_bucket.capacity, v_bucket.updated_ms, p_now, p_mps / 1000.0) ELSE p_mps END;
        IF v_tokens < 1 THEN RETURN false; END IF;
        INSERT INTO $schema.limit_buckets AS b (phone_number_id, wa_id, capacity, tokens, updated_ms) VALUES (p_pnid, '', p_mps, v_tokens - 1, p_now)
          ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET capacity = EXCLUDED.capacity, tokens = EXCLUDED.tokens, updated_ms = GREATEST(b.updated_ms, EXCLUDED.updated_ms);
        RETURN true;
      END
      $fn$;
    `,
  },
];

/** The partitioned message-data tables of a region schema. */
export const PARTITIONED_TABLES = ['messages', 'inbox', 'statuses'] as const;
