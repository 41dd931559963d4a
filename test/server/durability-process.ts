/**
 * Runs test/server/durability-child.ts as a separate process (spawned, killable with SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ReferenceServer } from '../../src/server/reference-server.js';

const childEntry = fileURLToPath(new URL('./durability-child.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export const testMasterKey = (): string => randomBytes(32).toString('hex');

export interface ServerProcess {
  readonly child: ChildProcess;
  /** What TestDevice / call() need of a server. */
  readonly handle: ReferenceServer;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** `settings`: more SIGLOAD_CHILD_* variables (durability-child.ts). */
export async function startServerProcess(databaseUrl: string, port: number, masterKey: string, settings: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [childEntry], {
    env: { ...process.env, ...settings, SIGLOAD_CHILD_DATABASE_URL: databaseUrl, SIGLOAD_CHILD_PORT: String(port), SIGLOAD_CHILD_MASTER_KEY: masterKey },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Never leave a server behind: killed when this test process exits, or when it fails to start.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const startTimer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      if (buffered.includes('"ready":true')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server process exited (${code}) before it was ready`)));
  }).finally(() => clearTimeout(startTimer));
  const handle = { url: `http://127.0.0.1:${port}`, port, adminToken: 'admin-token', registrationToken: 'registration-token' } as unknown as ReferenceServer;
  return {
    child,
    handle,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
