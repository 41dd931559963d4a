/**
 * PostgreSQL suite (`pg/...`): what the PostgreSQL store costs and what day partitions buy.
 *
 * - `pg/sweep/*`: expiring one full day of N messages by row DELETE (the edge sweep's statement,
 *   `deleteExpiredEdge`, in batches of the retention default of 2,000 rows per statement, through
 *   an index on created_at_ms, the way a table without partitions has to do it; with and without
 *   the VACUUM that reclaims the space) versus dropping the day's partition (the store's own
 *   `dropExpiredPartitions`: DETACH … CONCURRENTLY + DROP TABLE, with and without counting the
 *   rows first).
 *   Anchor `pg-sweep-partition-vs-delete` = (DELETE + VACUUM) ÷ drop (uncounted); goal ≥ 100.
 *   Both sides are the full cost of making the day's data gone: the rows unreadable *and* their
 *   heap space handed back (VACUUM of the emptied table truncates its heap to 0 pages; DROP
 *   truncates and unlinks the partition's files). The count is reporting, not expiring, so the
 *   anchor uses the uncounted drop; the counted one is recorded next to it.
 * - `pg/send/{memory,postgres}`: business sends per second (template messages, Signal encrypt
 *   per device, inbox append, statuses) through the reference server on each store, same run,
 *   same closed-loop load. Anchor `pg-send-vs-memory` = postgres ÷ memory (reported, no goal).
 * - `pg/sweep-under-load/*`: business-send throughput in the window of a retention sweep
 *   (`POST /admin/v1/retention/sweep`) of N expired messages ÷ in the same-length window before
 *   it. Anchor `pg-sweep-under-load-drop`; goal ≥ 0.9.
 *
 * N is 10^6 in ci/full, 10^5 in quick and 10^4 in smoke; anchors measured with N ≠ 10^6 carry
 * `@rows=1eK` in their id so they are never mistaken for the issue's figure.
 *
 * The database: SIGLOAD_BENCH_DATABASE_URL, else a throwaway server (src/store/postgres-throwaway.ts)
 * that the suite starts and stops. Either way the suite works in its own fresh database.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import { call, deviceRegistration, oneTimePreKeysOf } from '../../src/harness/load/contract.js';
import { startReferenceServer, type ReferenceServer } from '../../src/server/reference-server.js';
import { loadGeneratorRegistrationLimits } from '../../src/server/registration-limits.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { PostgresStore, regionSchema } from '../../src/store/postgres/index.js';
import { DAY_MS, dayStartMs, dropExpiredPartitions, ensureDailyPartitions, ident } from '../../src/store/postgres-partitions.js';
import { PARTITIONED_TABLES } from '../../src/store/migrations/index.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../src/store/postgres-throwaway.js';
import type { Store } from '../../src/store/store.js';
import type { Profile } from '../../src/harness/result/result.js';
import { median } from '../../src/harness/statistics/stats.js';
import type { Suite, SuiteContext, SuiteContextStatic } from '../../src/harness/suite/suite.js';

const SUITE = 'pg';
/** A row count as its power of ten, as the ids spell it (1e6). */
const powerOfTen = (n: number): string => `1e${Math.round(Math.log10(n))}`;

interface PgSizes {
  /** Messages in the expired day (sweep figures). */
  rows: number;
  /** Repetitions of the sweep figures (seeding 10^6 rows twice takes a while). */
  sweepRepetitions: number;
  /** Seconds of closed-loop sends per sample. */
  sendSeconds: number;
  /** Concurrent senders. */
  concurrency: number;
  /** Users (devices) the business sends to. */
  users: number;
}

function sizes(profile: Profile, repetitions: number): PgSizes {
  switch (profile) {
    case 'smoke':
      return { rows: 1e4, sweepRepetitions: repetitions, sendSeconds: 1, concurrency: 8, users: 4 };
    case 'quick':
      return { rows: 1e5, sweepRepetitions: Math.min(repetitions, 3), sendSeconds: 1, concurrency: 16, users: 32 };
    default:
      return { rows: 1e6, sweepRepetitions: Math.min(repetitions, 3), sendSeconds: 4, concurrency: 16, users: 64 };
  }
}

const ids = {
  deleteRows: (n: number) => `pg/sweep/delete-rows/rows=${powerOfTen(n)}`,
  deleteVacuum: (n: number) => `pg/sweep/delete-rows+vacuum/rows=${powerOfTen(n)}`,
  drop: (n: number) => `pg/sweep/drop-partition/rows=${powerOfTen(n)}`,
  dropCounted: (n: number) => `pg/sweep/drop-partition-counted/rows=${powerOfTen(n)}`,
  send: (store: 'memory' | 'postgres') => `pg/send/${store}`,
  underLoadBefore: (n: number) => `pg/sweep-under-load/send-before/rows=${powerOfTen(n)}`,
  underLoadDuring: (n: number) => `pg/sweep-under-load/send-during/rows=${powerOfTen(n)}`,
  underLoadSweep: (n: number) => `pg/sweep-under-load/sweep-ms/rows=${powerOfTen(n)}`,
};
const anchorId = (base: string, rows: number): string => (rows === 1e6 ? base : `${base}@rows=${powerOfTen(rows)}`);

function allIds(ctx: SuiteContextStatic): string[] {
  const n = sizes(ctx.profile, ctx.repetitions).rows;
  return [ids.deleteRows(n), ids.deleteVacuum(n), ids.drop(n), ids.dropCounted(n), ids.send('memory'), ids.send('postgres'), ids.underLoadBefore(n), ids.underLoadDuring(n), ids.underLoadSweep(n)];
}

// --- database --------------------------------------------------------------------------------

interface BenchDatabase {
  url: string;
  close(): Promise<void>;
}

async function openBenchDatabase(ctx: SuiteContext): Promise<BenchDatabase> {
  let throwaway: ThrowawayPostgres | undefined;
  // Under `npm test` (the harness's smoke test) the run's throwaway server is reused.
  let serverUrl = process.env['SIGLOAD_BENCH_DATABASE_URL'] || process.env['SIGLOAD_TEST_DATABASE_URL'];
  if (!serverUrl) {
    throwaway = await startThrowawayPostgres();
    serverUrl = throwaway.url;
    ctx.log(`pg: throwaway PostgreSQL at ${serverUrl}`);
  }
  const name = `sigload_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${ident(name)}`);
  const version = await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  ctx.note({ anchor_versions: { postgresql: version.rows[0]!.v, pg: '8' } });
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async close() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`).catch(() => {});
      await client.end();
      throwaway?.stop();
    },
  };
}

// --- partition vs delete ---------------------------------------------------------------------

/** Rows per DELETE statement: the retention scheduler's default `batchRecords` (src/server/retention.ts). */
export const EDGE_SWEEP_BATCH_ROWS = 2_000;

const MESSAGE_COLUMNS = `phone_number_id text NOT NULL, id text NOT NULL, wa_id text NOT NULL, created_at_ms bigint NOT NULL, sealed bytea NOT NULL`;
/** N rows spread over the UTC day starting at `dayMs`, 160 B sealed bodies (a short text message). */
const seedSql = (table: string, dayMs: number, n: number, tag: string) =>
  `INSERT INTO ${table} SELECT '1000' || (g % 4), 'wamid.${tag}' || g, (4915100000000 + g % 5000)::text, ${dayMs} + (g * ${Math.floor(DAY_MS / n)})::bigint % ${DAY_MS}, decode(repeat('a5', 160), 'hex') FROM generate_series(0, ${n - 1}) AS g`;

interface SweepSample {
  deleteMs: number;
  vacuumMs: number;
  dropMs: number;
  dropCountedMs: number;
  /** Heap pages of the emptied table after VACUUM (0 when the space was handed back). */
  vacuumHeapPagesLeft: number;
}

async function sweepSample(pool: pg.Pool, n: number): Promise<SweepSample> {
  const schema = 'bench_sweep';
  const s = ident(schema);
  const day = dayStartMs(Date.UTC(2026, 0, 1));
  await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await pool.query(`CREATE SCHEMA ${s}`);
  // Without partitions: one table, the store's primary key plus the index a table without
  // partitions needs to find expired rows (the webhooks table has the same `…_created` index).
  await pool.query(`CREATE TABLE ${s}.flat (${MESSAGE_COLUMNS}, PRIMARY KEY (phone_number_id, id, created_at_ms))`);
  await pool.query(`CREATE INDEX flat_created ON ${s}.flat (created_at_ms)`);
  // With partitions: the store's layout (src/store/migrations), two expired days.
  await pool.query(`CREATE TABLE ${s}.messages (${MESSAGE_COLUMNS}, PRIMARY KEY (phone_number_id, id, created_at_ms)) PARTITION BY RANGE (created_at_ms)`);
  await ensureDailyPartitions(pool, schema, ['messages'], day - DAY_MS, day + DAY_MS);
  await pool.query(seedSql(`${s}.flat`, day, n, 'f'));
  await pool.query(seedSql(`${s}.messages`, day, n, 'p'));
  await pool.query(seedSql(`${s}.messages`, day - DAY_MS, n, 'q'));
  await pool.query(`VACUUM ANALYZE ${s}.flat`);
  await pool.query(`VACUUM ANALYZE ${s}.messages`);
  await pool.query('CHECKPOINT');

  const cutoff = day + DAY_MS;
  let started = performance.now();
  for (;;) {
    // The edge sweep's statement (deleteExpiredEdge), one autocommitted batch at a time.
    const deleted = await pool.query(`DELETE FROM ${s}.flat WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${s}.flat WHERE created_at_ms < $1 LIMIT $2))`, [cutoff, EDGE_SWEEP_BATCH_ROWS]);
    if ((deleted.rowCount ?? 0) === 0) break;
  }
  const deleteMs = performance.now() - started;
  started = performance.now();
  await pool.query(`VACUUM ${s}.flat`);
  const vacuumMs = performance.now() - started;
  // The VACUUM should hand the whole heap back (it truncates trailing empty pages); if it could
  // not (its truncation lock is taken only when free), the figure says so in its quality.
  const left = await pool.query<{ pages: string }>(`SELECT pg_relation_size('${s}.flat') / 8192 AS pages`);
  const vacuumHeapPagesLeft = Number(left.rows[0]!.pages);

  started = performance.now();
  const counted = await dropExpiredPartitions(pool, schema, 'messages', day, { countDropped: true });
  const dropCountedMs = performance.now() - started;
  if (counted.rows !== n || counted.partitions !== 1) throw new Error(`drop (counted) removed ${counted.rows} rows in ${counted.partitions} partitions, expected ${n} in 1`);
  started = performance.now();
  const dropped = await dropExpiredPartitions(pool, schema, 'messages', cutoff, { countDropped: false });
  const dropMs = performance.now() - started;
  if (dropped.partitions !== 1) throw new Error(`drop removed ${dropped.partitions} partitions, expected 1`);
  await pool.query(`DROP SCHEMA ${s} CASCADE`);
  return { deleteMs, vacuumMs, dropMs, dropCountedMs, vacuumHeapPagesLeft };
}

// --- business sends through the reference server ----------------------------------------------

interface SendTarget {
  server: ReferenceServer;
  pnid: string;
  token: string;
  users: string[];
}

async function post(url: string, token: string, body: unknown): Promise<{ status: number; json: any }> {
  const { status, text } = await call(url, { method: 'POST', token, body });
  return { status, json: text ? JSON.parse(text) : undefined };
}

async function startSendTarget(store: Store, users: number): Promise<SendTarget> {
  const server = await startReferenceServer({
    store,
    port: 0,
    host: '127.0.0.1',
    adminToken: 'bench-admin',
    registrationToken: 'bench-registration',
    retention: false,
    // Thousands of devices registered from loopback with the one registration token.
    registrationLimits: loadGeneratorRegistrationLimits,
    // The figure is the store's cost per send, not the Cloud API's pair rate.
    limits: { pairIntervalMs: 1, pairBurst: 1_000_000_000 },
  });
  const created = await post(`${server.url}/admin/v1/businesses`, 'bench-admin', { display_phone_number: '15550009999', webhook_url: '', throughput_mps: 100_000, messaging_limit: 'TIER_UNLIMITED' });
  if (created.status !== 201) throw new Error(`create business: ${created.status} ${JSON.stringify(created.json)}`);
  const waIds: string[] = [];
  for (let i = 0; i < users; i++) {
    const waId = String(4915300000000 + i);
    const device = await LibsignalDevice.create(waId, 1);
    const bundles = [device.bundle(), device.bundle()];
    const first = bundles[0]!;
    const registered = await post(`${server.url}/transport/v1/devices`, 'bench-registration', deviceRegistration(waId, first, oneTimePreKeysOf(bundles)));
    if (registered.status !== 201) throw new Error(`register: ${registered.status} ${JSON.stringify(registered.json)}`);
    waIds.push(waId);
  }
  const target: SendTarget = { server, pnid: created.json.phone_number_id, token: created.json.access_token, users: waIds };
  // Sessions set up (PQXDH) before anything is timed.
  for (const waId of waIds) await sendTemplate(target, waId);
  return target;
}

function sendTemplate(target: SendTarget, waId: string): Promise<{ status: number; json: any }> {
  return post(`${target.server.url}/v23.0/${target.pnid}/messages`, target.token, {
    messaging_product: 'whatsapp',
    to: waId,
    type: 'template',
    template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'X' }] }] },
  });
}

/** Closed-loop senders; returns the completion times (performance.now) of 200 answers and the error count. */
function startLoad(target: SendTarget, concurrency: number): { stop(): Promise<{ done: number[]; errors: number }> } {
  const done: number[] = [];
  let errors = 0;
  let stopping = false;
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (!stopping) {
      const waId = target.users[next++ % target.users.length]!;
      try {
        const answer = await sendTemplate(target, waId);
        if (answer.status === 200) done.push(performance.now());
        else errors++;
      } catch {
        errors++;
      }
    }
  });
  return {
    async stop() {
      stopping = true;
      await Promise.all(workers);
      return { done, errors };
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rate = (done: number[], from: number, to: number): number => done.filter((t) => t >= from && t < to).length / ((to - from) / 1000);

async function sendRate(target: SendTarget, seconds: number, concurrency: number): Promise<{ perSecond: number; errors: number }> {
  const load = startLoad(target, concurrency);
  await sleep(250); // ramp
  const from = performance.now();
  await sleep(seconds * 1000);
  const to = performance.now();
  const { done, errors } = await load.stop();
  return { perSecond: rate(done, from, to), errors };
}

/** Seeds `n` messages into day partitions 40 days before now (already expired) of the store's home region. */
async function seedExpired(store: PostgresStore, pnid: string, n: number): Promise<void> {
  const schema = regionSchema('US');
  const day = dayStartMs(Date.now() - 40 * DAY_MS);
  await ensureDailyPartitions(store.pool, schema, PARTITIONED_TABLES, day, day);
  await store.pool.query(
    `INSERT INTO ${ident(schema)}.messages SELECT '${pnid}', 'wamid.old' || g || '.' || ${Date.now()}, (4915300000000 + g % 64)::text, ${day} + (g * ${Math.floor(DAY_MS / n)})::bigint % ${DAY_MS}, decode(repeat('a5', 160), 'hex') FROM generate_series(0, ${n - 1}) AS g`,
  );
  await store.pool.query(`VACUUM ANALYZE ${ident(schema)}.messages`);
  // Flush the seeded pages now, so the "before" window is not the checkpointer writing them out.
  await store.pool.query('CHECKPOINT');
}

// --- the suite -------------------------------------------------------------------------------

export const pgSuite: Suite = {
  id: 'pg',
  describe: 'PostgreSQL store: day-partition sweep vs row DELETE, sends vs memory store, sends during a sweep',
  benchmarkIds: allIds,
  estimateSeconds(ctx) {
    const z = sizes(ctx.profile, ctx.repetitions);
    const seedSeconds = (z.rows / 1e6) * 30;
    return 5 + z.sweepRepetitions * (seedSeconds + 3) + ctx.repetitions * (2 * z.sendSeconds + 1) + z.sweepRepetitions * (seedSeconds / 3 + 2 * z.sendSeconds + 2) + z.users * 0.2;
  },
  async run(ctx: SuiteContext) {
    const z = sizes(ctx.profile, ctx.repetitions);
    const n = z.rows;
    const wantSweep = [ids.deleteRows(n), ids.deleteVacuum(n), ids.drop(n), ids.dropCounted(n)].some((id) => ctx.wants(id));
    const wantSend = [ids.send('memory'), ids.send('postgres')].some((id) => ctx.wants(id));
    const wantUnderLoad = [ids.underLoadBefore(n), ids.underLoadDuring(n), ids.underLoadSweep(n)].some((id) => ctx.wants(id));
    if (!wantSweep && !wantSend && !wantUnderLoad) return;
    const database = await openBenchDatabase(ctx);
    try {
      // 1. Partition drop vs row DELETE.
      if (wantSweep) {
        const pool = new pg.Pool({ connectionString: database.url, max: 2 });
        try {
          const samples: SweepSample[] = [];
          for (let r = 0; r < z.sweepRepetitions && !ctx.signal.aborted; r++) {
            ctx.progress(r / z.sweepRepetitions / 3, `sweep ${powerOfTen(n)} rows, repetition ${r + 1}`);
            samples.push(await sweepSample(pool, n));
          }
          const params = {
            rows: n,
            batch_rows: EDGE_SWEEP_BATCH_ROWS,
            delete_side: 'batched DELETE (deleteExpiredEdge statement, autocommit per batch) via created_at_ms index, PK present; +vacuum adds plain VACUUM (heap truncated to 0 pages)',
            drop_side: 'dropExpiredPartitions: DETACH PARTITION CONCURRENTLY + DROP TABLE; counted adds count(*) first',
            anchor: '(delete-rows+vacuum) / drop-partition',
          };
          const rec = (id: string, values: number[], quality?: { clean: boolean; notes: string[] }) =>
            ctx.wants(id) && ctx.record({ id, suite: SUITE, unit: 'ms', better: 'lower', params, samples: values, ...(quality ? { quality } : {}) });
          const unreclaimed = samples.filter((s) => s.vacuumHeapPagesLeft > 0).length;
          const vacuumQuality = unreclaimed === 0 ? undefined : { clean: false, notes: [`in ${unreclaimed} of ${samples.length} samples VACUUM did not truncate the emptied heap`] };
          rec(ids.deleteRows(n), samples.map((s) => s.deleteMs));
          rec(ids.deleteVacuum(n), samples.map((s) => s.deleteMs + s.vacuumMs), vacuumQuality);
          rec(ids.drop(n), samples.map((s) => s.dropMs));
          rec(ids.dropCounted(n), samples.map((s) => s.dropCountedMs));
          const ours = median(samples.map((s) => s.dropMs));
          // The sweep's full cost to make the data gone: DELETE plus the VACUUM that reclaims it.
          const theirs = median(samples.map((s) => s.deleteMs + s.vacuumMs));
          const ratio = theirs / ours;
          ctx.anchor({ id: anchorId('pg-sweep-partition-vs-delete', n), ratio, ours, theirs, unit: 'ms', goal: { op: '>=', value: 100 }, met: ratio >= 100, ...(vacuumQuality ? { quality: vacuumQuality } : {}) });
          ctx.log(`pg: expire ${powerOfTen(n)} rows: DELETE ${median(samples.map((s) => s.deleteMs)).toFixed(0)} ms + VACUUM ${median(samples.map((s) => s.vacuumMs)).toFixed(0)} ms = ${theirs.toFixed(0)} ms, drop partition ${ours.toFixed(1)} ms (counted ${median(samples.map((s) => s.dropCountedMs)).toFixed(1)} ms): ×${ratio.toFixed(1)}`);
        } finally {
          await pool.end();
        }
      }

      // 2. Sends per second, memory vs PostgreSQL; 3. sends during a sweep.
      if ((wantSend || wantUnderLoad) && !ctx.signal.aborted) {
        const memoryTarget = wantSend ? await startSendTarget(new MemoryStore(), z.users) : undefined;
        const memoryRates: number[] = [];
        const pgRates: number[] = [];
        let errors = 0;
        try {
          for (let r = 0; r < ctx.repetitions && memoryTarget && !ctx.signal.aborted; r++) {
            ctx.progress(1 / 3 + (r / ctx.repetitions) / 6, `sends on memory, repetition ${r + 1}`);
            const m = await sendRate(memoryTarget, z.sendSeconds, z.concurrency);
            memoryRates.push(m.perSecond);
            errors += m.errors;
          }
        } finally {
          await memoryTarget?.server.close();
        }
        const store = await PostgresStore.open({ database_url: database.url, pool_size: 10 });
        const pgTarget = await startSendTarget(store, z.users);
        try {
          for (let r = 0; r < ctx.repetitions && wantSend && !ctx.signal.aborted; r++) {
            ctx.progress(1 / 2 + (r / ctx.repetitions) / 6, `sends on postgres, repetition ${r + 1}`);
            const p = await sendRate(pgTarget, z.sendSeconds, z.concurrency);
            pgRates.push(p.perSecond);
            errors += p.errors;
          }
          if (wantSend && memoryRates.length > 0 && pgRates.length > 0) {
            const params = { concurrency: z.concurrency, users: z.users, type: 'template' };
            const quality = { clean: errors === 0, notes: errors === 0 ? [] : [`${errors} sends failed`] };
            ctx.record({ id: ids.send('memory'), suite: SUITE, unit: 'msgs/s', better: 'higher', params, samples: memoryRates, quality });
            ctx.record({ id: ids.send('postgres'), suite: SUITE, unit: 'msgs/s', better: 'higher', params, samples: pgRates, quality });
            const ours = median(pgRates);
            const theirs = median(memoryRates);
            ctx.anchor({ id: 'pg-send-vs-memory', ratio: ours / theirs, ours, theirs, unit: 'msgs/s' });
            ctx.log(`pg: business sends ${ours.toFixed(0)}/s on postgres vs ${theirs.toFixed(0)}/s on memory: ×${(ours / theirs).toFixed(2)}`);
          }

          if (wantUnderLoad) {
            const before: number[] = [];
            const during: number[] = [];
            const sweepMs: number[] = [];
            let underLoadErrors = 0;
            for (let r = 0; r < z.sweepRepetitions && !ctx.signal.aborted; r++) {
              ctx.progress(2 / 3 + (r / z.sweepRepetitions) / 3, `sweep of ${powerOfTen(n)} expired rows under load, repetition ${r + 1}`);
              await seedExpired(store, pgTarget.pnid, n);
              const windowMs = z.sendSeconds * 1000;
              const load = startLoad(pgTarget, z.concurrency);
              await sleep(250 + windowMs);
              const t0 = performance.now();
              const swept = await post(`${pgTarget.server.url}/admin/v1/retention/sweep`, 'bench-admin', {});
              const t1 = performance.now();
              if (swept.status !== 200 || swept.json.messages_deleted < n) throw new Error(`sweep: ${swept.status} ${JSON.stringify(swept.json)}`);
              const end = Math.max(t1, t0 + windowMs);
              await sleep(end - performance.now());
              const { done, errors: e } = await load.stop();
              underLoadErrors += e;
              before.push(rate(done, t0 - windowMs, t0));
              during.push(rate(done, t0, end));
              sweepMs.push(t1 - t0);
            }
            const params = { rows: n, concurrency: z.concurrency, window_ms: z.sendSeconds * 1000 };
            const quality = { clean: underLoadErrors === 0, notes: underLoadErrors === 0 ? [] : [`${underLoadErrors} sends failed`] };
            ctx.record({ id: ids.underLoadBefore(n), suite: SUITE, unit: 'msgs/s', better: 'higher', params, samples: before, quality });
            ctx.record({ id: ids.underLoadDuring(n), suite: SUITE, unit: 'msgs/s', better: 'higher', params, samples: during, quality });
            ctx.record({ id: ids.underLoadSweep(n), suite: SUITE, unit: 'ms', better: 'lower', params, samples: sweepMs });
            const ratios = before.map((b, i) => during[i]! / b);
            const ratio = median(ratios);
            ctx.anchor({ id: anchorId('pg-sweep-under-load-drop', n), ratio, ours: median(during), theirs: median(before), unit: 'msgs/s', goal: { op: '>=', value: 0.9 }, met: ratio >= 0.9 });
            ctx.log(`pg: sends during a sweep of ${powerOfTen(n)} rows (${median(sweepMs).toFixed(0)} ms): ${median(during).toFixed(0)}/s vs ${median(before).toFixed(0)}/s before: ×${ratio.toFixed(2)}`);
          }
        } finally {
          await pgTarget.server.close();
          await store.close().catch(() => {});
        }
      }
      ctx.progress(1, 'done');
    } finally {
      await database.close();
    }
  },
};
