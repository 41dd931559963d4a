/**
 * Per-device resource caps against a real `npm start` child (issue 14, item 6): one device
 * uploading 50 × 999 one-time prekeys keeps 1,000; 1,100 long-polls from one device get 4 waiting
 * and 429 for the rest, while another device is still served. Prints the child's resident set
 * size (VmRSS from /proc/<pid>/status) before and after, the figure docs/server.md quotes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ReferenceServer } from '../../src/server/reference-server.js';
import { TestDevice, call, eventually, oneTimeKeyJson } from './test-client.js';

function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

test('prekeys and long-polls are capped per device on a server child; its RSS stays bounded', { timeout: 120_000 }, async (t) => {
  const script = fileURLToPath(new URL('../../scripts/server.js', import.meta.url));
  const child = spawn(process.execPath, [script, '--port', '0', '--admin-token', 'admin-token-1', '--registration-token', 'registration-token-1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    await eventually(() => /listening on (http:\/\/\S+)/.test(out), 15_000);
    const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    const server = { url, adminToken: 'admin-token-1', registrationToken: 'registration-token-1' } as unknown as ReferenceServer;
    const device = await TestDevice.register(server, '4937000000001', 1, 1);
    const other = await TestDevice.register(server, '4937000000002', 1, 1);
    const rssBefore = rssMiB(child.pid!);

    const statuses = new Map<number, number>();
    for (let upload = 0; upload < 50; upload++) {
      const keys = Array.from({ length: 999 }, (_, i) => oneTimeKeyJson(100_000 + upload * 1_000 + i));
      const answer = await call(server, 'PUT', '/transport/v1/devices/self/pre_keys', device.token, { one_time_pre_keys: keys });
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    }
    // 1 key from the registration + 999 = the cap: every later upload is refused whole.
    assert.deepEqual([statuses.get(204), statuses.get(400)], [1, 49], JSON.stringify([...statuses]));

    const polls = Array.from({ length: 1_100 }, () => call(server, 'GET', '/transport/v1/inbox?wait_ms=3000', device.token).then((a) => a.status, () => -1));
    const waiting = async (): Promise<number> => Number(/^sigload_inbox_long_polls (\d+)/m.exec((await call(server, 'GET', '/metrics', 'admin-token-1')).text)?.[1]);
    await eventually(async () => (await waiting()) === 4, 10_000);
    const served = await call(server, 'GET', '/transport/v1/inbox?wait_ms=1', other.token);
    assert.equal(served.status, 200);
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      samples.push(await waiting());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(samples.every((n) => n <= 4), `long-polls waiting: ${samples.join(', ')}`);
    const pollStatuses = await Promise.all(polls);
    assert.ok(pollStatuses.every((s) => s === 200 || s === 429), 'every poll answered 200 or 429');
    assert.ok(pollStatuses.filter((s) => s === 429).length >= 1_000, `${pollStatuses.filter((s) => s === 429).length} refused`);

    const rssAfter = rssMiB(child.pid!);
    t.diagnostic(`server child RSS: ${rssBefore.toFixed(1)} MiB after registration, ${rssAfter.toFixed(1)} MiB after 50 prekey uploads of 999 and 1,100 long-polls`);
    console.log(`server child RSS: ${rssBefore.toFixed(1)} MiB → ${rssAfter.toFixed(1)} MiB`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});
