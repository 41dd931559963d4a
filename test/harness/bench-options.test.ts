import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BENCH_USAGE, BenchUsageError, matchesFilters, parseBenchArgs } from '../../src/harness/suite/options.js';
import { parseSlowdown, slowdownFor, SlowdownSpecError } from '../../src/harness/suite/slowdown.js';

const usageError = (pattern: RegExp) => (err: unknown) => err instanceof BenchUsageError && err.kind === 'bad-option' && pattern.test(err.message);

test('bench options: defaults are quick, both backends, workers 1..cores', () => {
  const o = parseBenchArgs([], 3);
  assert.equal(o.profile, 'quick');
  assert.deepEqual(o.backends, ['node', 'noble']);
  assert.deepEqual(o.workers, [1, 2, 3]);
  assert.deepEqual(o.filters, []);
  assert.equal(o.out, undefined);
  assert.equal(o.help, false);
});

test('bench options: every option, both spellings', () => {
  const o = parseBenchArgs(['--profile', 'smoke', '--filter=crypto/,/^signal\\//', '--filter', 'pool', '--backend', 'noble', '--workers', '1,3-4', '--out', 'x.json', '--list'], 2);
  assert.equal(o.profile, 'smoke');
  assert.deepEqual(o.filters, ['crypto/', '/^signal\\//', 'pool']);
  assert.deepEqual(o.backends, ['noble']);
  assert.deepEqual(o.workers, [1, 3, 4]);
  assert.equal(o.out, 'x.json');
  assert.equal(o.list, true);
  assert.deepEqual(parseBenchArgs(['--backend=all'], 2).backends, ['node', 'noble']);
  assert.equal(parseBenchArgs(['-h'], 2).help, true);
});

test('bench options: bad values are refused with a clear message', () => {
  assert.throws(() => parseBenchArgs(['--profile', 'turbo'], 2), usageError(/unknown profile 'turbo'.*smoke, quick, ci, full/));
  assert.throws(() => parseBenchArgs(['--profile'], 2), usageError(/--profile needs a value/));
  assert.throws(() => parseBenchArgs(['--backend', 'openssl'], 2), usageError(/unknown backend 'openssl'/));
  assert.throws(() => parseBenchArgs(['--workers', '0'], 2), usageError(/--workers: '0'/));
  assert.throws(() => parseBenchArgs(['--workers', '3-1'], 2), usageError(/bad range/));
  assert.throws(() => parseBenchArgs(['--workers', 'two'], 2), usageError(/not a worker count/));
  assert.throws(() => parseBenchArgs(['--filter', '/([/'], 2), usageError(/bad regular expression/));
  assert.throws(() => parseBenchArgs(['--fast'], 2), usageError(/unknown option '--fast'/));
  assert.throws(() => parseBenchArgs(['--shard', '0/2'], 2), usageError(/--shard: the bench is not sharded.*--scenario mass-messaging/));
  assert.throws(() => parseBenchArgs(['--out', '--list'], 2), usageError(/--out needs a value/));
});

test('filters: substring or /regex/, any of several', () => {
  assert.equal(matchesFilters('crypto/sha256/1KiB/node', []), true);
  assert.equal(matchesFilters('crypto/sha256/1KiB/node', ['sha256']), true);
  assert.equal(matchesFilters('crypto/sha256/1KiB/node', ['sha512']), false);
  assert.equal(matchesFilters('crypto/sha256/1KiB/node', ['sha512', '/node$/']), true);
  assert.equal(matchesFilters('crypto/sha256/1KiB/noble', ['/node$/']), false);
});

test('slowdown switch: parsing, identity when off, calibrated stretch when on', () => {
  assert.equal(parseSlowdown(undefined), undefined);
  assert.equal(parseSlowdown(''), undefined);
  assert.deepEqual(parseSlowdown('signal/message:0.10'), { pattern: 'signal/message', fraction: 0.1 });
  assert.deepEqual(parseSlowdown('a:b:0.5'), { pattern: 'a:b', fraction: 0.5 });
  for (const bad of ['signal/message', ':0.1', 'x:0', 'x:-1', 'x:abc']) {
    assert.throws(() => parseSlowdown(bad), (e: unknown) => e instanceof SlowdownSpecError && /expected <benchmark-id-substring>:<fraction>/.test(e.message), bad);
  }
  const spec = { pattern: 'signal/message', fraction: 0.5 };
  const fn = (): number => 1;
  const off = slowdownFor('crypto/sha256/1KiB/node', spec);
  assert.equal(off.fraction, 0);
  assert.equal(off.wrap(fn), fn, 'no wrapper when the id does not match');
  assert.equal(slowdownFor('signal/message/x', undefined).wrap(fn), fn, 'no wrapper when the switch is off');
  // On: the wrapped call lasts at least (1 + fraction) × the inner work (busy-wait, so a lower bound by construction).
  const on = slowdownFor('signal/message/encrypt+decrypt/160B/node', spec);
  assert.equal(on.fraction, 0.5);
  let inner = 0n;
  const work = (): number => {
    const s = process.hrtime.bigint();
    let x = 0;
    for (let i = 0; i < 200_000; i++) x += i % 7;
    inner = process.hrtime.bigint() - s;
    return x;
  };
  const wrapped = on.wrap(work);
  const start = process.hrtime.bigint();
  const value = wrapped();
  const total = process.hrtime.bigint() - start;
  let expected = 0;
  for (let i = 0; i < 200_000; i++) expected += i % 7;
  assert.equal(value, expected, "the wrapped function's result passes through");
  assert.ok(Number(total) >= Number(inner) * 1.5, `stretched: ${total} ns for ${inner} ns of work`);
});

test('bench options: load target flags (--target, --admin-token, --registration-token, --device-signal)', () => {
  assert.equal(parseBenchArgs([], 2).load, undefined, 'unset: the load suites fall back to SIGLOAD_* env');
  const o = parseBenchArgs(['--filter', 'load/', '--target', 'http://127.0.0.1:9000', '--admin-token=ADM', '--registration-token', 'REG', '--device-signal', 'libsignal'], 2);
  assert.deepEqual(o.load, { target: 'http://127.0.0.1:9000', adminToken: 'ADM', registrationToken: 'REG', deviceSignal: 'libsignal' });
  assert.deepEqual(parseBenchArgs(['--device-signal=ours'], 2).load, { deviceSignal: 'ours' });
  assert.throws(() => parseBenchArgs(['--target', 'not a url'], 2), usageError(/--target: .*not a URL/));
  assert.throws(() => parseBenchArgs(['--target', 'ftp://127.0.0.1/'], 2), usageError(/http\(s\)/));
  assert.throws(() => parseBenchArgs(['--device-signal', 'theirs'], 2), usageError(/--device-signal: unknown value 'theirs'/));
  assert.throws(() => parseBenchArgs(['--admin-token'], 2), usageError(/--admin-token needs a value/));
  assert.throws(() => parseBenchArgs(['--registration-token='], 2), usageError(/empty token/));
});

test('bench help documents the load target flags', () => {
  for (const flag of ['--target <url>', '--admin-token', '--registration-token', '--device-signal', 'SIGLOAD_TARGET', 'SIGLOAD_DEVICE_SIGNAL']) assert.ok(BENCH_USAGE.includes(flag), `--help mentions ${flag}`);
});
