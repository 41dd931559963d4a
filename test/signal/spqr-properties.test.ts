/**
 * SPQR properties between two of our own peers (fast-check, fixed seed, bounded): random loss
 * and reordering never desynchronise the braid; and the noble and node backends, given the
 * same randomness, produce the same SPQR bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getBackend } from '../../src/crypto/index.js';
import { SpqrState } from '../../src/signal/spqr.js';
import { ByteWriter } from '../../src/signal/record-codec.js';
import { writeSpqrState } from '../../src/signal/spqr-serialization.js';
import { decodeSpqrMessage } from '../../src/signal/spqr-message.js';
import { seededBackend as seeded } from './seeded-backend.js';

function serialized(state: SpqrState): Uint8Array {
  const w = new ByteWriter();
  writeSpqrState(w, state);
  return w.result();
}

const AUTH_KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

type Step = { op: 'send'; from: 0 | 1; count: number } | { op: 'deliver'; to: 0 | 1; pick: number; drop: boolean };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('send' as const), from: fc.constantFrom(0 as const, 1 as const), count: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ op: fc.constant('deliver' as const), to: fc.constantFrom(0 as const, 1 as const), pick: fc.nat(1000), drop: fc.boolean() }),
);

test('random loss and reordering never desynchronise the braid (then lockstep completes an epoch)', () => {
  const backend = getBackend('node');
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 20, maxLength: 160 }), (steps) => {
      const peers = [SpqrState.start(backend, AUTH_KEY, true), SpqrState.start(backend, AUTH_KEY, false)];
      const inFlight: { message: Uint8Array; key: Uint8Array }[][] = [[], []];
      const receive = (to: 0 | 1, m: { message: Uint8Array; key: Uint8Array }) => {
        const r = peers[to]!.receive(backend, m.message);
        assert.deepEqual(r.key, m.key, 'both sides derive the same key');
        peers[to] = r.next;
      };
      for (const step of steps) {
        if (step.op === 'send') {
          for (let i = 0; i < step.count; i++) inFlight[1 - step.from]!.push(peers[step.from]!.send(backend));
        } else {
          const queue = inFlight[step.to]!;
          if (queue.length === 0) continue;
          const [m] = queue.splice(step.pick % queue.length, 1);
          // Delivered late messages may belong to an epoch no longer kept: that is the only refusal.
          if (!step.drop) {
            try {
              receive(step.to, m!);
            } catch (err) {
              assert.equal((err as { kind?: string }).kind, 'spqr-epoch-out-of-range', String(err));
            }
          }
        }
      }
      // Whatever happened, strict alternation from here completes two more epochs.
      const start = Math.min(peers[0]!.epoch, peers[1]!.epoch);
      let from: 0 | 1 = 0;
      for (let i = 0; Math.min(peers[0]!.epoch, peers[1]!.epoch) < start + 2; i++) {
        assert.ok(i < 400, `stuck at epochs ${peers[0]!.epoch}/${peers[1]!.epoch} (${peers[0]!.braid.kind}, ${peers[1]!.braid.kind})`);
        const to = (1 - from) as 0 | 1;
        receive(to, peers[from]!.send(backend));
        from = to;
      }
    }),
    { seed: 0x59a3, numRuns: 12 },
  );
});

test('the noble and node backends give the same SPQR bytes from the same randomness', () => {
  const transcripts = (['noble', 'node'] as const).map((name) => {
    const backend = seeded(getBackend(name), 0x1234);
    const peers = [SpqrState.start(backend, AUTH_KEY, true), SpqrState.start(backend, AUTH_KEY, false)];
    const out: Uint8Array[] = [];
    for (let i = 0; i < 220; i++) {
      const from = i % 2;
      const sent = peers[from]!.send(backend);
      out.push(sent.message, sent.key);
      const r = peers[1 - from]!.receive(backend, sent.message);
      peers[1 - from] = r.next;
    }
    out.push(serialized(peers[0]!), serialized(peers[1]!));
    return { out, epoch: decodeSpqrMessage(out.at(-4)!).epoch };
  });
  assert.ok(transcripts[0]!.epoch >= 3, `the transcript crosses epochs (reached ${transcripts[0]!.epoch})`);
  assert.equal(transcripts[0]!.out.length, transcripts[1]!.out.length);
  transcripts[0]!.out.forEach((bytes, i) => assert.deepEqual(bytes, transcripts[1]!.out[i], `item ${i}`));
});
