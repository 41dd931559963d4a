/**
 * Retention suite: sweeps of the in-memory store (src/store/memory/ + retentionSweep from
 * src/server/retention.ts) at 10^5, 10^6 and, in ci/full, 10^7 stored messages with the same
 * number expired each time: expired messages swept per second and how the cost grows with the
 * total (anchor `sweep-growth-1e6-to-1e7`; in smoke/quick `sweep-growth-1e5-to-1e6` instead).
 * Heap bytes per stored message and per established session.
 *
 * Every measurement runs in a child process (bench/retention-child.ts) with `--expose-gc` and a
 * large heap, so heap readings see only what they measure and big stores do not crowd the runner.
 */
import { runJsonLinesChild } from './json-lines-child.js';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../src/crypto/backend.js';
import type { RetentionChildMessage, RetentionJob } from './retention-child.js';
import { median } from '../src/harness/statistics/stats.js';
import type { Suite, SuiteContext, SuiteContextStatic } from '../src/harness/suite/suite.js';

const SUITE = 'retention';
const CHILD = fileURLToPath(new URL('./retention-child.js', import.meta.url));

const exp = (n: number): string => `1e${Math.round(Math.log10(n))}`;
const ids = {
  sweep: (total: number, expired: number) => `retention/sweep/memory/total=${exp(total)}/expired=${expired}`,
  heapMessage: () => 'retention/heap-per-message/memory',
  heapSessionRecord: (b: BackendName) => `retention/heap-per-session/session-record/${b}`,
  heapSessionSerialized: (b: BackendName) => `retention/heap-per-session/serialized/${b}`,
};

function sessionBackend(ctx: Pick<SuiteContextStatic, 'backends'>): BackendName {
  return ctx.backends.includes('node') ? 'node' : ctx.backends[0]!;
}

function allIds(ctx: SuiteContextStatic): string[] {
  const r = ctx.settings.retention;
  const b = sessionBackend(ctx);
  return [...r.totals.map((t) => ids.sweep(t, r.expired)), ids.heapMessage(), ids.heapSessionRecord(b), ids.heapSessionSerialized(b)];
}

/** Heap for the child: enough for the largest store (measured ≈ 245 B RSS per message at 10^7). */
function heapLimitMb(ctx: SuiteContextStatic): number {
  const r = ctx.settings.retention;
  const largest = Math.max(...r.totals, r.heapMessages * 3, r.sessions * 10);
  return Math.min(16_384, Math.max(1024, Math.ceil((largest * 320) / 1e6) + 512));
}

async function runChild(ctx: SuiteContext, job: RetentionJob, span: [number, number], onMessage: (m: RetentionChildMessage) => void): Promise<void> {
  let error: string | undefined;
  const exit = await runJsonLinesChild<RetentionChildMessage>(process.execPath, ['--expose-gc', `--max-old-space-size=${heapLimitMb(ctx)}`, CHILD, JSON.stringify(job)], {
    signal: ctx.signal,
    onText: (line) => ctx.log(`child: ${line}`),
    onMessage: (message) => {
      if (message.type === 'progress') ctx.progress(span[0] + (span[1] - span[0]) * message.fraction, message.label);
      else if (message.type === 'error') error = message.message;
      else onMessage(message);
    },
  });
  if ((exit.code === 0 && !error) || ctx.signal.aborted) return;
  throw new Error(`retention child (${job.kind}) failed: ${error ?? `exit ${exit.code ?? exit.signal}`}${exit.stderr ? `\n${exit.stderr}` : ''}`);
}

/**
 * A child that dies while loading its modules (before any output) is started once more: in a
 * working tree where dist/ is being recompiled, a module can be caught half-written.
 */
async function runChildWithRetry(ctx: SuiteContext, job: RetentionJob, span: [number, number], onMessage: (m: RetentionChildMessage) => void): Promise<void> {
  let received = false;
  const relay = (m: RetentionChildMessage): void => {
    received = true;
    onMessage(m);
  };
  try {
    await runChild(ctx, job, span, relay);
  } catch (err) {
    const loadFailure = /SyntaxError|ERR_MODULE_NOT_FOUND|does not provide an export/.test((err as Error).message);
    if (received || !loadFailure || ctx.signal.aborted) throw err;
    ctx.log(`retention child (${job.kind}) failed to load its modules; starting it once more`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await runChild(ctx, job, span, onMessage);
  }
}

export const retentionSuite: Suite = {
  id: SUITE,
  describe: 'memory-store retention sweeps at 10^5..10^7 messages, heap bytes per message and per session',
  benchmarkIds: allIds,
  estimateSeconds(ctx) {
    const r = ctx.settings.retention;
    // building ≈ 1.5 µs per stored message; sweeps are short; heap runs rebuild per repetition
    const build = r.totals.filter((t) => ctx.wants(ids.sweep(t, r.expired))).reduce((s, t) => s + t * 3e-6 + ctx.repetitions * t * 2e-7 + 0.3, 0);
    const heapMessages = ctx.wants(ids.heapMessage()) ? ctx.repetitions * r.heapMessages * 2e-6 + 0.3 : 0;
    const heapSessions = ctx.repetitions * r.sessions * 6e-6 + 0.6;
    return build + heapMessages + heapSessions;
  },
  async run(ctx: SuiteContext) {
    const r = ctx.settings.retention;
    const b = sessionBackend(ctx);
    const jobs: RetentionJob[] = [];
    for (const total of r.totals) {
      const id = ids.sweep(total, r.expired);
      if (ctx.wants(id)) jobs.push({ kind: 'sweep', total, expired: r.expired, repetitions: ctx.repetitions, id });
    }
    if (ctx.wants(ids.heapMessage())) jobs.push({ kind: 'heap-messages', count: r.heapMessages, repetitions: ctx.repetitions, id: ids.heapMessage() });
    if (ctx.wants(ids.heapSessionRecord(b)) || ctx.wants(ids.heapSessionSerialized(b))) {
      jobs.push({ kind: 'heap-sessions', count: r.sessions, repetitions: ctx.repetitions, backend: b, recordId: ids.heapSessionRecord(b), serializedId: ids.heapSessionSerialized(b) });
    }

    const sweepSeconds = new Map<number, number[]>();
    const failures: string[] = [];
    for (const [index, job] of jobs.entries()) {
      if (ctx.signal.aborted) return;
      const span: [number, number] = [index / jobs.length, (index + 1) / jobs.length];
      try {
        await runChildWithRetry(ctx, job, span, (m) => {
          if (m.type === 'check') ctx.check({ id: m.id, passed: m.passed, detail: m.detail });
          if (m.type !== 'samples') return;
          const isSweep = m.id.startsWith('retention/sweep/');
          ctx.record({
            id: m.id,
            suite: SUITE,
            unit: isSweep ? 'msgs/s' : 'bytes',
            better: isSweep ? 'higher' : 'lower',
            params: m.params,
            samples: m.samples,
          });
          if (isSweep && job.kind === 'sweep') sweepSeconds.set(job.total, m.samples.map((rate) => job.expired / rate));
        });
      } catch (err) {
        // one failed measurement must not cost the others; the run still fails
        failures.push((err as Error).message);
        ctx.log((err as Error).message);
      }
    }

    // Growth of sweep time with the total, same number expired.
    const pairs: [number, number, string][] = [
      [1e6, 1e7, 'sweep-growth-1e6-to-1e7'],
      [1e5, 1e6, 'sweep-growth-1e5-to-1e6'],
    ];
    for (const [small, large, id] of pairs) {
      const s = sweepSeconds.get(small);
      const l = sweepSeconds.get(large);
      if (!s || !l) continue;
      const ours = median(l) * 1000;
      const theirs = median(s) * 1000;
      ctx.anchor({ id, ratio: ours / theirs, ours, theirs, unit: 'ms', goal: { op: '<=', value: 1.5 } });
      break; // the largest pair measured in this profile
    }
    if (failures.length > 0) throw new Error(failures.join('\n'));
  },
};
