/**
 * `npm start` (dist/scripts/server.js): listens on 127.0.0.1, prints generated tokens, refuses bad
 * flags clearly, and on SIGTERM finishes in-flight work and exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/server.js', import.meta.url));

test('bad flags: a clear message and exit code 2', () => {
  for (const [args, message] of [
    [['--port', 'abc'], /--port must be/],
    [['--store', 'redis'], /--store must be memory or postgres/],
    [['--store', 'postgres'], /needs --database-url/],
    [['--crypto', 'openssl'], /--crypto must be node or noble/],
    [['--crypto-thread', 'maybe'], /--crypto-thread must be on or off/],
    [['--throttle-status', '131056=200'], /400\.\.599/],
    [['--wat'], /unknown option/],
    [['--host', 'localhost.example'], /--host must be an IPv4 or IPv6 address/],
    [['--limits', 'cluster'], /--limits must be shared or process/],
    [['--limits', 'shared'], /--limits shared needs --store postgres/],
  ] as const) {
    const run = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: { ...process.env, SIGLOAD_PORT: '0' } });
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
  const help = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--virtual-clock/);
  assert.match(help.stdout, /--host <addr>/);
});

interface Started {
  readonly child: ReturnType<typeof spawn>;
  /** The URL of the listening line. */
  readonly url: string;
  /** Everything printed on stdout so far. */
  out(): string;
  readonly exited: Promise<number | null>;
}

/** `npm start` with `args` on a free port; resolves once it prints its listening line on `host`. */
async function startServer(args: readonly string[], host: string): Promise<Started> {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, SIGLOAD_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new RegExp(`listening on (http://${host.replaceAll('.', '\\.')}:[0-9]+)`);
  const deadline = Date.now() + 10_000;
  while (!listening.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`no listening line on ${host}: ${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, url: listening.exec(out)![1]!, out: () => out, exited };
}

test('--host: listens on the address given (127.0.0.2), not on 127.0.0.1', async () => {
  const server = await startServer(['--host', '127.0.0.2', '--virtual-clock', '--admin-token', 'admin-secret-1'], '127.0.0.2');
  try {
    const clock = await fetch(`${server.url}/admin/v1/clock`, { headers: { authorization: 'Bearer admin-secret-1' } });
    assert.equal(clock.status, 200);
    assert.equal(typeof ((await clock.json()) as { now_ms: unknown }).now_ms, 'number');
    const port = new URL(server.url).port;
    await assert.rejects(fetch(`http://127.0.0.1:${port}/admin/v1/clock`, { headers: { authorization: 'Bearer admin-secret-1' } }), 'nothing listens on 127.0.0.1');
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  } finally {
    server.child.kill('SIGKILL');
  }
});

test('serves, honours the virtual clock flag, and exits 0 on SIGTERM', async () => {
  const server = await startServer(['--virtual-clock', '--admin-token', 'admin-secret-1', '--throttle-status', '131056=400'], '127.0.0.1');
  try {
    assert.match(server.out(), /registration token: \S{16,}/, 'a generated registration token is printed');
    const clock = await fetch(`${server.url}/admin/v1/clock`, { method: 'POST', headers: { authorization: 'Bearer admin-secret-1' }, body: '{"advance_ms":5}' });
    assert.equal(clock.status, 200);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.match(server.out(), /stopped/);
  } finally {
    server.child.kill('SIGKILL');
  }
});
