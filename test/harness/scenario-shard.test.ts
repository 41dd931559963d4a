/**
 * The mass-messaging and inbound-flood scenarios as shards (src/harness/scenarios/scenario-shard.ts): the
 * partition rule, and two `npm run load -- --scenario … --shard i/2` processes per scenario
 * against one server child on loopback, merged by `npm run merge`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPrefixFor, shardedCount, type ScenarioShardFile } from '../../src/harness/scenarios/scenario-shard.js';
import { ownedIndices } from '../../src/harness/load/shard.js';
import { startServerTarget } from '../../src/harness/load/target.js';
import { waIdFor } from '../../src/harness/device/fleet.js';

const LOAD = fileURLToPath(new URL('../../scripts/load.js', import.meta.url));
const MERGE = fileURLToPath(new URL('../../scripts/merge.js', import.meta.url));

test('scenario shards: request j goes to user j mod U, and that user belongs to request j’s shard, for every N', () => {
  for (const planned of [1, 7, 9, 20, 200]) {
    for (let n = 1; n <= 5; n++) {
      const users = shardedCount(planned, n);
      assert.equal(users % n, 0, `${planned} users over ${n} shards`);
      assert.ok(users >= planned && users < planned + n);
      const owners = new Map<number, number>();
      for (let i = 0; i < n; i++) for (const k of ownedIndices({ index: i, count: n }, users)) owners.set(k, i);
      assert.equal(owners.size, users, 'every user belongs to exactly one shard');
      for (let j = 0; j < 3 * users; j++) assert.equal(owners.get(j % users), j % n, `request ${j}`);
    }
  }
  // Every shard derives the same 7-digit prefix from T0, so wa_ids are named alike everywhere.
  const t0 = Date.UTC(2026, 11, 3, 18, 0, 0);
  assert.equal(runPrefixFor(t0), runPrefixFor(t0 + 999));
  assert.notEqual(runPrefixFor(t0), runPrefixFor(t0 + 1000));
  assert.equal(String(runPrefixFor(t0)).length, 7);
  assert.equal(waIdFor(runPrefixFor(t0), 12).length, 15);
});

function load(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

test('scenario shards: mass-messaging and inbound-flood, two shards each against one server, merged, send the whole schedule and pass every check', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-scenario-shards-'));
  const server = await startServerTarget(undefined, { backend: 'node' });
  t.after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const target = ['--target', server.target.url, '--admin-token', server.target.adminToken, '--registration-token', server.target.registrationToken];
  const rate = 40;
  const seconds = 3;
  // Far enough ahead for the four shards to prepare (register, sessions, first contact or
  // ciphertexts) on a busy machine. The two runs start a second apart: their entities are named
  // from T0, so two runs with one T0 second would share wa_ids.
  const startAt = Date.now() + 60_000;
  const shardRun = (scenario: string, t0: number) => {
    const files = [0, 1].map((i) => join(dir, `${scenario}-${i}.json`));
    const runs = Promise.all(files.map((out, i) => load(['--scenario', scenario, '--profile', 'smoke', ...target, '--shard', `${i}/2`, '--start-at', String(t0), '--rate', String(rate), '--duration', String(seconds), '--out', out])));
    return { files, runs };
  };
  const outbound = shardRun('mass-messaging', startAt);
  const inbound = shardRun('inbound-flood', startAt + 1000);
  const [outboundRuns, inboundRuns] = await Promise.all([outbound.runs, inbound.runs]);
  for (const [name, runs] of [['mass-messaging', outboundRuns], ['inbound-flood', inboundRuns]] as const) {
    runs.forEach((r, i) => assert.equal(r.code, 0, `${name} shard ${i}: ${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`));
  }
  const files = outbound.files;
  const shards = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as ScenarioShardFile);
  // The partition: 9 smoke users rounded up to 10, 5 per shard, one prefix from T0.
  for (const [i, s] of shards.entries()) {
    assert.equal(s.scenario, 'mass-messaging');
    assert.deepEqual(s.shard, { index: i, count: 2, start_at_ms: startAt });
    assert.deepEqual(s.population, { entities: 10, shard_entities: 5, devices_per_user: 2, run_prefix: runPrefixFor(startAt) });
    assert.equal(s.requests.sent, (rate * seconds) / 2);
    assert.ok(s.checks.length >= 7, `${s.checks.length} checks`);
  }
  // inbound-flood: 6 smoke devices, 3 per shard; every request a fresh ciphertext, all forwarded.
  for (const [i, f] of inbound.files.entries()) {
    const s = JSON.parse(readFileSync(f, 'utf8')) as ScenarioShardFile;
    assert.equal(s.scenario, 'inbound-flood');
    assert.deepEqual(s.population, { entities: 6, shard_entities: 3, devices_per_user: 1, run_prefix: runPrefixFor(startAt + 1000) });
    assert.equal(s.requests.sent, (rate * seconds) / 2, `inbound-flood shard ${i}`);
    assert.ok(s.checks.some((c) => c.id === 'load/inbound-flood/replay-refused'));
  }
  const inboundMerge = spawnSync(process.execPath, [MERGE, ...inbound.files, '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(inboundMerge.status, 0, `${inboundMerge.stderr}\n${inboundMerge.stdout}`);
  const inboundMerged = JSON.parse(inboundMerge.stdout) as ScenarioShardFile;
  assert.equal(inboundMerged.requests.sent, rate * seconds);
  assert.equal(inboundMerged.requests.completed - inboundMerged.requests.non2xx, rate * seconds);
  for (const c of inboundMerged.checks) assert.ok(c.passed, `${c.id}: ${c.detail}`);

  const merge = spawnSync(process.execPath, [MERGE, ...files, '--json', '--out', join(dir, 'merged.json')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(merge.status, 0, merge.stderr);
  const merged = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8')) as ScenarioShardFile;
  assert.equal(merged.scenario, 'mass-messaging');
  assert.equal(merged.requests.sent, rate * seconds);
  assert.equal(merged.requests.completed, rate * seconds);
  assert.equal(merged.requests.errors + merged.requests.non2xx, 0, JSON.stringify(merged.errors_by_code));
  assert.equal(merged.checks.length, shards[0]!.checks.length + shards[1]!.checks.length);
  for (const c of merged.checks) assert.ok(c.passed, `${c.id}: ${c.detail}`);
  assert.ok(merged.checks.some((c) => c.detail.startsWith('shard 1/2: ')));

  // A shard file and a --url shard file are not one run; a failed check makes merge exit 1.
  const failed = { ...shards[1]!, checks: shards[1]!.checks.map((c, k) => (k === 0 ? { ...c, passed: false } : c)) };
  const failedPath = join(dir, 'failed.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(failedPath, JSON.stringify(failed));
  const withFailure = spawnSync(process.execPath, [MERGE, files[0]!, failedPath], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(withFailure.status, 1, withFailure.stderr);
  assert.match(withFailure.stdout, /FAIL {2}load\/mass-messaging\/devices-decrypt-first-contact: shard 1\/2: /);
  const { scenario: _scenario, checks: _checks, ...urlShard } = shards[1]!;
  const urlPath = join(dir, 'url-shard.json');
  writeFileSync(urlPath, JSON.stringify(urlShard));
  const mixed = spawnSync(process.execPath, [MERGE, files[0]!, urlPath], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(mixed.status, 2);
  assert.match(mixed.stderr, /scenario-mismatch|not the same run/);
});

test('scenario shards: a sharded scenario without --target, --start-at or a schedule is refused before anything runs (exit 2)', () => {
  const refused = (args: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [LOAD, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SIGLOAD_TARGET: '' } });
    return { status: r.status, stderr: r.stderr };
  };
  const t0 = String(Date.now() + 60_000);
  const noTarget = refused(['--scenario', 'mass-messaging', '--shard', '0/2', '--start-at', t0, '--rate', '10', '--duration', '1']);
  assert.equal(noTarget.status, 2);
  assert.match(noTarget.stderr, /needs --target/);
  const target = ['--target', 'http://127.0.0.1:9', '--admin-token', 'a', '--registration-token', 'r'];
  const noStart = refused(['--scenario', 'mass-messaging', ...target, '--shard', '0/2', '--rate', '10', '--duration', '1']);
  assert.equal(noStart.status, 2);
  assert.match(noStart.stderr, /needs --start-at/);
  const noSchedule = refused(['--scenario', 'mass-messaging', ...target, '--shard', '0/2', '--start-at', t0]);
  assert.equal(noSchedule.status, 2);
  assert.match(noSchedule.stderr, /needs its schedule/);
  const capacity = refused(['--scenario', 'mass-messaging', ...target, '--shard', '0/2', '--start-at', t0, '--rate', '10', '--duration', '1', '--find-capacity']);
  assert.equal(capacity.status, 2);
  const other = refused(['--scenario', 'spam-pattern', ...target, '--shard', '0/2', '--start-at', t0, '--rate', '10', '--duration', '1']);
  assert.equal(other.status, 2);
  assert.match(other.stderr, /spam-pattern does not run as shards/);
});
