/**
 * Micro tasks for the Signal operations (src/signal) per backend, and libsignal-client 0.103.0
 * (the anchors) and 0.90.0 doing the same through the in-memory peer (src/harness/device/libsignal-peer.ts).
 *
 * - PQXDH initiator: processPreKeyBundle (bundle signature checks, 4 DH, Kyber encapsulate).
 * - PQXDH responder: decrypt of the first PreKey message on an empty record.
 * - session setup: bundle → first PreKey message → responder decrypt (the anchor's figure).
 * - message: encrypt + decrypt of 160 B on an established session, the direction alternating every
 *   call so whole SPQR epochs are averaged (the anchor's figure; libsignal's task alternates too).
 * - ratchet encrypt / decrypt on one chain; a DH ratchet turn (alternating directions).
 * - wire encode/decode, session state serialize/deserialize.
 *
 * Both sides of each comparison do the same protocol work: the same bundle shape (with a
 * one-time prekey), the same 160-byte plaintext, the same established-session state.
 */
import type { BackendName, CryptoBackend } from '../src/crypto/backend.js';
import { getBackend } from '../src/crypto/index.js';
import type { Anchor } from '../src/harness/result/result.js';
import type { LibsignalVersion } from '../src/harness/device/libsignal-peer.js';
import { decryptMessage, encryptMessage, processPreKeyBundle, SessionRecord, type Ciphertext } from '../src/signal/index.js';
import { decodePreKeySignalMessage, decodeSignalMessage, encodePreKeySignalMessage, encodeSignalMessage } from '../src/signal/index.js';
import { median } from '../src/harness/statistics/stats.js';
import type { MicroTask } from './micro-measure.js';
import { SPQR_RATE_IDS, spqrRateTasks } from './micro-spqr.js';
import { alternating, createDevice, establishSession, plaintextOf, setUpSession } from '../src/harness/device/signal-device.js';

const PER_BACKEND = [
  'signal/pqxdh/initiator',
  'signal/pqxdh/responder/160B',
  'signal/session-setup/160B',
  'signal/message/encrypt+decrypt/160B',
  'signal/ratchet/encrypt/160B',
  'signal/ratchet/decrypt/160B',
  'signal/ratchet/dh-turn/160B',
  'signal/wire/signal-message/encode/160B',
] as const;

const BACKEND_FREE = [
  'signal/wire/signal-message/decode/160B',
  'signal/wire/prekey-message/encode/160B',
  'signal/wire/prekey-message/decode/160B',
  'signal/session/serialize',
  'signal/session/deserialize',
] as const;

const LIBSIGNAL = ['libsignal/session-setup/160B', 'libsignal/message/encrypt+decrypt/160B'] as const;

export const MESSAGE_ID = (backend: BackendName): string => `signal/message/encrypt+decrypt/160B/${backend}`;
export const SETUP_ID = (backend: BackendName): string => `signal/session-setup/160B/${backend}`;

export function signalTaskIds(backends: readonly BackendName[]): string[] {
  return [...backends.flatMap((b) => PER_BACKEND.map((op) => `${op}/${b}`)), ...BACKEND_FREE, ...SPQR_RATE_IDS, ...LIBSIGNAL];
}

function backendTasks(backend: CryptoBackend): MicroTask[] {
  const b = backend;
  const name = backend.name;
  const params = { backend: name, plaintext_bytes: 160, one_time_prekey: true };
  const text = plaintextOf(160);
  const alice = createDevice(b, 1);
  const bob = createDevice(b, 1);
  const bundle = bob.bundle(true);

  // PQXDH responder input: one first message, decrypted on a fresh record each time.
  const fresh = SessionRecord.empty();
  processPreKeyBundle(b, alice.local, fresh, bundle);
  const firstMessage = encryptMessage(b, alice.local, fresh, text);

  // Established sessions (one per task so chains do not interfere).
  const stream = establishSession(b, alice, bob, text);
  const encryptOnly = establishSession(b, alice, bob, text);
  const decryptOnly = establishSession(b, alice, bob, text);
  const turns = establishSession(b, alice, bob, text);

  const DECRYPT_BATCH = 10;
  let pending: Ciphertext[] = [];

  // Wire encode input, from a real message (delivered, so the stream's chain stays in step).
  const sample = encryptMessage(b, alice.local, stream.initiator, text);
  decryptMessage(b, bob.local, stream.responder, sample);
  const decoded = decodeSignalMessage(sample.body);
  const macKey = new Uint8Array(32).fill(7);
  const macPrefix = new Uint8Array(66).fill(5);
  const parts = { ratchetKey: new Uint8Array([5, ...decoded.ratchetKey]), counter: decoded.counter, previousCounter: 0, ciphertext: decoded.ciphertext };

  return [
    {
      id: `signal/pqxdh/initiator/${name}`,
      fn: () => processPreKeyBundle(b, alice.local, SessionRecord.empty(), bundle),
      params,
    },
    {
      id: `signal/pqxdh/responder/160B/${name}`,
      fn: () => decryptMessage(b, bob.local, SessionRecord.empty(), firstMessage, bob.lookup),
      params,
    },
    {
      id: `signal/session-setup/160B/${name}`,
      fn: () => setUpSession(b, alice, bob, text, bundle),
      params,
    },
    {
      id: `signal/message/encrypt+decrypt/160B/${name}`,
      fn: alternating((forward) =>
        forward
          ? decryptMessage(b, bob.local, stream.responder, encryptMessage(b, alice.local, stream.initiator, text))
          : decryptMessage(b, alice.local, stream.initiator, encryptMessage(b, bob.local, stream.responder, text)),
      ),
      params,
    },
    {
      id: `signal/ratchet/encrypt/160B/${name}`,
      fn: () => encryptMessage(b, alice.local, encryptOnly.initiator, text),
      params,
    },
    {
      id: `signal/ratchet/decrypt/160B/${name}`,
      opsPerCall: DECRYPT_BATCH,
      // untimed: make the next batch of messages on the same chain
      beforeEach: () => {
        pending = [];
        for (let i = 0; i < DECRYPT_BATCH; i++) pending.push(encryptMessage(b, alice.local, decryptOnly.initiator, text));
      },
      fn: () => {
        for (const m of pending) decryptMessage(b, bob.local, decryptOnly.responder, m);
      },
      params,
    },
    {
      // one turn = a message in the other direction: encrypt with a new ratchet key, decrypt with a DH step
      id: `signal/ratchet/dh-turn/160B/${name}`,
      opsPerCall: 2,
      fn: () => {
        decryptMessage(b, bob.local, turns.responder, encryptMessage(b, alice.local, turns.initiator, text));
        decryptMessage(b, alice.local, turns.initiator, encryptMessage(b, bob.local, turns.responder, text));
      },
      params,
    },
    {
      id: `signal/wire/signal-message/encode/160B/${name}`,
      opsPerCall: 20,
      fn: () => {
        for (let i = 0; i < 20; i++) encodeSignalMessage(b, parts, macKey, macPrefix);
      },
      params: { ...params, includes: 'protobuf + HMAC-SHA256 MAC' },
    },
  ];
}

function backendFreeTasks(backend: CryptoBackend): MicroTask[] {
  const b = backend;
  const text = plaintextOf(160);
  const alice = createDevice(b, 1);
  const bob = createDevice(b, 1);
  const pair = establishSession(b, alice, bob, text);
  const whisper = encryptMessage(b, alice.local, pair.initiator, text).body;
  const fresh = SessionRecord.empty();
  processPreKeyBundle(b, alice.local, fresh, bob.bundle());
  const preKey = encryptMessage(b, alice.local, fresh, text).body;
  const pk = decodePreKeySignalMessage(preKey);
  const pkParts = {
    preKeyId: pk.preKeyId,
    baseKey: new Uint8Array([5, ...pk.baseKey]),
    identityKey: pk.identityKey,
    message: pk.message.serialized,
    registrationId: pk.registrationId,
    signedPreKeyId: pk.signedPreKeyId,
    kyberPreKeyId: pk.kyberPreKeyId,
    kyberCiphertext: pk.kyberCiphertext,
  };
  const serialized = pair.responder.serialize();
  const params = { plaintext_bytes: 160, session_bytes: serialized.length };
  const batch = (n: number, op: () => unknown) => () => {
    for (let i = 0; i < n; i++) op();
  };
  return [
    { id: 'signal/wire/signal-message/decode/160B', opsPerCall: 50, fn: batch(50, () => decodeSignalMessage(whisper)), params },
    { id: 'signal/wire/prekey-message/encode/160B', opsPerCall: 20, fn: batch(20, () => encodePreKeySignalMessage(pkParts)), params },
    { id: 'signal/wire/prekey-message/decode/160B', opsPerCall: 20, fn: batch(20, () => decodePreKeySignalMessage(preKey)), params },
    { id: 'signal/session/serialize', opsPerCall: 20, fn: batch(20, () => pair.responder.serialize()), params },
    { id: 'signal/session/deserialize', opsPerCall: 20, fn: batch(20, () => SessionRecord.deserialize(serialized)), params },
  ];
}

const LIBSIGNAL_VERSIONS: readonly LibsignalVersion[] = ['0.103.0', '0.90.0'];

/** libsignal-client 0.103.0 (ids `libsignal/…`, the anchors) and 0.90.0 (`libsignal-0.90/…`, for continuity). */
async function libsignalTasks(version: LibsignalVersion): Promise<MicroTask[]> {
  const { LibsignalDevice } = await import('../src/harness/device/libsignal-peer.js');
  const text = plaintextOf(160);
  const prefix = version === '0.103.0' ? 'libsignal' : 'libsignal-0.90';
  const params = { implementation: 'libsignal-client', version, stores: 'in-memory', plaintext_bytes: 160, one_time_prekey: true };
  // session setup: a fresh bundle (new one-time prekey, made untimed) per setup, as libsignal deletes used ones
  const a1 = await LibsignalDevice.create('alice', 1, undefined, version);
  const b1 = await LibsignalDevice.create('bob', 1, undefined, version);
  let bundle = b1.bundle({ oneTimePreKey: true });
  // established session for the message figure
  const a2 = await LibsignalDevice.create('alice2', 1, undefined, version);
  const b2 = await LibsignalDevice.create('bob2', 1, undefined, version);
  await a2.processBundle(b2.address, b2.bundle());
  await b2.decrypt(a2.address, await a2.encrypt(b2.address, text));
  await a2.decrypt(b2.address, await b2.encrypt(a2.address, text));
  return [
    {
      id: `${prefix}/session-setup/160B`,
      beforeEach: () => {
        bundle = b1.bundle({ oneTimePreKey: true });
      },
      fn: async () => {
        await a1.processBundle(b1.address, bundle);
        await b1.decrypt(a1.address, await a1.encrypt(b1.address, text));
      },
      params,
    },
    {
      id: `${prefix}/message/encrypt+decrypt/160B`,
      fn: alternating(async (forward) =>
        forward
          ? b2.decrypt(a2.address, await a2.encrypt(b2.address, text))
          : a2.decrypt(b2.address, await b2.encrypt(a2.address, text)),
      ),
      params,
    },
  ];
}

/** All Signal tasks for the selected backends, backend-free ones once, then libsignal's. */
export async function signalTasks(backends: readonly BackendName[]): Promise<MicroTask[]> {
  const tasks: MicroTask[] = [];
  for (const name of backends) tasks.push(...backendTasks(getBackend(name)));
  tasks.push(...backendFreeTasks(getBackend(backends.includes('node') ? 'node' : backends[0]!)));
  tasks.push(...spqrRateTasks());
  for (const version of LIBSIGNAL_VERSIONS) tasks.push(...(await libsignalTasks(version)));
  return tasks;
}

/** Anchors from the medians measured in this run (node backend, as the issue defines them). */
export function signalAnchors(samples: Map<string, number[]>): Anchor[] {
  const anchors: Anchor[] = [];
  const pairs: [string, string, string, number][] = [
    ['message-vs-libsignal', MESSAGE_ID('node'), 'libsignal/message/encrypt+decrypt/160B', 5],
    ['session-setup-vs-libsignal', SETUP_ID('node'), 'libsignal/session-setup/160B', 2],
  ];
  for (const [id, oursId, theirsId, goal] of pairs) {
    const ours = samples.get(oursId);
    const theirs = samples.get(theirsId);
    if (!ours?.length || !theirs?.length) continue;
    const o = median(ours);
    const t = median(theirs);
    anchors.push({ id, ratio: o / t, ours: o, theirs: t, unit: 'ops/s', goal: { op: '>=', value: goal } });
  }
  return anchors;
}
