/**
 * White-box against libsignal 0.103.0 (spqr.md §11–§12): after every message of a lockstep
 * transcript crossing three epochs (two of our messages lost), in both roles, libsignal's serialized SessionRecord is
 * decoded and its SPQR state compared with ours (libsignal-record.ts): chain keys and
 * next_root, authenticators, header and header MAC, chunks and parity chunks, encoder lanes,
 * decapsulation and ciphertext MAC. Every check must have applied at least once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.js';
import { LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';
import { compareAuthenticators, compareWithLibsignal, libsignalSpqr, noteAuthenticator, type WhiteBoxCheck } from './libsignal-record.js';

const ALL: WhiteBoxCheck[] = ['chain keys', 'next root', 'header', 'header MAC', 'chunks', 'parity chunks', 'encoder lanes', 'decapsulation and ct MAC'];

for (const weInitiate of [true, false]) {
  test(`our SPQR state equals libsignal 0.103's record, message by message (${weInitiate ? 'we initiate' : 'libsignal initiates'})`, async () => {
    const backend = getBackend('node');
    const us = new SimulatedDevice(backend, { name: 'us' });
    const them = await LibsignalDevice.create('them', 1);
    if (weInitiate) us.processBundle(them.address, them.bundle());
    else await them.processBundle(us.address, us.bundle(true));
    const ourAuth = new Map<string, string>();
    const theirAuth = new Map<string, string>();
    const applied = new Map<WhiteBoxCheck, number>();
    // The first side sends a few messages first (parity header chunks), then strict alternation.
    const schedule = [true, true, true, true, true, true];
    for (let i = 0; i < 270; i++) schedule.push(i % 2 === 1);
    let ourSends = 0;
    for (const firstSends of schedule) {
      const fromUs = firstSends === weInitiate;
      const plaintext = new Uint8Array([schedule.length & 0xff]);
      if (fromUs) {
        const ct = us.encrypt(them.address, plaintext);
        // Two of our chunks are lost: libsignal's decoder then holds parity chunks.
        if (++ourSends !== 12 && ourSends !== 13) await them.decrypt(us.address, ct);
      } else {
        const ct = await them.encrypt(us.address, plaintext);
        us.decrypt(them.address, ct);
      }
      const ours = us.record(them.address).current!.spqr!;
      noteAuthenticator(ourAuth, ours.braid.auth);
      const theirs = libsignalSpqr((await them.sessionRecordBytes(us.address))!);
      noteAuthenticator(theirAuth, theirs.auth);
      for (const c of compareWithLibsignal(backend, ours, theirs)) applied.set(c, (applied.get(c) ?? 0) + 1);
    }
    assert.ok(us.record(them.address).current!.spqr!.epoch >= 3, 'the transcript crossed epochs');
    assert.ok(compareAuthenticators(ourAuth, theirAuth) >= 3, 'authenticators of several epochs agree');
    for (const c of ALL) assert.ok((applied.get(c) ?? 0) > 0, `check "${c}" applied (${JSON.stringify([...applied])})`);
  });
}
