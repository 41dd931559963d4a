/**
 * The retention suite's measurements, run in a child process started with `--expose-gc` and a
 * large heap (bench/retention.ts spawns it): a fresh heap, no garbage from other suites, and
 * `global.gc()` before every heap reading and every timed sweep.
 *
 * Input: one JSON argument (a RetentionJob). Output: JSON lines on stdout, each a
 * RetentionChildMessage. Exits non-zero on error (after an `error` line).
 */
import type { BackendName } from '../src/crypto/backend.js';
import { getBackend } from '../src/crypto/index.js';
import type { Clock } from '../src/server/clock.js';
import { retentionSweep } from '../src/server/retention.js';
import { MemoryStore } from '../src/store/memory/index.js';
import type { MessageRecord } from '../src/store/store.js';
import { SessionRecord } from '../src/signal/index.js';
import { DAY_MS, HOUR_MS, START_MS, USERS, spreadMessage, storeWithBusiness, waIds } from './retention-store.js';
import { parseSlowdown, slowdownFor, SLOWDOWN_ENV } from '../src/harness/suite/slowdown.js';
import { createDevice, establishSession, plaintextOf } from '../src/harness/device/signal-device.js';

export type RetentionJob =
  | { kind: 'sweep'; total: number; expired: number; repetitions: number; id: string }
  | { kind: 'heap-messages'; count: number; repetitions: number; id: string }
  | { kind: 'heap-sessions'; count: number; repetitions: number; backend: BackendName; recordId: string; serializedId: string };

export type RetentionChildMessage =
  | { type: 'progress'; fraction: number; label: string }
  | { type: 'samples'; id: string; samples: number[]; params: Record<string, string | number | boolean> }
  | { type: 'check'; id: string; passed: boolean; detail: string }
  | { type: 'error'; message: string };

const RETENTION_MS = 30 * DAY_MS;
/** Expired messages are spread over the first 6 hours; the cutoff falls on a bucket boundary. */
const EXPIRED_SPAN_MS = 6 * HOUR_MS;
const APPEND_BATCH = 100_000;
const SWEEPS_PER_SAMPLE = 5;

/**
 * What a heap measurement holds on to. Module-level on purpose: a local that is never read again
 * is dead to V8's optimizing compiler, which may let gc() free it before the "after" reading.
 */
const retained: { value: unknown } = { value: undefined };

function emit(message: RetentionChildMessage): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function gc(times = 2): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('retention-child needs node --expose-gc');
  for (let i = 0; i < times; i++) collect();
}

/** Heap plus array-buffer bytes after full collections (backing stores are freed concurrently: wait for them). */
async function heapBytes(): Promise<number> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 25));
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}



async function appendAll(store: MemoryStore, count: number, make: (i: number) => MessageRecord): Promise<void> {
  for (let from = 0; from < count; from += APPEND_BATCH) {
    const batch: MessageRecord[] = [];
    for (let i = from; i < Math.min(count, from + APPEND_BATCH); i++) batch.push(make(i));
    await store.appendMessages(batch);
  }
}

async function sweepJob(job: Extract<RetentionJob, { kind: 'sweep' }>): Promise<void> {
  const { total, expired } = job;
  if (!(expired > 0 && expired < total)) throw new Error(`sweep: expired ${expired} must be in 1..total-1 (${total})`);
  const sealed = new Uint8Array(188); // shared payload: the sweep never reads it
  const store = await storeWithBusiness();
  emit({ type: 'progress', fraction: 0, label: `building a store of ${total.toExponential(0)} messages` });
  // Expired: [START, START + 6 h). Kept: [START + 6 h, START + 6 h + 29 days), all within retention.
  const expiredRecords = Array.from({ length: expired }, (_, i) => spreadMessage(i, expired, START_MS, EXPIRED_SPAN_MS, sealed));
  await store.appendMessages(expiredRecords);
  const kept = total - expired;
  await appendAll(store, kept, (i) => spreadMessage(i, kept, START_MS + EXPIRED_SPAN_MS, 29 * DAY_MS, sealed));
  // now − 30 days + 1 = START + 6 h: the cutoff is the first kept message's time (kept: not before the cutoff)
  const nowMs = START_MS + EXPIRED_SPAN_MS + RETENTION_MS - 1;
  const clock: Clock = { now: () => nowMs };
  const slowdown = slowdownFor(job.id, parseSlowdown(process.env[SLOWDOWN_ENV]));
  const samples: number[] = [];
  const deletedCounts: number[] = [];
  const durations: number[] = [];
  // Repetition -1 is a discarded warm-up (first-call compilation of the sweep path). A sweep
  // takes well under a millisecond, so one preemption of this process (or a collection of
  // someone else's garbage) can stretch it a hundredfold: each repetition times SWEEPS_PER_SAMPLE
  // sweeps (the same expired messages appended again, untimed, before each) and reports the
  // median of them.
  for (let rep = -1; rep < job.repetitions; rep++) {
    emit({ type: 'progress', fraction: 0.5 + (0.5 * Math.max(0, rep)) / job.repetitions, label: `sweeping ${expired} of ${total.toExponential(0)}, repetition ${rep + 1}` });
    gc(1); // no major collection inside the timed sweeps (one is enough: this is not a heap reading)
    const times: number[] = [];
    for (let k = 0; k < SWEEPS_PER_SAMPLE; k++) {
      if (rep > -1 || k > 0) await store.appendMessages(expiredRecords);
      const start = process.hrtime.bigint();
      const result = await retentionSweep(store, clock);
      slowdown.extend(start);
      times.push(Number(process.hrtime.bigint() - start) / 1e9);
      deletedCounts.push(result.messages_deleted);
    }
    if (rep < 0) continue;
    const seconds = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    durations.push(seconds * 1000);
    samples.push(expired / seconds);
  }
  const exact = deletedCounts.every((d) => d === expired);
  emit({
    type: 'check',
    id: `retention/sweep/deletes-exactly-expired/total=${total}`,
    passed: exact,
    detail: exact ? `every sweep deleted exactly the ${expired} expired messages` : `deleted ${deletedCounts.join(', ')} instead of ${expired}`,
  });
  emit({
    type: 'samples',
    id: job.id,
    samples,
    params: {
      store: 'memory',
      total_messages: total,
      expired_messages: expired,
      users: USERS,
      cutoff: 'on a bucket boundary',
      sweeps_per_sample: SWEEPS_PER_SAMPLE,
      statistic: 'median sweep of each repetition',
      duration_ms_median: durations.sort((a, b) => a - b)[Math.floor(durations.length / 2)]!,
      goal: '>= 1e6 expired msgs/s',
    },
  });
}

async function heapMessagesJob(job: Extract<RetentionJob, { kind: 'heap-messages' }>): Promise<void> {
  const samples: number[] = [];
  // Repetition -1 is a discarded warm-up (first-use allocations of the store and the runtime).
  for (let rep = -1; rep < job.repetitions; rep++) {
    emit({ type: 'progress', fraction: Math.max(0, rep) / job.repetitions, label: `heap per message: ${job.count.toExponential(0)} messages, repetition ${rep + 1}` });
    retained.value = undefined;
    retained.value = await storeWithBusiness();
    const before = await heapBytes();
    // Each message has its own wamid and its own sealed payload: 160 B body + 12 B nonce + 16 B tag.
    await appendAll(retained.value as MemoryStore, job.count, (i) => spreadMessage(i, job.count, START_MS, 29 * DAY_MS, new Uint8Array(188)));
    const after = await heapBytes();
    if (rep >= 0) samples.push((after - before) / job.count);
    retained.value = undefined;
  }
  emit({ type: 'samples', id: job.id, samples, params: { store: 'memory', messages: job.count, sealed_bytes: 188, measure: 'heapUsed + arrayBuffers after gc' } });
}

function fillRecords(count: number, templates: readonly Uint8Array[]): void {
  const records = new Map<string, SessionRecord>();
  for (let i = 0; i < count; i++) records.set(`${waIds[i % USERS]}.${i}`, SessionRecord.deserialize(templates[i % templates.length]!));
  retained.value = records;
}

function fillSerialized(count: number, templates: readonly Uint8Array[]): void {
  const serialized = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) serialized.set(`${waIds[i % USERS]}.${i}`, templates[i % templates.length]!.slice());
  retained.value = serialized;
}

async function heapSessionsJob(job: Extract<RetentionJob, { kind: 'heap-sessions' }>): Promise<void> {
  const backend = getBackend(job.backend);
  const text = plaintextOf(160);
  // A few real established sessions (PQXDH + one round trip each); the rest are copies of them.
  const business = createDevice(backend, 1);
  const templates: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const device = createDevice(backend, 1, 0);
    templates.push(establishSession(backend, device, business, text).responder.serialize());
  }
  const recordSamples: number[] = [];
  const serializedSamples: number[] = [];
  // Repetition 0 is a discarded warm-up: the first pass also pays for lazily created internals.
  for (let rep = -1; rep < job.repetitions; rep++) {
    emit({ type: 'progress', fraction: Math.max(0, rep) / job.repetitions, label: `heap per session: ${job.count.toExponential(0)} sessions, repetition ${rep + 1}` });
    // Each structure is built by a function that leaves it only in `retained`: no local of this
    // frame refers to it, so it is alive exactly while it is measured.
    retained.value = undefined;
    let before = await heapBytes();
    fillRecords(job.count, templates);
    let after = await heapBytes();
    if (rep >= 0) recordSamples.push((after - before) / job.count);
    retained.value = undefined;
    before = await heapBytes();
    fillSerialized(job.count, templates);
    after = await heapBytes();
    if (rep >= 0) serializedSamples.push((after - before) / job.count);
    retained.value = undefined;
  }
  const params = { sessions: job.count, backend: job.backend, serialized_bytes: templates[0]!.length, keyed_by: 'device address string', goal: '<= 2048 bytes/session' };
  emit({ type: 'samples', id: job.recordId, samples: recordSamples, params: { ...params, form: 'live SessionRecord objects' } });
  emit({ type: 'samples', id: job.serializedId, samples: serializedSamples, params: { ...params, form: 'serialized bytes (as stored)' } });
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as RetentionJob;
  if (job.kind === 'sweep') await sweepJob(job);
  else if (job.kind === 'heap-messages') await heapMessagesJob(job);
  else if (job.kind === 'heap-sessions') await heapSessionsJob(job);
  else throw new Error(`unknown retention job ${JSON.stringify(job)}`);
}

main().catch((err: unknown) => {
  emit({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
});
