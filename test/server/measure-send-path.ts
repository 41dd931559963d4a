/**
 * The business send path without the network (not a test): sends on established sessions are
 * handed to the server's request handler in this process as in-memory requests, so what is
 * measured is the server's own work per send (routing, limits, Signal, at rest, stores, the
 * response head and body) without sockets, the kernel or a load generator sharing the cores.
 *
 *   node dist/test/server/measure-send-path.js [sends=20000] [users=50] [devices=1]
 *       [--warm-up=N]   sends before the timed ones (default min(5000, sends))
 *       prints µs of CPU per send over the timed sends: the process's (process.cpuUsage) and the
 *       event loop's alone (/proc; the rest is the session-crypto thread and V8's helpers)
 *   instructions per send: run under `valgrind --tool=callgrind` with `node --predictable` at two
 *       send counts with the same users and divide the difference of the totals by the difference
 *       of the counts (setup cancels; the command is in docs/measurements.md)
 *   SIGLOAD_MEASURE_PROFILE=<file>: a V8 CPU profile of the timed sends
 *   SIGLOAD_MEASURE_ALLOCATIONS=<file>: a sampled allocation profile (.heapprofile, garbage included)
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { cpuSplitMs } from '../../src/harness/load/process-cpu.js';
import { measuredUserId, startSendsFixture } from './sends-fixture.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const sends = Number(positional[0] ?? 20_000);
const users = Number(positional[1] ?? 50);
const devicesPerUser = Number(positional[2] ?? 1);
const userId = measuredUserId;

const { server, business } = await startSendsFixture({ users, devicesPerUser });

const path = `/v23.0/${business.pnid}/messages`;
const headers = { authorization: `Bearer ${business.token}`, 'content-type': 'application/json', host: '127.0.0.1' };
let n = 0;
let failures = 0;

/** One send through the server's handler, as node:http would deliver it; resolves at `end()`. */
function send(): Promise<void> {
  const body = Buffer.from(JSON.stringify({ messaging_product: 'whatsapp', to: userId(n++ % users), type: 'text', text: { body: 'your order shipped' } }));
  const request = new IncomingMessage(new Socket());
  request.method = 'POST';
  request.url = path;
  request.headers = { ...headers, 'content-length': String(body.length) };
  const response = new ServerResponse(request);
  const done = new Promise<void>((resolve) => {
    const end = response.end.bind(response);
    response.end = ((...args: Parameters<typeof end>) => {
      const out = end(...args);
      if (response.statusCode !== 200) failures++;
      resolve();
      return out;
    }) as typeof response.end;
  });
  server.httpServer.emit('request', request, response);
  request.push(body);
  request.push(null);
  return done;
}

async function sendMany(count: number): Promise<void> {
  // Ten in flight, as ten keep-alive connections would have.
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await send();
    }
  };
  await Promise.all(Array.from({ length: 10 }, lane));
}

const warmUp = Number(process.argv.find((a) => a.startsWith('--warm-up='))?.slice(10) ?? Math.min(5_000, sends));
await sendMany(warmUp); // the JIT has optimised the path
const profilePath = process.env['SIGLOAD_MEASURE_PROFILE'];
let session: import('node:inspector/promises').Session | undefined;
const allocationPath = process.env['SIGLOAD_MEASURE_ALLOCATIONS'];
if (profilePath !== undefined || allocationPath !== undefined) {
  const { Session } = await import('node:inspector/promises');
  session = new Session();
  session.connect();
  if (profilePath !== undefined) {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  } else {
    // Every allocation sampled, garbage included: what the scavenger has to deal with.
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
}
/** CPU ms of this process's main thread (the event loop) so far. */
const mainThreadMs = (): number => {
  const { userMs, systemMs } = cpuSplitMs(`/proc/self/task/${process.pid}/stat`);
  return userMs + systemMs;
};
const mainBefore = mainThreadMs();
const cpuBefore = process.cpuUsage();
const wallBefore = process.hrtime.bigint();
await sendMany(sends);
const cpu = process.cpuUsage(cpuBefore);
const mainUs = (mainThreadMs() - mainBefore) * 1000;
const wallUs = Number(process.hrtime.bigint() - wallBefore) / 1000;
if (session !== undefined && profilePath !== undefined) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(profilePath, JSON.stringify(profile));
} else if (session !== undefined) {
  const { profile } = await session.post('HeapProfiler.stopSampling');
  writeFileSync(allocationPath!, JSON.stringify(profile));
}
process.stdout.write(
  `${JSON.stringify({ sends, users, devices_per_user: devicesPerUser, failures, cpu_us_per_send: (cpu.user + cpu.system) / sends, event_loop_cpu_us_per_send: mainUs / sends, user_us_per_send: cpu.user / sends, wall_us_per_send: wallUs / sends })}\n`,
);
await server.close();
