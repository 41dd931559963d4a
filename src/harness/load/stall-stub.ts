/**
 * A stub HTTP server with a known stall pattern, for validating latency measurement: it
 * answers at once, except that every `periodMs` it stalls for `stallMs` — a request arriving
 * at phase φ < stallMs of a period is held until the stall ends (latency S − φ).
 *
 * For an open-model client at a steady rate, a fraction S/P of arrivals is stalled and
 * P(latency > x) = (S − x)/P for 0 ≤ x ≤ S, so percentile q is S − (1 − q)·P when that is
 * positive, otherwise the base latency (≈ 0): `expectedStallPercentileMs`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { percentile } from '../statistics/stats.js';

export interface StallStub {
  url: string;
  close(): Promise<void>;
}

export interface StallStubWithLag extends StallStub {
  /**
   * How late the stub itself released stalled requests (its timer fired after the stall ended,
   * because this process had no CPU), ms, over every release. That lateness is part of
   * what a client honestly measures, so a check against `expectedStallPercentileMs` allows it.
   * Covers the releases since the previous call.
   */
  takeReleaseLagMs(): { p99: number; max: number };
}

/** `host`: the address to listen on (default loopback). */
export async function startStallStub(stallMs: number, periodMs: number, host = '127.0.0.1'): Promise<StallStubWithLag> {
  const origin = performance.now();
  const lateness: number[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const phase = (performance.now() - origin) % periodMs;
      const reply = (): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      };
      if (phase < stallMs) {
        const due = performance.now() + stallMs - phase;
        setTimeout(() => {
          lateness.push(Math.max(0, performance.now() - due));
          reply();
        }, stallMs - phase);
      } else reply();
    });
  });
  const stub = await serveStub(server, host);
  return {
    ...stub,
    takeReleaseLagMs: () => {
      const taken = lateness.splice(0);
      return taken.length === 0 ? { p99: 0, max: 0 } : { p99: percentile(taken, 99), max: Math.max(...taken) };
    },
  };
}

/** Listens on a free port of `host` (default loopback); `close` drops open connections and stops listening. */
export async function serveStub(server: http.Server, host = '127.0.0.1'): Promise<StallStub> {
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Percentile q (0..1) an honest open-model client must report against the stub, ms (base latency taken as 0). */
export function expectedStallPercentileMs(q: number, stallMs: number, periodMs: number): number {
  return Math.max(0, stallMs - (1 - q) * periodMs);
}
