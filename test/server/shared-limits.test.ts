/**
 * Two server processes on one PostgreSQL database (loopback, two ports) enforce ONE set of
 * limits and follow ONE virtual clock (issue 17, docs/postgres.md "Several server processes"):
 * a business sending alternately through both gets its throughput (130429), pair rate (131056)
 * and tier (131049) once in total, an abuser spread over both is stopped by the spam guard
 * (131048) at its threshold, a clock advance on one process reaches the other, a refused send
 * changes no shared row, and the retention sweep leaves no user identifier in the limit tables.
 *
 * Time is the shared virtual clock, so "per second" is exact: nothing refills until the test
 * advances the clock. With `SIGLOAD_CHILD_LIMITS=process` (each process its own limits, as
 * before shared limits) the throughput, pair, tier and spam checks fail: 160 / 90 / 100 / 60.
 *
 * Runs in the PostgreSQL pass of scripts/run-tests.mjs (it makes its own database).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { call, createBusiness, sendTemplate, type TestBusiness } from './test-client.js';
import { freePort, startServerProcess, testMasterKey, type ServerProcess } from './durability-process.js';
import { createTestDatabase, type TestDatabase } from '../store/postgres-database.js';
import type { ReferenceServer } from '../../src/server/reference-server.js';

const skip = process.env['SIGLOAD_TEST_STORE'] === undefined ? 'runs in the PostgreSQL pass' : false;
const limits = process.env['SIGLOAD_CHILD_LIMITS'] ?? 'shared';

let db: TestDatabase;
let sql: pg.Pool;
const running: ServerProcess[] = [];

/** Two processes on `db`, on the virtual clock; the spam guard's minimum cold users as given. */
async function startPair(minColdUsers: number): Promise<[ServerProcess, ServerProcess]> {
  const masterKey = testMasterKey();
  const settings = { SIGLOAD_CHILD_VIRTUAL_CLOCK: '1', SIGLOAD_CHILD_LIMITS: limits, SIGLOAD_CHILD_MIN_COLD_USERS: String(minColdUsers) };
  const pair = await Promise.all([startServerProcess(db.url, await freePort(), masterKey, settings), startServerProcess(db.url, await freePort(), masterKey, settings)]);
  running.push(...pair);
  return pair;
}

before(async () => {
  if (skip) return;
  db = await createTestDatabase('sigload_shared_limits');
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  // An idle client cut off when the database is dropped must not become an uncaught error (as in the store's pool).
  sql.on('error', () => {});
});
after(async () => {
  for (const p of running) await p.stop();
  await sql?.end();
  await db?.drop();
});

let userSeq = 0;
/** A fresh user number (never written to any business: every template to it is cold). */
const freshUser = (): string => `49170${String(1_000_000 + userSeq++)}`;

/** Sends `count` templates, alternately through a and b, all at once; the answers' statuses in order. */
async function sendAlternately(a: ReferenceServer, b: ReferenceServer, business: TestBusiness, recipients: readonly string[]): Promise<number[]> {
  const answers = await Promise.all(recipients.map((to, i) => sendTemplate(i % 2 === 0 ? a : b, business, to)));
  return answers.map((x) => x.status);
}

/** Every code of the error answers, counted. */
async function refusalCodes(a: ReferenceServer, b: ReferenceServer, business: TestBusiness, recipients: readonly string[]): Promise<{ accepted: number; codes: Map<number, number> }> {
  const answers = await Promise.all(recipients.map((to, i) => sendTemplate(i % 2 === 0 ? a : b, business, to)));
  const codes = new Map<number, number>();
  let accepted = 0;
  for (const x of answers) {
    if (x.status === 200) accepted++;
    else codes.set(x.body?.error?.code, (codes.get(x.body?.error?.code) ?? 0) + 1);
  }
  return { accepted, codes };
}

async function advance(server: ReferenceServer, ms: number): Promise<number> {
  const answer = await call(server, 'POST', '/admin/v1/clock', server.adminToken, { advance_ms: ms });
  assert.equal(answer.status, 200, answer.text);
  return answer.body.now_ms as number;
}

async function nowOf(server: ReferenceServer): Promise<number> {
  const answer = await call(server, 'GET', '/admin/v1/clock', server.adminToken);
  assert.equal(answer.status, 200, answer.text);
  return answer.body.now_ms as number;
}

/** Waits (≤ 1 s, wall clock) until `server`'s clock shows at least `targetMs`. */
async function reaches(server: ReferenceServer, targetMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const nowMs = await nowOf(server);
    if (nowMs >= targetMs) return Date.now() - start;
    if (Date.now() - start > 1_000) assert.fail(`the other process still shows ${nowMs}, not ${targetMs}, after 1 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every row of the shared limit tables and the clock, as text (to compare before and after). */
async function sharedRows(): Promise<string> {
  const tables = ['region_us.limit_buckets', 'region_us.limit_contacts', 'region_us.limit_counts', 'region_us.limit_stops', 'sigload.virtual_clock'];
  const parts: string[] = [];
  for (const table of tables) parts.push(JSON.stringify((await sql.query(`SELECT * FROM ${table} ORDER BY 1, 2`)).rows));
  return parts.join('\n');
}

/** A refused send (expected `code`) leaves every shared row as it was. */
async function refusedChangesNothing(server: ReferenceServer, business: TestBusiness, to: string, code: number): Promise<void> {
  const rows = await sharedRows();
  const answer = await sendTemplate(server, business, to);
  assert.equal(answer.body?.error?.code, code, answer.text);
  assert.equal(await sharedRows(), rows, `a send refused with ${code} changed a shared row`);
}

test('two processes, one set of limits: throughput, pair rate, tier; one clock; refusals change nothing; the sweep forgets users', { skip, timeout: 180_000 }, async () => {
  const [pa, pb] = await startPair(100_000);
  const a = pa.handle;
  const b = pb.handle;

  // --- throughput 80 mps in total: 160 sends in one instant through both → 80 accepted.
  const steady = await createBusiness(a, undefined, { display_phone_number: '15550002001', throughput_mps: 80, messaging_limit: 'TIER_UNLIMITED' });
  const oneSecond = async (second: number): Promise<void> => {
    const statuses = await sendAlternately(a, b, steady, Array.from({ length: 160 }, freshUser));
    const accepted = statuses.filter((s) => s === 200).length;
    assert.equal(accepted, 80, `second ${second}: ${accepted} accepted through both processes, the number allows 80 per second in total`);
    assert.equal(statuses.filter((s) => s === 429).length, 80);
    await refusedChangesNothing(b, steady, freshUser(), 130429);
  };
  await oneSecond(0);

  // --- one virtual clock: B started on the time A's start put into the database, and an advance on A reaches B within 1 s.
  const startA = await nowOf(a);
  assert.equal(await nowOf(b), startA, 'both processes are on the shared time');
  const advanced = await advance(a, 1_000);
  assert.equal(advanced, startA + 1_000);
  const lag = await reaches(b, advanced);
  assert.ok(lag <= 1_000);
  assert.equal(await nowOf(b), advanced, 'the other process moved exactly as far');

  // --- one second later another 80 in total, never more; and again after an advance on B (read by A).
  await oneSecond(1);
  await reaches(a, await advance(b, 1_000));
  await oneSecond(2);

  // --- pair rate: one user, a burst of 45 in total (131056 after), then one per 6 s.
  const pairs = await createBusiness(b, undefined, { display_phone_number: '15550002002', throughput_mps: 1_000, messaging_limit: 'TIER_UNLIMITED' });
  const user = freshUser();
  const pair = await refusalCodes(a, b, pairs, Array.from({ length: 90 }, () => user));
  assert.equal(pair.accepted, 45, `a burst of ${pair.accepted} to one user through both processes; the pair allows 45`);
  assert.equal(pair.codes.get(131056), 45);
  await refusedChangesNothing(a, pairs, user, 131056);
  await reaches(b, await advance(a, 6_000));
  const refilled = await refusalCodes(a, b, pairs, [user, user]);
  assert.equal(refilled.accepted, 1, 'one more after 6 s, on either process');

  // --- tier: TIER_50 counts 50 unique users outside a service window in total.
  const tiered = await createBusiness(a, undefined, { display_phone_number: '15550002003', throughput_mps: 1_000, messaging_limit: 'TIER_50' });
  const tier = await refusalCodes(a, b, tiered, Array.from({ length: 100 }, freshUser));
  assert.equal(tier.accepted, 50, `${tier.accepted} unique users through both processes; TIER_50 allows 50`);
  assert.equal(tier.codes.get(131049), 50);
  await refusedChangesNothing(b, tiered, freshUser(), 131049);

  // --- retention: after 31 days and a sweep (on the other process), no user identifier is left in the limit tables.
  const users = await sql.query(`SELECT count(*)::int AS n FROM region_us.limit_contacts`);
  assert.ok(users.rows[0].n > 0, 'the limit tables held users before the sweep');
  await reaches(b, await advance(a, 31 * 86_400_000));
  const sweep = await call(b, 'POST', '/admin/v1/retention/sweep', b.adminToken, {});
  assert.equal(sweep.status, 200, sweep.text);
  const left = await sql.query(
    `SELECT (SELECT count(*) FROM region_us.limit_contacts)::int AS contacts, (SELECT count(*) FROM region_us.limit_buckets WHERE wa_id <> '')::int AS pairs`,
  );
  assert.deepEqual(left.rows[0], { contacts: 0, pairs: 0 }, 'user identifiers outlived retention in the limit tables');
  const counted = await sql.query(`SELECT kind, users::int FROM region_us.limit_counts WHERE users <> 0`);
  assert.deepEqual(counted.rows, [], 'the window counts follow the rows the sweep deleted');
});

test('an abuser spread over two processes is stopped by the spam guard at its threshold', { skip, timeout: 120_000 }, async () => {
  const threshold = 30;
  const [pa, pb] = await startPair(threshold);
  const abuser = await createBusiness(pa.handle, undefined, { display_phone_number: '15550002004', throughput_mps: 1_000, messaging_limit: 'TIER_UNLIMITED' });
  // Cold templates to fresh users, alternately through both processes, in rounds (as a real abuser would keep trying).
  let accepted = 0;
  let stopped = 0;
  for (let round = 0; round < 4; round++) {
    const result = await refusalCodes(pa.handle, pb.handle, abuser, Array.from({ length: 25 }, freshUser));
    accepted += result.accepted;
    stopped += result.codes.get(131048) ?? 0;
  }
  assert.ok(accepted <= 2 * threshold, `${accepted} cold contacts accepted; the issue's bound is 2 × ${threshold}`);
  assert.equal(accepted, threshold, `one spam guard for both processes stops the abuser at ${threshold} cold contacts, got ${accepted}`);
  assert.equal(stopped, 100 - threshold);
  await refusedChangesNothing(pb.handle, abuser, freshUser(), 131048);
  // Stopped on both processes, also after the clock moved (within the 24 h penalty).
  await reaches(pb.handle, await advance(pa.handle, 3_600_000));
  for (const server of [pa.handle, pb.handle]) assert.equal((await sendTemplate(server, abuser, freshUser())).body?.error?.code, 131048);
});
