/**
 * Quick measurement for docs/measurements.md "Two server processes" (not a test): business
 * sends/s of two server processes on one PostgreSQL behind HAProxy (deploy/haproxy/haproxy.cfg,
 * round-robin) against one process, on loopback.
 *
 *   node dist/scripts/pg-throwaway.js -- node dist/test/deploy/measure-two-processes.js [seconds=8] [rounds=3] [connections=32] [closed|capacity]
 *
 * Three setups per round, in rotating order (the machine is shared: the rounds show the spread):
 * `one` = the generator straight to process 1; `haproxy-one` = through HAProxy to process 1 only
 * (HAProxy's own cost); `haproxy-two` = through HAProxy to both. Each run is closed-model:
 * `connections` sends in flight for `seconds`, templates to users without devices from 40 fresh
 * businesses (throughput 1,000 mps, TIER_UNLIMITED; each user gets one message, so neither the
 * pair rate nor the 100-cold-users rule refuses any). Limits are shared through PostgreSQL
 * (`--limits shared`, the default). The generator runs in this process on the same cores.
 * Prints one JSON line per run and a summary line with the medians and the ratio.
 *
 * `capacity` instead: per setup and round, the capacity at p99 ≤ 50 ms with ≤ 1 % errors
 * (load/capacity-search.ts, the search `npm run load -- --find-capacity` runs: open model, 1 s
 * warm-up + 2.5 s measured per step, 5 % tolerance), on the same sends: templates to fresh users,
 * round robin over 150 fresh businesses (90 users each), over `connections` sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { ContractClient, call, type CreatedBusiness } from '../../src/harness/load/contract.js';
import { median } from '../../src/harness/statistics/stats.js';
import { findCapacity, openLoopStepRunner, CAPACITY_SEARCH_DEFAULTS } from '../../src/harness/load/capacity-search.js';
import { REGIONS } from '../../src/store/store.js';

const seconds = Number(process.argv[2] ?? 8);
const rounds = Number(process.argv[3] ?? 3);
const connections = Number(process.argv[4] ?? 32);
const mode = process.argv[5] ?? 'closed';
if (mode !== 'closed' && mode !== 'capacity') throw new Error(`mode must be closed or capacity, got ${mode}`);
const databaseUrl = process.env['DATABASE_URL'] ?? process.env['SIGLOAD_DATABASE_URL'];
if (databaseUrl === undefined) throw new Error('DATABASE_URL is unset: run under node dist/scripts/pg-throwaway.js -- …');

const ADMIN = 'measure-admin-token';
const BUSINESSES = 40;
const USERS_PER_BUSINESS = 100;
const work = mkdtempSync(join(tmpdir(), 'sigload-two-'));
const children: ChildProcess[] = [];

function started(argv: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      if (ready.test(seen)) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}: ${seen.slice(-800)}`)));
  });
}

async function startServer(port: number, keysFile: string): Promise<void> {
  await started(
    [process.execPath, '--max-semi-space-size=64', 'dist/scripts/server.js', '--port', String(port), '--store', 'postgres', '--database-url', databaseUrl!, '--admin-token', ADMIN, '--registration-token', 'measure-registration-token', '--master-keys', keysFile, '--no-verify-callbacks'],
    process.env,
    /listening on/,
  );
}

async function startHaproxy(bind: string, stats: string, app1: string, app2: string): Promise<ChildProcess> {
  const child = spawn('haproxy', ['-db', '-f', 'deploy/haproxy/haproxy.cfg'], { stdio: 'ignore', env: { ...process.env, SIGLOAD_BIND: bind, SIGLOAD_APP1: app1, SIGLOAD_APP2: app2, SIGLOAD_STATS: stats } });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    const answer = await call(`http://${bind}/readyz`, { method: 'GET' }).catch(() => undefined);
    if (answer?.status === 200) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('haproxy did not answer');
}

let userBase = 8_000_000_000;

/** Closed model: `connections` sends in flight for `seconds` against `url`; sends/s of 200 answers. */
async function run(url: string): Promise<{ sends_per_s: number; accepted: number; refused: number; errors: number }> {
  const client = new ContractClient({ url, adminToken: ADMIN, registrationToken: '' });
  const businesses: CreatedBusiness[] = [];
  for (let i = 0; i < BUSINESSES; i++) businesses.push(await client.createBusiness({ display_phone_number: '15550001111', webhook_url: '', throughput_mps: 1000, messaging_limit: 'TIER_UNLIMITED' }));
  const base = userBase;
  userBase += BUSINESSES * USERS_PER_BUSINESS;
  let next = 0;
  let accepted = 0;
  let refused = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < end && next < BUSINESSES * USERS_PER_BUSINESS) {
      const k = next++;
      const business = businesses[k % BUSINESSES]!;
      const answer = await client
        .sendMessage(business, { to: String(base + k), type: 'template', template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'x' }] }] } })
        .catch(() => undefined);
      if (answer === undefined) errors++;
      else if (answer.status === 200) accepted++;
      else refused++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return { sends_per_s: Math.round(accepted / elapsed), accepted, refused, errors };
}

/** Capacity at p99 ≤ 50 ms of template sends to fresh users through `url` (one search). */
async function capacity(url: string): Promise<{ capacity: number; steps: number; valid: boolean; refused: number }> {
  const client = new ContractClient({ url, adminToken: ADMIN, registrationToken: '' });
  const perBusiness = 90;
  const pool: CreatedBusiness[] = [];
  for (let i = 0; i < 150; i++) pool.push(await client.createBusiness({ display_phone_number: '15550001111', webhook_url: '', throughput_mps: 1000, messaging_limit: 'TIER_UNLIMITED' }));
  const base = userBase;
  userBase += pool.length * perBusiness;
  let refused = 0;
  const template = { type: 'template', template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'x' }] }] } };
  // Every request to a fresh user, across the search's steps (each step's j starts again at 0).
  let next = 0;
  const step = openLoopStepRunner(
    {
      url: `${url}/`,
      connections,
      method: 'POST',
      requestAt: () => {
        // Round robin over the businesses (each one's sends queue on its lock), 90 fresh users each.
        const k = next++ % (pool.length * perBusiness);
        const business = pool[k % pool.length]!;
        return {
          path: `/v23.0/${business.phone_number_id}/messages`,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${business.access_token}` },
          body: JSON.stringify({ messaging_product: 'whatsapp', to: String(base + k), ...template }),
        };
      },
      onResponse: (_j, status) => {
        if (status !== 200) refused++;
      },
    },
    CAPACITY_SEARCH_DEFAULTS.slo,
  );
  const outcome = await findCapacity(step, { log: (line) => console.error(line) });
  return { capacity: outcome.capacity, steps: outcome.steps.length, valid: outcome.valid, refused };
}

try {
  const keysFile = join(work, 'keys.json');
  writeFileSync(keysFile, JSON.stringify(Object.fromEntries(REGIONS.map((r) => [r, randomBytes(32).toString('hex')]))), { mode: 0o600 });
  await startServer(18081, keysFile);
  await startServer(18082, keysFile);
  await startHaproxy('127.0.0.1:18090', '127.0.0.1:18404', '127.0.0.1:18081', '127.0.0.1:18081');
  await startHaproxy('127.0.0.1:18091', '127.0.0.1:18405', '127.0.0.1:18081', '127.0.0.1:18082');
  const setups = { one: 'http://127.0.0.1:18081', 'haproxy-one': 'http://127.0.0.1:18090', 'haproxy-two': 'http://127.0.0.1:18091' } as const;
  const names = Object.keys(setups) as (keyof typeof setups)[];
  const results: Record<string, number[]> = { one: [], 'haproxy-one': [], 'haproxy-two': [] };
  await run(setups.one); // warm-up (JIT, pools, partitions), not counted
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      const outcome = mode === 'closed' ? await run(setups[name]) : await capacity(setups[name]);
      results[name]!.push('sends_per_s' in outcome ? outcome.sends_per_s : outcome.capacity);
      console.log(JSON.stringify({ round, setup: name, seconds, connections, ...outcome }));
    }
  }
  const med = (name: string): number => median(results[name]!);
  console.log(JSON.stringify({ [mode === 'closed' ? 'median_sends_per_s' : 'median_capacity_at_p99_50ms']: Object.fromEntries(names.map((n) => [n, med(n)])), two_over_one: Number((med('haproxy-two') / med('one')).toFixed(2)), two_over_haproxy_one: Number((med('haproxy-two') / med('haproxy-one')).toFixed(2)) }));
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
