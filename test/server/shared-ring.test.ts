/**
 * The shared ring between the event loop and the session-crypto thread
 * (src/server/shared-ring.ts): records come out whole and in order across wrap-arounds, a full
 * ring refuses a write without changing anything, and records cross between threads with a
 * sleeping consumer woken and a waiting event loop told.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RingError, SharedRing } from '../../src/server/shared-ring.js';

function record(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

test('records come out whole and in order, across many wrap-arounds', () => {
  const ring = new SharedRing(256);
  const queued: Uint8Array[] = [];
  let written = 0;
  let read = 0;
  // Lengths 0..60 (unaligned ones included) written until full, then drained part way, 2,000 times.
  for (let step = 0; step < 2_000; step++) {
    for (;;) {
      const next = record(written, written % 61);
      if (!ring.tryWrite(next)) break;
      queued.push(next);
      written++;
    }
    const drain = 1 + (step % 3);
    for (let i = 0; i < drain && queued.length > 0; i++) {
      const out = ring.read();
      assert.ok(out !== undefined, 'a written record is readable');
      assert.deepEqual(new Uint8Array(out), queued.shift(), `record ${read}`);
      read++;
    }
  }
  for (let out = ring.read(); out !== undefined; out = ring.read()) assert.deepEqual(new Uint8Array(out), queued.shift());
  assert.equal(queued.length, 0);
  assert.equal(ring.read(), undefined, 'empty once drained');
  assert.ok(written > 4_000, `wrapped many times (${written} records through 256 bytes)`);
  assert.equal(ring.published(), written);
  assert.equal(ring.consumed(), written);
});

test('a full ring refuses a write and keeps what it holds; oversized records and bad capacities are errors', () => {
  const ring = new SharedRing(160);
  assert.ok(ring.tryWrite(record(1, 70)));
  assert.ok(ring.tryWrite(record(2, 60)));
  assert.equal(ring.tryWrite(record(3, 60)), false, 'no room for a third');
  assert.equal(ring.published(), 2, 'the refused write published nothing');
  assert.deepEqual(new Uint8Array(ring.read()!), record(1, 70));
  // Written at offset 0, this record would end exactly where the unread one starts: refused,
  // or the ring would look empty and lose it.
  assert.equal(ring.tryWrite(record(4, 70)), false, 'a record that would close the gap is refused');
  assert.ok(ring.tryWrite(record(3, 60)), 'room again once one is read (wrapping)');
  assert.deepEqual(new Uint8Array(ring.read()!), record(2, 60));
  assert.deepEqual(new Uint8Array(ring.read()!), record(3, 60));
  assert.throws(() => ring.tryWrite(new Uint8Array(ring.maxRecordBytes + 1)), RingError);
  assert.throws(() => new SharedRing(63), RingError);
  assert.throws(() => new SharedRing(130), RingError);
  assert.equal(ring.read(), undefined);
});

test('a read record is a copy: later writes do not change it', () => {
  const ring = new SharedRing(64);
  assert.ok(ring.tryWrite(record(9, 20)));
  const first = ring.read()!;
  for (let i = 0; i < 10; i++) {
    assert.ok(ring.tryWrite(record(100 + i, 20)));
    ring.read();
  }
  assert.deepEqual(new Uint8Array(first), record(9, 20));
});

test('records cross between threads: a sleeping thread is woken, the event loop is told of replies, closing ends the thread', { timeout: 30_000 }, async () => {
  const requests = new SharedRing(4096);
  const replies = new SharedRing(4096);
  // An echo thread that sleeps until woken (no polling) and answers each record reversed.
  const worker = new Worker(new URL('./ring-echo-thread.js', import.meta.url), { workerData: { requests: requests.shared, replies: replies.shared } });
  try {
    const got: Uint8Array[] = [];
    for (let round = 0; round < 200; round++) {
      const sent = record(round, 1 + (round % 300));
      // Let the thread fall asleep now and then, so both the woken and the busy path are taken.
      if (round % 50 === 0) await new Promise((r) => setTimeout(r, 20));
      assert.ok(requests.tryWrite(sent));
      for (;;) {
        const seen = replies.published();
        const reply = replies.read();
        if (reply !== undefined) {
          got.push(new Uint8Array(reply));
          break;
        }
        const waiting = replies.whenPublished(seen);
        if (waiting !== undefined) await waiting;
      }
      assert.deepEqual(got[round], sent.slice().reverse(), `round ${round}`);
    }
    assert.equal(got.length, 200);
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    requests.close();
    assert.equal(await exited, 0, 'the thread left its loop when the ring closed');
  } finally {
    await worker.terminate();
  }
});
