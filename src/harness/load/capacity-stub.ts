/**
 * A stub HTTP server of known capacity C, for validating the capacity search. It counts the
 * requests that arrived in the last `windowMs` (default 1 s); while that count is at most
 * C × the window in seconds it answers at once,
 * above it each answer waits `overloadDelayMs` (default 1000 ms). So p99 is near zero (plus
 * scheduling jitter) at offered rates below C and `overloadDelayMs` soon after the rate passes C:
 * a step function whose edge is C, whatever the SLO between the two.
 *
 * The window makes the edge insensitive to the generator's timing: a request sent late by a
 * busy scheduler still arrives within the same window, so bursts move the count by the lag's
 * share of the window, not by the burst's size; a longer window shrinks that share. (A FIFO of service time 1/C would model
 * a real server better, but near C its queue follows every burst of a loaded machine, which
 * would blur the edge it has to show.)
 *
 * `startCapacityStubChild` runs it in a child process (`node capacity-stub.js <C> [delay ms] [window ms]` prints
 * `SIGLOAD_SERVER {"url":…}` like the server children), so the stub and the load generator do
 * not share an event loop.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { awaitServerAddress } from './target.js';
import { serveStub } from './stall-stub.js';

export interface CapacityStub {
  url: string;
  close(): Promise<void>;
}

export async function startCapacityStub(capacityPerSecond: number, overloadDelayMs = 1000, windowMs = 1000): Promise<CapacityStub> {
  const limit = capacityPerSecond * (windowMs / 1000);
  const arrivals: number[] = [];
  let head = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = performance.now();
      arrivals.push(now);
      while (arrivals[head]! <= now - windowMs) head++;
      if (head > 100_000) {
        arrivals.splice(0, head);
        head = 0;
      }
      const reply = (): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      };
      if (arrivals.length - head > limit) setTimeout(reply, overloadDelayMs);
      else reply();
    });
  });
  return serveStub(server);
}

/** The stub in a child process; `close` stops it. */
export async function startCapacityStubChild(capacityPerSecond: number, overloadDelayMs = 1000, windowMs = 1000): Promise<CapacityStub> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(capacityPerSecond), String(overloadDelayMs), String(windowMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const target = await awaitServerAddress(child, 'capacity stub');
  return {
    url: `${target.url}/`,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stub = await startCapacityStub(Number(process.argv[2]), Number(process.argv[3] ?? 1000), Number(process.argv[4] ?? 1000));
  process.stdout.write(`SIGLOAD_SERVER ${JSON.stringify({ url: stub.url.replace(/\/$/, ''), adminToken: '', registrationToken: '' })}\n`);
  const stop = (): void => void stub.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}
