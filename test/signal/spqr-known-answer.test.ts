/**
 * Frozen known-answer transcripts with libsignal 0.103 (spqr-fixture.ts), replayed without
 * libsignal: from our recorded session record and seed, our messages come out byte-identical
 * to the ones libsignal accepted, libsignal's decrypt to the recorded plaintexts, and at the end
 * our SPQR state matches libsignal's frozen record (chain keys, next_root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.js';
import { IdentityKeyPair, SessionRecord, decryptMessage, encryptMessage } from '../../src/signal/index.js';
import { compareWithLibsignal, libsignalSpqr } from './libsignal-record.js';
import { FIXTURE_NAMES, readTranscript, unb64 } from './spqr-fixture.js';
import { seededBackend } from './seeded-backend.js';
import { decodeSpqrMessage } from '../../src/signal/spqr-message.js';
import { decodeSignalMessage } from '../../src/signal/wire.js';

for (const name of FIXTURE_NAMES) {
  for (const backendName of ['node', 'noble'] as const) {
    test(`known-answer transcript ${name} replays (${backendName})`, () => {
      const t = readTranscript(name);
      const backend = seededBackend(getBackend(backendName), t.seed);
      const local = { identity: IdentityKeyPair.generate(getBackend(backendName)), registrationId: 1 }; // unused after the handshake
      const record = SessionRecord.deserialize(unb64(t.ourRecord));
      let epochs = 0;
      for (const [i, step] of t.steps.entries()) {
        const plaintext = unb64(step.plaintext);
        if (step.from === 'us') {
          const ct = encryptMessage(backend, local, record, plaintext);
          assert.equal(Buffer.from(ct.body).toString('base64'), step.body, `our message ${i} is byte-identical`);
        } else {
          const out = decryptMessage(backend, local, record, { type: step.type, body: unb64(step.body) });
          assert.deepEqual(out.plaintext, plaintext, `libsignal's message ${i}`);
          epochs = Math.max(epochs, decodeSpqrMessage(decodeSignalMessage(unb64(step.body)).pqRatchet).epoch);
        }
      }
      assert.ok(epochs >= 2, 'the transcript crosses an epoch');
      assert.ok(t.steps.filter((s) => s.reproduced).length > 10, 'libsignal reproduced its messages under record injection');
      const checks = compareWithLibsignal(getBackend(backendName), record.current!.spqr!, libsignalSpqr(unb64(t.libsignalRecord)));
      assert.ok(checks.has('chain keys'), `white-box checks on the frozen record: ${[...checks].join(', ')}`);
    });
  }
}
