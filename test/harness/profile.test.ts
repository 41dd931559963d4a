import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clinicAvailable, findClinic, main as profileMain } from '../../scripts/profile.js';

function capture(t: { mock: { method: (o: object, m: string, f: (...a: unknown[]) => unknown) => unknown } }): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  t.mock.method(console, 'log', (...a: unknown[]) => void out.push(a.join(' ')));
  t.mock.method(console, 'error', (...a: unknown[]) => void err.push(a.join(' ')));
  return { out, err };
}

test('profile business-send --tool cpu-prof writes a .cpuprofile with nodes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-profile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { out, err } = capture(t);
  const code = await profileMain(['business-send', '--tool', 'cpu-prof', '--requests', '300', '--duration', '10', '--connections', '2', '--out-dir', dir]);
  assert.equal(code, 0, err.join('\n'));
  const file = out.find((l) => l.endsWith('.cpuprofile'));
  assert.ok(file, `a .cpuprofile path is printed: ${out.join(' | ')}`);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { callFrame: { functionName: string; url: string } }[]; startTime: number; endTime: number };
  assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 10);
  assert.ok(profile.endTime > profile.startTime);
  assert.ok(profile.nodes.some((n) => n.callFrame.url.includes('/src/server/')), 'the server code was sampled');
  assert.match(err.join('\n'), /0 non-2xx, 0 errors/);
});

test('profile refuses an unknown tool or scenario with exit 2', async (t) => {
  const { err } = capture(t);
  assert.equal(await profileMain(['business-send', '--tool', 'perf']), 2);
  assert.match(err.join('\n'), /unknown --tool "perf"/);
  assert.equal(await profileMain(['no-such-scenario']), 2);
  assert.match(err.join('\n'), /unknown scenario/);
  assert.equal(await profileMain([]), 2);
  assert.equal(await profileMain(['metrics', '--connections', '0']), 2);
});

test('clinic tools without clinic installed: exit 3 with how to install it', async (t) => {
  const { err } = capture(t);
  if (clinicAvailable()) {
    t.diagnostic('clinic is installed here; the absent-clinic message is not exercised');
    return;
  }
  assert.equal(await profileMain(['metrics', '--tool', 'flame']), 3);
  assert.match(err.join('\n'), /npm install --no-save clinic@13/);
  assert.match(err.join('\n'), /cpu-prof/);
});

test('clinic is found at --clinic (an install folder), and a wrong --clinic path exits 3', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-clinic-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pkg = join(dir, 'node_modules', 'clinic');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'clinic', version: '13.0.0' }));
  writeFileSync(join(pkg, 'bin.js'), '');
  const found = findClinic(dir);
  assert.equal(found?.command, process.execPath);
  assert.deepEqual(found?.args, [realpathSync(join(pkg, 'bin.js'))]);
  assert.equal(found?.from, '--clinic');
  assert.equal(findClinic(join(dir, 'nowhere')), undefined);
  const { err } = capture(t);
  assert.equal(await profileMain(['metrics', '--tool', 'flame', '--clinic', join(dir, 'nowhere')]), 3);
  assert.match(err.join('\n'), /no clinic at --clinic/);
});
