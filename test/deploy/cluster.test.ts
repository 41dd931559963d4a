/**
 * Several hosts on one machine (issue 17): network namespaces made by the test itself
 * (test/deploy/network-hosts.ts) — two generator hosts, an app host with HAProxy
 * (deploy/haproxy/haproxy.cfg, unchanged) in front of two server processes, and a database host
 * with PostgreSQL. Traffic flows only between these private addresses, bounded in count and
 * time. Skipped, with the reason, where namespaces cannot be made (not root, no `ip`) or haproxy
 * or PostgreSQL is missing.
 *
 * Checks: (a) two shards, one per generator host, merged, match one driver against the stall
 * stub; (b) a business limited to 80 mps gets at most 80 accepted per second in total through
 * both processes; (c) an abuser spread over both processes is stopped within 2× its tier;
 * (d) a clock advance on one process reaches the other within 1 s; (f) the mass-messaging
 * scenario as two shards, one per generator host, each receiving its webhooks on its own address;
 * (e) the compliance audit holds afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPostgresBinDir, startThrowawayPostgres, type ThrowawayPostgres } from '../../src/store/postgres-throwaway.js';
import { REGIONS } from '../../src/store/store.js';
import type { BusinessSettings, CreatedBusiness } from '../../src/harness/load/contract.js';
import type { Check } from '../../src/harness/result/result.js';
import { expectedStallPercentileMs } from '../../src/harness/load/stall-stub.js';
import type { ClusterTask, SendOutcome } from './cluster-actor.js';
import { NetworkHosts, namespacesUnavailable } from './network-hosts.js';

const ADMIN_TOKEN = 'cluster-admin-token';
const REGISTRATION_TOKEN = 'cluster-registration-token';
const HAPROXY_CONFIG = 'deploy/haproxy/haproxy.cfg';
const host1 = 'gen1';
const host2 = 'gen2';
const STALL_MS = 200;
const PERIOD_MS = 1000;
/** Generator dispatch lag above which the machine is too loaded to judge latency (as in load-open-loop.test.ts). */
const MAX_DISPATCH_LAG_MS = 25;

/** The compiled script behind `npm run merge`. */
function mergeScript(): string {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  const file = /node (?:--\S+ )*(dist\/\S+\.js)/.exec(scripts['merge'] ?? '')?.[1];
  assert.ok(file !== undefined && existsSync(file), 'npm run merge names a compiled script');
  return file;
}

function cannotRun(): string | undefined {
  const why = namespacesUnavailable();
  if (why !== undefined) return why;
  if (spawnSync('sh', ['-c', 'command -v haproxy'], { stdio: 'ignore' }).status !== 0) return 'haproxy is not installed (apt-get install haproxy; .ci/run installs it)';
  if (findPostgresBinDir() === undefined) return 'PostgreSQL binaries are not installed';
  return undefined;
}

const skipReason = cannotRun();

interface LoadJson {
  latency_ms: { p50: number; p90: number; p99: number };
  requests: { sent: number; completed: number; errors: number };
  dispatch_lag_ms?: { p99: number };
}

test('cluster on network namespaces: 2 generator hosts, HAProxy + 2 servers, PostgreSQL', { skip: skipReason ?? false, timeout: 300_000 }, async (t) => {
  const hosts = NetworkHosts.create({ hosts: { gen1: 11, gen2: 12, app: 20, db: 30 } });
  const work = mkdtempSync(join(tmpdir(), 'sigload-cluster-'));
  let database: ThrowawayPostgres | undefined;
  try {
    const app = hosts.address('app');
    database = await startThrowawayPostgres({ host: hosts.address('db'), trustedNetwork: hosts.network, launcher: hosts.launcher('db') });

    // One master keys file for both processes: each must open what the other sealed.
    const keysFile = join(work, 'master-keys.json');
    writeFileSync(keysFile, JSON.stringify(Object.fromEntries(REGIONS.map((r) => [r, randomBytes(32).toString('hex')]))), { mode: 0o600 });
    const serverHost = app;
    const serverUrls: string[] = [];
    for (const port of [8081, 8082]) {
      // One after the other: the first creates the schema.
      const server = hosts.start('app', [
        process.execPath,
        'dist/scripts/server.js',
        '--host', serverHost,
        '--port', String(port),
        '--store', 'postgres',
        '--database-url', database.url,
        '--admin-token', ADMIN_TOKEN,
        '--registration-token', REGISTRATION_TOKEN,
        '--master-keys', keysFile,
        '--virtual-clock',
        '--no-verify-callbacks',
        '--crypto-thread', 'off',
      ]);
      const listening = await NetworkHosts.waitForLine(server, /listening on (http:\/\/\S+)/, 30_000);
      serverUrls.push(listening[1]!);
    }
    const haproxy = hosts.start('app', ['haproxy', '-db', '-f', HAPROXY_CONFIG], {
      ...process.env,
      SIGLOAD_BIND: `${app}:8080`,
      SIGLOAD_APP1: `${serverHost}:8081`,
      SIGLOAD_APP2: `${serverHost}:8082`,
      SIGLOAD_STATS: '127.0.0.1:8404',
    });
    let haproxyLog = '';
    for (const stream of [haproxy.stdout!, haproxy.stderr!]) stream.on('data', (chunk: Buffer) => (haproxyLog = (haproxyLog + chunk.toString('utf8')).slice(-2000)));
    const balancer = `http://${app}:8080`;
    const stub = hosts.start('app', [process.execPath, 'dist/test/deploy/stall-stub-host.js', app, String(STALL_MS), String(PERIOD_MS)]);
    const stubUrl = (await NetworkHosts.waitForLine(stub, /listening on (http:\/\/\S+)/, 15_000))[1]!;

    const act = async <T>(host: string, task: ClusterTask, timeoutMs = 30_000): Promise<T> => {
      const outcome = await hosts.run(host, [process.execPath, 'dist/test/deploy/cluster-actor.js', JSON.stringify(task)], timeoutMs);
      assert.equal(outcome.code, 0, `${task.task} on ${host}: ${outcome.stderr.slice(-1500)}`);
      return JSON.parse(outcome.stdout) as T;
    };
    await act(host1, { task: 'wait-ready', urls: [balancer, ...serverUrls], timeoutMs: 20_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\nhaproxy: ${haproxyLog}`);
    });

    const canary = `cluster-canary-${randomBytes(6).toString('hex')}`;
    const business = (settings: Partial<BusinessSettings>): Promise<CreatedBusiness> =>
      act<CreatedBusiness>(host1, { task: 'create-business', url: balancer, adminToken: ADMIN_TOKEN, settings: { display_phone_number: '15550001111', webhook_url: '', ...settings } });
    /** Sends one template to each of `perHost` users from each generator host at once, through HAProxy. */
    const sendFromBoth = async (to: CreatedBusiness, firstUser: number, perHost: number): Promise<SendOutcome> => {
      const outcomes = await Promise.all(
        [host1, host2].map((host, i) => act<SendOutcome>(host, { task: 'send-templates', url: balancer, business: to, firstUser: firstUser + i * perHost, count: perHost, concurrency: 8, canary })),
      );
      const total: SendOutcome = { accepted: 0, refused: {}, errors: 0 };
      for (const o of outcomes) {
        total.accepted += o.accepted;
        total.errors += o.errors;
        for (const [code, n] of Object.entries(o.refused)) total.refused[code] = (total.refused[code] ?? 0) + n;
      }
      return total;
    };
    const advanceClock = (url: string, advanceMs: number) => act<{ status: number; now_ms?: number }>(host1, { task: 'clock', url, adminToken: ADMIN_TOKEN, advanceMs });

    await t.test('(a) two merged shards on two hosts match one driver against the stall stub', async (st) => {
      const shardFile = (i: number): string => join(work, `shard-${i}.json`);
      const attempt = async (): Promise<{ merged: LoadJson; single: LoadJson; lag: number }> => {
        const startAt = Date.now() + 3_000; // one kernel clock: every namespace sees the same instant
        const shards = await Promise.all(
          [host1, host2].map((host, i) =>
            hosts.run(host, [process.execPath, 'dist/scripts/load.js', '--url', stubUrl, '--rate', '200', '--duration', '12', '--connections', '48', '--shard', `${i}/2`, '--start-at', String(startAt), '--allow-remote', '--out', shardFile(i)], 45_000),
          ),
        );
        shards.forEach((s, i) => assert.equal(s.code, 0, `shard ${i}: ${s.stderr.slice(-1500)}`));
        const merged = spawnSync(process.execPath, [mergeScript(), shardFile(0), shardFile(1), '--json'], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(merged.status, 0, merged.stderr);
        const single = await hosts.run(host1, [process.execPath, 'dist/scripts/load.js', '--url', stubUrl, '--rate', '200', '--duration', '12', '--connections', '48', '--allow-remote', '--json'], 45_000);
        assert.equal(single.code, 0, single.stderr.slice(-1500));
        const singleResult = JSON.parse(single.stdout) as LoadJson;
        const lags = [...[0, 1].map((i) => (JSON.parse(readFileSync(shardFile(i), 'utf8')) as LoadJson).dispatch_lag_ms?.p99 ?? 0), singleResult.dispatch_lag_ms?.p99 ?? 0];
        return { merged: JSON.parse(merged.stdout) as LoadJson, single: singleResult, lag: Math.max(...lags) };
      };
      // The machine is shared: when a generator ran late (dispatch lag), try again, up to three
      // runs, and judge the one with the smallest lag (as load-open-loop.test.ts does).
      let best = await attempt();
      for (let k = 1; k < 3 && best.lag > MAX_DISPATCH_LAG_MS; k++) {
        const again = await attempt();
        if (again.lag < best.lag) best = again;
      }
      const { merged: mergedResult, single: singleResult } = best;
      assert.equal(mergedResult.requests.sent, 2_400, 'the shards together sent the whole schedule');
      assert.equal(mergedResult.requests.sent, singleResult.requests.sent);
      assert.equal(mergedResult.requests.errors, 0);
      assert.equal(singleResult.requests.errors, 0);
      st.diagnostic(`merged p50 ${mergedResult.latency_ms.p50} p99 ${mergedResult.latency_ms.p99}; single p50 ${singleResult.latency_ms.p50} p99 ${singleResult.latency_ms.p99}; largest dispatch lag p99 ${best.lag} ms; expected p99 ${expectedStallPercentileMs(0.99, STALL_MS, PERIOD_MS)}`);
      if (best.lag > MAX_DISPATCH_LAG_MS) {
        st.skip(`machine too loaded to judge latency: dispatch lag p99 ${best.lag} ms in the best of 3 attempts`);
        return;
      }
      for (const [name, result] of [['merged', mergedResult], ['single', singleResult]] as const) {
        assert.ok(result.latency_ms.p50 < 20, `${name} p50 ${result.latency_ms.p50} ms < 20 ms`);
        assert.ok(result.latency_ms.p99 >= 140 && result.latency_ms.p99 <= 215, `${name} p99 ${result.latency_ms.p99} ms in 140–215 ms`);
      }
    });

    await t.test('(b) a business limited to 80 mps gets at most 80 accepted per second through both processes', async (st) => {
      const limited = await business({ throughput_mps: 80, messaging_limit: 'TIER_UNLIMITED' });
      // The virtual clock stands still: one second's budget is all there is, whatever each process sees.
      const first = await sendFromBoth(limited, 5_000_000_000, 150);
      st.diagnostic(`frozen clock: ${JSON.stringify(first)}`);
      assert.equal(first.errors, 0);
      assert.equal(first.accepted, 80, `accepted ${first.accepted} of 300 with the clock still: one bucket of 80 for both processes`);
      assert.deepEqual(Object.keys(first.refused), ['130429'], 'refused only by throughput');
      // One more second: at most 80 more. (The cold-contact rule may stop the business before 80: it trips at 100 cold users.)
      assert.equal((await advanceClock(balancer, 1_000)).status, 200);
      const second = await sendFromBoth(limited, 5_000_001_000, 150);
      st.diagnostic(`after +1 s: ${JSON.stringify(second)}`);
      assert.ok(second.accepted > 0 && second.accepted <= 80, `accepted ${second.accepted} in the next second (≤ 80)`);
    });

    await t.test('(c) an abuser spread over both processes is stopped within 2× its tier', async (st) => {
      const tier = 50;
      const abuser = await business({ messaging_limit: 'TIER_50' });
      let accepted = 0;
      const codes = new Set<string>();
      // 4 × 50 users, one clock second each (under the 80 mps budget).
      for (let round = 0; round < 4; round++) {
        const sent = await sendFromBoth(abuser, 6_000_000_000 + round * 50, 25);
        accepted += sent.accepted;
        for (const code of Object.keys(sent.refused)) codes.add(code);
        await advanceClock(balancer, 1_000);
      }
      st.diagnostic(`abuser (TIER_50): ${accepted} accepted of 200; refusal codes ${[...codes].join(', ')}`);
      assert.ok(accepted <= 2 * tier, `accepted ${accepted} ≤ 2 × ${tier}`);
      assert.ok(codes.has('131049') || codes.has('131048'), 'stopped by the tier or the spam guard');
    });

    await t.test('(d) a clock advance on one process reaches the other within 1 s', async () => {
      const [one, other] = serverUrls as [string, string];
      const before = await act<{ status: number; now_ms: number }>(host2, { task: 'clock', url: other, adminToken: ADMIN_TOKEN });
      assert.equal(before.status, 200);
      const advanced = await advanceClock(one, 3_600_000);
      assert.equal(advanced.status, 200);
      const deadline = Date.now() + 1_000;
      let seen = before.now_ms;
      while (seen < before.now_ms + 3_600_000) {
        assert.ok(Date.now() <= deadline, `the other process shows ${seen - before.now_ms} ms of a 3,600,000 ms advance after 1 s`);
        seen = (await act<{ status: number; now_ms: number }>(host2, { task: 'clock', url: other, adminToken: ADMIN_TOKEN })).now_ms;
      }
    });

    await t.test('(f) the mass-messaging scenario as two shards, one per generator host, merged: the whole schedule sent, every check passed', async (st) => {
      // Each shard prepares its users and its business through HAProxy, then sends from T0; the
      // servers deliver each shard's webhooks to its host (--webhook-host).
      const startAt = Date.now() + 45_000;
      const files = [0, 1].map((i) => join(work, `scenario-shard-${i}.json`));
      const shards = await Promise.all(
        [host1, host2].map((host, i) =>
          hosts.run(
            host,
            [
              process.execPath, 'dist/scripts/load.js',
              '--scenario', 'mass-messaging', '--profile', 'smoke',
              '--target', balancer, '--admin-token', ADMIN_TOKEN, '--registration-token', REGISTRATION_TOKEN,
              '--shard', `${i}/2`, '--start-at', String(startAt), '--rate', '20', '--duration', '3',
              '--webhook-host', hosts.address(host), '--allow-remote', '--out', files[i]!,
            ],
            120_000,
          ),
        ),
      );
      shards.forEach((s, i) => assert.equal(s.code, 0, `scenario shard ${i}: ${s.stderr.slice(-2000)}\n${s.stdout.slice(-1500)}`));
      const merged = spawnSync(process.execPath, [mergeScript(), ...files, '--out', join(work, 'scenario-merged.json')], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(merged.status, 0, `${merged.stderr}\n${merged.stdout}`);
      const result = JSON.parse(readFileSync(join(work, 'scenario-merged.json'), 'utf8')) as LoadJson & { checks: Check[]; requests: { non2xx: number } };
      st.diagnostic(`scenario shards merged: sent ${result.requests.sent}, p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms; ${result.checks.length} checks`);
      assert.equal(result.requests.sent, 60);
      assert.equal(result.requests.completed, 60);
      assert.equal(result.requests.errors + result.requests.non2xx, 0);
      for (const check of result.checks) assert.ok(check.passed, `${check.id}: ${check.detail}`);
      assert.ok(result.checks.some((c) => c.id === 'load/mass-messaging/statuses-delivered' && c.detail.startsWith('shard 1/2: ')), 'the second host received its webhooks');
    });

    await t.test('(e) the compliance audit holds after the run', async (st) => {
      // Some records of this run in the audit for sure, whatever (b) and (c) left there.
      await sendFromBoth(await business({ messaging_limit: 'TIER_UNLIMITED' }), 7_000_000_000, 5);
      const checks = await act<Check[]>(host2, { task: 'compliance', url: balancer, adminToken: ADMIN_TOKEN, canary, scope: 'deploy/cluster' }, 60_000);
      for (const check of checks) {
        st.diagnostic(`${check.id}: ${check.passed ? 'pass' : 'FAIL'} — ${check.detail}`);
        assert.ok(check.passed, `${check.id}: ${check.detail}`);
      }
    });
  } finally {
    // Processes first (servers close their pools), then the database (stopped by its pid file,
    // also once its namespace is gone).
    await hosts.destroy();
    database?.stop();
    rmSync(work, { recursive: true, force: true });
  }
});
