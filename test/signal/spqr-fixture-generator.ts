/**
 * Writes the frozen SPQR known-answer transcripts (spqr-fixture.ts) with libsignal 0.103:
 *   npm run build && node dist/test/signal/spqr-fixture-generator.js
 * Each libsignal message is encrypted twice from the same injected record (record injection,
 * spqr.md §12) to show it is reproducible; the replay test needs no libsignal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { getBackend } from '../../src/crypto/index.js';
import { LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import { SessionRecord, decryptMessage, encryptMessage } from '../../src/signal/index.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';
import { FIXTURE_NAMES, b64, fixturePath, type SpqrTranscript, type TranscriptStep } from './spqr-fixture.js';
import { seededBackend } from './seeded-backend.js';

const STEPS = 130;

async function generate(weInitiate: boolean, seed: number): Promise<SpqrTranscript> {
  const node = getBackend('node');
  const us = new SimulatedDevice(node, { name: 'us' });
  const them = await LibsignalDevice.create('them', 1, 1234);
  if (weInitiate) {
    us.processBundle(them.address, them.bundle());
    await them.decrypt(us.address, us.encrypt(them.address, new Uint8Array([1])));
    us.decrypt(them.address, await them.encrypt(us.address, new Uint8Array([2])));
  } else {
    await them.processBundle(us.address, us.bundle(true));
    us.decrypt(them.address, await them.encrypt(us.address, new Uint8Array([1])));
    await them.decrypt(us.address, us.encrypt(them.address, new Uint8Array([2])));
  }
  const ourRecord = us.record(them.address).serialize();
  const record = SessionRecord.deserialize(ourRecord);
  const backend = seededBackend(node, seed);
  const steps: TranscriptStep[] = [];
  for (let i = 0; i < STEPS; i++) {
    // The ek side sends four in a row at first (parity header chunks), then strict alternation.
    const ekSideSends = i < 4 || i % 2 === 0;
    const fromUs = ekSideSends === weInitiate;
    const plaintext = new TextEncoder().encode(`kat ${i}`);
    if (fromUs) {
      const ct = encryptMessage(backend, us.local, record, plaintext);
      await them.decrypt(us.address, ct);
      steps.push({ from: 'us', type: ct.type, body: b64(ct.body), plaintext: b64(plaintext) });
    } else {
      const before = (await them.sessionRecordBytes(us.address))!;
      const ct = await them.encrypt(us.address, plaintext);
      const after = (await them.sessionRecordBytes(us.address))!;
      await them.setSessionRecord(us.address, before);
      const again = await them.encrypt(us.address, plaintext);
      await them.setSessionRecord(us.address, after);
      const reproduced = Buffer.compare(Buffer.from(again.body), Buffer.from(ct.body)) === 0;
      decryptMessage(backend, us.local, record, ct);
      steps.push({ from: 'libsignal', type: ct.type, body: b64(ct.body), plaintext: b64(plaintext), reproduced });
    }
  }
  return {
    libsignal: '0.103.0',
    initiator: weInitiate ? 'us' : 'libsignal',
    seed,
    ourRecord: b64(ourRecord),
    steps,
    libsignalRecord: b64((await them.sessionRecordBytes(us.address))!),
  };
}

for (const [i, name] of FIXTURE_NAMES.entries()) {
  const transcript = await generate(i === 0, 0x5a17 + i);
  const path = fixturePath(name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(transcript, null, 0)}\n`);
  const reproduced = transcript.steps.filter((s) => s.reproduced).length;
  console.log(`${name}: ${transcript.steps.length} messages, ${reproduced} libsignal messages reproduced by record injection`);
}
