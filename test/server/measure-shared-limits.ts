/**
 * Quick measurement for docs/postgres.md "Several server processes" (not a test): the cost per
 * send of the limits shared through PostgreSQL against the in-process ones.
 *
 *   node dist/scripts/pg-throwaway.js -- node dist/test/server/measure-shared-limits.js [sends=3000] [rounds=3]
 *
 * Two phases, each alternating shared / process `rounds` times (the machine is shared, so the
 * rounds show the spread):
 * 1. the gate alone: `admitOutbound` of one send after another (a template to a fresh user, a
 *    business with room for all of them): wall µs per admit (p50, p99), and CPU µs per admit of
 *    this process and of the one PostgreSQL backend (pool of one connection; /proc/<pid>/stat);
 * 2. the whole send over HTTP (10 sends in flight, templates to users without devices, so the
 *    send stores a `failed` status): sends/s and p50/p99 ms, server and database in this
 *    process's view.
 * Prints one JSON line per phase and round.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { VirtualClock } from '../../src/server/clock.js';
import { startReferenceServer } from '../../src/server/reference-server.js';
import { ProcessSendGate, type SendGate } from '../../src/server/send-gate.js';
import { SharedSendGate } from '../../src/server/shared-send-gate.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { createBusiness, sendTemplate } from './test-client.js';

const sends = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 3);
const serverUrl = process.env['DATABASE_URL'] ?? process.env['SIGLOAD_DATABASE_URL'];
if (serverUrl === undefined) throw new Error('DATABASE_URL is unset: run under node dist/scripts/pg-throwaway.js -- …');

/** user + system CPU of a process in µs (clock ticks of /proc/<pid>/stat, 100 per second). */
function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function freshDatabase(): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const name = `sigload_measure_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

let seq = 0;
const freshUser = (): string => String(49_160_000_000 + seq++);

async function gatePhase(store: PostgresStore, pnid: string, gate: SendGate, clock: VirtualClock): Promise<Record<string, number | string>> {
  const { rows } = await store.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const backend = rows[0]!.pid;
  const wall: number[] = [];
  const cpu0 = process.cpuUsage();
  const db0 = processCpuUs(backend);
  for (let i = 0; i < sends; i++) {
    clock.advance(1);
    const t0 = process.hrtime.bigint();
    await gate.admitOutbound(
      { phoneNumberId: pnid, waId: freshUser(), isTemplate: true, lastInboundMs: null, throughputMps: 100_000, tier: 'TIER_UNLIMITED', reported: false, registeredUsers: 0 },
      clock.now(),
    );
    wall.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  const dbUs = processCpuUs(backend) - db0;
  wall.sort((x, y) => x - y);
  return {
    phase: 'gate',
    scope: gate.scope,
    sends,
    p50_us: Math.round(percentile(wall, 0.5)),
    p99_us: Math.round(percentile(wall, 0.99)),
    node_cpu_us_per_send: Math.round((cpu.user + cpu.system) / sends),
    db_cpu_us_per_send: Math.round(dbUs / sends),
  };
}

async function httpPhase(databaseUrl: string, scope: 'shared' | 'process'): Promise<Record<string, number | string>> {
  const clock = new VirtualClock();
  const store = await PostgresStore.open({ database_url: databaseUrl, now_ms: () => clock.now(), pool_size: 10 });
  const server = await startReferenceServer({ store, clock, limitScope: scope, adminToken: 'admin-token', registrationToken: 'registration-token', retention: false, spamGuard: { minColdUsers: 1e9 } });
  try {
    const business = await createBusiness(server, undefined, { throughput_mps: 100_000, messaging_limit: 'TIER_UNLIMITED' });
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next++ < sends) {
          const s0 = performance.now();
          const answer = await sendTemplate(server, business, freshUser());
          if (answer.status !== 200) throw new Error(answer.text);
          latencies.push(performance.now() - s0);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((x, y) => x - y);
    return { phase: 'http', scope, sends, sends_per_s: Math.round(sends / seconds), p50_ms: +percentile(latencies, 0.5).toFixed(2), p99_ms: +percentile(latencies, 0.99).toFixed(2) };
  } finally {
    await server.close();
    await store.close();
  }
}

const databaseUrl = await freshDatabase();
const clock = new VirtualClock();
const store = await PostgresStore.open({ database_url: databaseUrl, now_ms: () => clock.now(), pool_size: 1 });
const setup = await startReferenceServer({ store, clock, limitScope: 'process', adminToken: 'admin-token', registrationToken: 'registration-token', retention: false });
const business = await createBusiness(setup, undefined, { throughput_mps: 100_000, messaging_limit: 'TIER_UNLIMITED' });
await setup.close();
const guard = { minColdUsers: 1e9 };
for (let round = 0; round < rounds; round++) {
  for (const gate of [new SharedSendGate(store, {}, guard), new ProcessSendGate({}, guard)]) {
    process.stdout.write(`${JSON.stringify({ round, ...(await gatePhase(store, business.pnid, gate, clock)) })}\n`);
  }
}
await store.close();
for (let round = 0; round < rounds; round++) {
  for (const scope of ['shared', 'process'] as const) process.stdout.write(`${JSON.stringify({ round, ...(await httpPhase(databaseUrl, scope)) })}\n`);
}
