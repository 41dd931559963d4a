/**
 * Where the load scenarios send their traffic: either a server the harness starts as a child
 * process on loopback (the reference server, or the bare node:http baseline), or a server
 * someone else runs (`--target <url> --admin-token … --registration-token …`), in which case
 * the harness starts nothing and says so in the result JSON (`environment.target`).
 *
 * A child server never shares the generator's event loop. It prints
 * `SIGLOAD_SERVER {"url","adminToken","registrationToken"}` on stdout (src/harness/load/server-child.ts,
 * src/harness/load/baseline-child.ts); it is stopped with SIGTERM and also exits when its stdin closes,
 * so it cannot outlive the harness.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerTarget } from './contract.js';
import type { ServerChildConfig } from './server-child.js';

export interface ExternalTarget {
  url: string;
  adminToken: string;
  registrationToken: string;
}

export interface RunningTarget {
  target: ServerTarget;
  startedByHarness: boolean;
  /** Child process id when the harness started it. */
  pid?: number;
  stop(): Promise<void>;
}

const childPath = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));

/** Waits for the `SIGLOAD_SERVER {json}` line a server child prints on stdout (src/harness/load/server-child.ts). */
export function awaitServerAddress(child: ChildProcess, label: string): Promise<ServerTarget> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((l) => l.startsWith('SIGLOAD_SERVER '));
      if (line) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(JSON.parse(line.slice('SIGLOAD_SERVER '.length)) as ServerTarget);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${label} exited (code ${code}) before printing its address`)));
    child.once('error', reject);
  });
}

/**
 * V8 flags of every server child (load scenarios, `npm run profile`), reference and bare baseline alike (so the
 * anchors divide like by like), and of `npm start`. A young generation of up to 64 MiB per
 * semi-space (V8's default is 16 MiB on 64-bit): Node's documented throughput knob for servers
 * that allocate a lot per request. On the send path it cuts the instructions per send by about
 * 6 % (docs/measurements.md, "Server throughput", with the callgrind command): fewer scavenges,
 * fewer short-lived objects promoted. The bare handler allocates little and is not changed by it.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

async function startChild(script: string, args: string[]): Promise<RunningTarget> {
  const child: ChildProcess = spawn(process.execPath, [...SERVER_NODE_FLAGS, childPath(script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const target = await awaitServerAddress(child, script);
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  return {
    target,
    startedByHarness: true,
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** The reference server under test: `external` when given, else a child process. */
export function startServerTarget(external: ExternalTarget | undefined, config: ServerChildConfig = {}): Promise<RunningTarget> {
  if (external) {
    return Promise.resolve({
      target: { url: external.url.replace(/\/+$/, ''), adminToken: external.adminToken, registrationToken: external.registrationToken },
      startedByHarness: false,
      stop: async () => {},
    });
  }
  return startChild('server-child.js', [JSON.stringify(config)]);
}

/** The bare node:http JSON handler, always a child process on this machine. */
export function startBaselineTarget(): Promise<RunningTarget> {
  return startChild('baseline-child.js', []);
}
