/**
 * Worker-pool suite (piscina 5, entry point workers/device-crypto.ts loaded as compiled JS).
 *
 * For each worker count n (from --workers, default 1..cores): a pool with minThreads =
 * maxThreads = n and an explicit idleTimeout, warmed first (threads started, devices and
 * sessions created, JIT warm) so startup never falls inside a timed round. Then per repetition:
 * - session setups per second: a round of tasks, each a batch of simulated devices doing full
 *   PQXDH setups with the business, all submitted at once (the queue stays full);
 * - messages per second: the same for 160-byte message streams on established sessions;
 * - queue wait: mean time a task waited for a thread (piscina's waitTime histogram) in the
 *   session-setup round.
 * Scaling efficiency = throughput(n) ÷ (n × throughput(1)), per repetition.
 * With one worker: per-message time against batch size (messages per task) and the round trip
 * of an empty task, i.e. the per-task overhead of the pool itself.
 * Anchor `pool-scaling-2-workers`: setups/s with 2 workers ÷ with 1.
 */
import { Piscina } from 'piscina';
import type { BackendName } from '../src/crypto/backend.js';
import type { DeviceCryptoResult, DeviceCryptoTask } from '../workers/device-crypto.js';
import { median } from '../src/harness/statistics/stats.js';
import type { Suite, SuiteContext, SuiteContextStatic } from '../src/harness/suite/suite.js';

const SUITE = 'pool';
const WORKER_FILE = new URL('../workers/device-crypto.js', import.meta.url).href;
/** Idle threads stay alive for the whole suite (never thrash between rounds). */
const IDLE_TIMEOUT_MS = 60_000;
const NOOP_ROUND_TRIPS = 200;

function poolBackend(ctx: Pick<SuiteContextStatic, 'backends'>): BackendName {
  return ctx.backends.includes('node') ? 'node' : ctx.backends[0]!;
}

function tasksPerRound(ctx: SuiteContextStatic, workers: number): number {
  return Math.max(ctx.settings.pool.tasksPerRound, 2 * workers);
}

const ids = {
  setup: (b: BackendName, n: number) => `pool/session-setup/${b}/workers=${n}`,
  stream: (b: BackendName, n: number) => `pool/message-stream/160B/${b}/workers=${n}`,
  wait: (b: BackendName, n: number) => `pool/queue-wait/session-setup/${b}/workers=${n}`,
  efficiency: (b: BackendName, n: number) => `pool/scaling-efficiency/session-setup/${b}/workers=${n}`,
  perMessage: (b: BackendName, batch: number) => `pool/per-message-time/batch=${batch}/${b}/workers=1`,
  noop: () => 'pool/task-overhead/noop/workers=1',
};

function allIds(ctx: SuiteContextStatic): string[] {
  const b = poolBackend(ctx);
  const out: string[] = [];
  for (const n of ctx.workers) {
    out.push(ids.setup(b, n), ids.stream(b, n), ids.wait(b, n));
    if (n > 1 && ctx.workers.includes(1)) out.push(ids.efficiency(b, n));
  }
  for (const batch of ctx.settings.pool.overheadBatchSizes) out.push(ids.perMessage(b, batch));
  out.push(ids.noop());
  return out;
}

function createPool(workers: number): Piscina {
  return new Piscina({
    filename: WORKER_FILE,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: IDLE_TIMEOUT_MS,
    maxQueue: Infinity,
    concurrentTasksPerWorker: 1,
    recordTiming: true,
  });
}

/**
 * A pool whose threads have all run `warm` (`count` warm tasks at once). A pool whose threads
 * fail to load the worker module is destroyed and started once more: in a working tree where
 * dist/ is being recompiled, a module can be caught half-written.
 */
async function warmPool(ctx: SuiteContext, workers: number, warm: DeviceCryptoTask, count: number): Promise<Piscina> {
  for (let attempt = 0; ; attempt++) {
    const pool = createPool(workers);
    try {
      await Promise.all(Array.from({ length: count }, () => pool.run(warm)));
      return pool;
    } catch (err) {
      await pool.destroy();
      const loadFailure = /SyntaxError|ERR_MODULE_NOT_FOUND|does not provide an export|Unexpected status of a module/.test(String((err as Error).message));
      if (attempt > 0 || !loadFailure) throw err;
      ctx.log(`worker module failed to load (${(err as Error).message}); starting the pool once more`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function round(pool: Piscina, tasks: DeviceCryptoTask[]): Promise<{ operations: number; seconds: number; startNs: bigint }> {
  const startNs = process.hrtime.bigint();
  const results = (await Promise.all(tasks.map((t) => pool.run(t)))) as DeviceCryptoResult[];
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  return { operations: results.reduce((s, r) => s + r.operations, 0), seconds, startNs };
}

/** A timed round with the test-only slowdown applied to its timed region. */
async function timedRound(ctx: SuiteContext, id: string, pool: Piscina, tasks: DeviceCryptoTask[]): Promise<{ operations: number; seconds: number }> {
  const slowdown = ctx.slowdown(id);
  const r = await round(pool, tasks);
  if (slowdown.fraction > 0) {
    // stretch the measured region by the fraction (busy-wait in the timing thread)
    slowdown.extend(r.startNs);
    r.seconds = Number(process.hrtime.bigint() - r.startNs) / 1e9;
  }
  return r;
}

export const poolSuite: Suite = {
  id: SUITE,
  describe: 'piscina worker pool: session setups and message streams against worker count, scaling, per-task overhead, queue wait',
  benchmarkIds: allIds,
  estimateSeconds(ctx) {
    const p = ctx.settings.pool;
    const setupMs = poolBackend(ctx) === 'node' ? 10 : 40; // one session setup on one busy core, ms
    let seconds = 0;
    for (const n of ctx.workers) {
      const ops = tasksPerRound(ctx, n) * p.devicesPerTask;
      seconds += 0.4 + (ops * setupMs * 1.2) / 1000 / Math.min(n, ctx.cores); // startup + warm
      seconds += (ctx.repetitions * ops * (setupMs + p.messagesPerDevice * 0.5)) / 1000 / Math.min(n, ctx.cores);
    }
    const maxBatch = Math.max(...p.overheadBatchSizes);
    seconds += (ctx.repetitions * p.overheadBatchSizes.length * maxBatch * 4 * 0.3) / 1000 + 0.5;
    return seconds;
  },
  async run(ctx: SuiteContext) {
    const b = poolBackend(ctx);
    const p = ctx.settings.pool;
    const setupSamples = new Map<number, number[]>();
    const steps = ctx.workers.length + 1;

    for (const [wi, n] of ctx.workers.entries()) {
      if (ctx.signal.aborted) return;
      const wanted = [ids.setup(b, n), ids.stream(b, n), ids.wait(b, n), ids.efficiency(b, n)].some((id) => ctx.wants(id));
      if (!wanted) continue;
      ctx.progress(wi / steps, `${n} worker(s): starting and warming the pool`);
      if (n > ctx.cores) ctx.log(`${n} workers on ${ctx.cores} cores: oversubscribed, figures are for comparison only`);
      const startupStart = performance.now();
      // Warm: every thread starts, loads the module, creates its devices and sessions.
      const pool = await warmPool(ctx, n, { kind: 'warm', backend: b, devices: p.devicesPerTask }, 2 * n);
      const warmMs = performance.now() - startupStart;
      try {
        const taskCount = tasksPerRound(ctx, n);
        const setups: number[] = [];
        const messages: number[] = [];
        const waits: number[] = [];
        for (let rep = 0; rep < ctx.repetitions; rep++) {
          if (ctx.signal.aborted) break;
          ctx.progress((wi + (rep + 0.5) / ctx.repetitions) / steps, `${n} worker(s): repetition ${rep + 1}/${ctx.repetitions}`);
          pool.histogram.resetWaitTime();
          const s = await timedRound(ctx, ids.setup(b, n), pool, Array.from({ length: taskCount }, () => ({ kind: 'session-setup', backend: b, devices: p.devicesPerTask }) as DeviceCryptoTask));
          setups.push(s.operations / s.seconds);
          waits.push(pool.histogram.waitTime.mean);
          const m = await timedRound(ctx, ids.stream(b, n), pool, Array.from({ length: taskCount }, () => ({ kind: 'message-stream', backend: b, devices: p.devicesPerTask, messages: p.messagesPerDevice }) as DeviceCryptoTask));
          messages.push(m.operations / m.seconds);
        }
        if (setups.length === 0) continue;
        setupSamples.set(n, setups);
        const params = { backend: b, workers: n, cores: ctx.cores, devices_per_task: p.devicesPerTask, tasks_per_round: taskCount, warm_ms: Math.round(warmMs), idle_timeout_ms: IDLE_TIMEOUT_MS };
        ctx.record({ id: ids.setup(b, n), suite: SUITE, unit: 'setups/s', better: 'higher', params, samples: setups });
        ctx.record({ id: ids.stream(b, n), suite: SUITE, unit: 'msgs/s', better: 'higher', params: { ...params, messages_per_device: p.messagesPerDevice, plaintext_bytes: 160 }, samples: messages });
        ctx.record({ id: ids.wait(b, n), suite: SUITE, unit: 'ms', better: 'lower', params: { ...params, statistic: 'mean of piscina waitTime' }, samples: waits });
        const base = setupSamples.get(1);
        if (n > 1 && base) {
          const count = Math.min(base.length, setups.length);
          const efficiency = Array.from({ length: count }, (_, i) => setups[i]! / (n * base[i]!));
          ctx.record({ id: ids.efficiency(b, n), suite: SUITE, unit: 'ratio', better: 'higher', params: { backend: b, workers: n, definition: 'setups/s(n) / (n * setups/s(1)), paired by repetition' }, samples: efficiency });
        }
      } finally {
        await pool.destroy();
      }
    }

    const one = setupSamples.get(1);
    const two = setupSamples.get(2);
    if (one && two) {
      const ours = median(two);
      const theirs = median(one);
      ctx.anchor({ id: 'pool-scaling-2-workers', ratio: ours / theirs, ours, theirs, unit: 'setups/s', goal: { op: '>=', value: 1.8 } });
    }

    await overheadCurve(ctx, b, steps);
  },
};

/** One worker: time per message against messages per task, and the empty-task round trip. */
async function overheadCurve(ctx: SuiteContext, b: BackendName, steps: number): Promise<void> {
  const batches = ctx.settings.pool.overheadBatchSizes;
  const wantsCurve = batches.some((batch) => ctx.wants(ids.perMessage(b, batch)));
  if (!wantsCurve && !ctx.wants(ids.noop())) return;
  ctx.progress((steps - 1) / steps, '1 worker: per-task overhead');
  const pool = await warmPool(ctx, 1, { kind: 'warm', backend: b, devices: 1 }, 2);
  try {
    const maxBatch = Math.max(...batches);
    const totalMessages = maxBatch * 4;
    const perMessage = new Map<number, number[]>(batches.map((batch) => [batch, []]));
    const noop: number[] = [];
    for (let rep = 0; rep < ctx.repetitions; rep++) {
      if (ctx.signal.aborted) break;
      ctx.progress((steps - 1 + (rep + 0.5) / ctx.repetitions) / steps, `1 worker: per-task overhead, repetition ${rep + 1}/${ctx.repetitions}`);
      for (const batch of batches) {
        const id = ids.perMessage(b, batch);
        if (!ctx.wants(id)) continue;
        const tasks = Array.from({ length: Math.ceil(totalMessages / batch) }, () => ({ kind: 'message-stream', backend: b, devices: 1, messages: batch }) as DeviceCryptoTask);
        const r = await timedRound(ctx, id, pool, tasks);
        perMessage.get(batch)!.push((r.seconds * 1e6) / r.operations);
      }
      if (ctx.wants(ids.noop())) {
        const slowdown = ctx.slowdown(ids.noop());
        const start = process.hrtime.bigint();
        for (let i = 0; i < NOOP_ROUND_TRIPS; i++) await pool.run({ kind: 'noop', backend: b });
        slowdown.extend(start);
        noop.push(Number(process.hrtime.bigint() - start) / 1e3 / NOOP_ROUND_TRIPS);
      }
    }
    for (const batch of batches) {
      const samples = perMessage.get(batch)!;
      if (samples.length === 0) continue;
      ctx.record({ id: ids.perMessage(b, batch), suite: SUITE, unit: 'µs', better: 'lower', params: { backend: b, workers: 1, messages_per_task: batch, messages_per_round: totalMessages, plaintext_bytes: 160 }, samples });
    }
    if (noop.length > 0) {
      ctx.record({ id: ids.noop(), suite: SUITE, unit: 'µs', better: 'lower', params: { workers: 1, round_trips: NOOP_ROUND_TRIPS, sequential: true }, samples: noop });
    }
  } finally {
    await pool.destroy();
  }
}
