/**
 * Compact, versioned binary form of a session record for storage at rest.
 * Keys are stored raw at fixed widths, numbers as LEB128 varints:
 *
 *   record   = format(1)=0x02 ‖ hasCurrent(1) ‖ stateCount(1) ‖ state × stateCount   (current first)
 *   state    = version(1) ‖ flags(1: bit0 pending, bit1 pending one-time prekey id, bit2 SPQR)
 *              ‖ localIK(32) ‖ remoteIK(32) ‖ v:localRegId ‖ v:remoteRegId ‖ rootKey(32)
 *              ‖ v:previousCounter ‖ aliceBaseKey(32)
 *              ‖ senderRatchetPub(32) ‖ senderRatchetPriv(32) ‖ senderChainKey(32) ‖ v:senderIndex
 *              ‖ receiverCount(1) ‖ receiver × receiverCount
 *              ‖ [pending: [v:preKeyId] ‖ v:signedPreKeyId ‖ v:kyberPreKeyId ‖ kyberCiphertext(1568)]
 *              ‖ [SPQR: spqr-serialization.ts]
 *   receiver = ratchetKey(32) ‖ chainKey(32) ‖ v:index ‖ v:skippedCount ‖ (v:counter ‖ seed(32)) × skippedCount
 *
 * Format 1 (written before SPQR) is the same without bit 2: its states load without SPQR, which
 * decrypt but cannot encrypt (libsignal ≥ 0.100 counts them unusable; the caller starts a new
 * session: SessionRecord.hasCurrentSession() is false for them).
 *
 * An established session with one receiving chain is about 300 bytes plus its SPQR state
 * (0.4 KB between ML-KEM exchanges, up to about 5 KB while a key or ciphertext is in flight).
 */
import { SignalError } from './errors.js';
import { ByteReader, ByteWriter } from './record-codec.js';
import { readSpqrState, writeSpqrState } from './spqr-serialization.js';
import {
  MAX_MESSAGE_KEYS,
  MAX_RECEIVER_CHAINS,
  SessionState,
  type PendingPreKey,
  type ReceiverChainInit,
  type SessionStateInit,
} from './session-state.js';

export const SESSION_FORMAT_VERSION = 2;
/** Records written before SPQR: read, never written. */
const PRE_SPQR_FORMAT_VERSION = 1;
const PENDING = 1;
const PENDING_ONE_TIME = 2;
const HAS_SPQR = 4;
/** Archived states kept per record (libsignal keeps 40; 10 bounds a record to a few KiB). */
export const MAX_ARCHIVED_STATES = 10;
const KYBER_CIPHERTEXT_RAW = 1568;

function writeState(w: ByteWriter, s: SessionState): void {
  const pending = s.pending;
  w.u8(s.version);
  w.u8((pending ? PENDING : 0) | (pending?.preKeyId !== undefined ? PENDING_ONE_TIME : 0) | (s.spqr ? HAS_SPQR : 0));
  w.fixed(s.localIdentityKey.subarray(1), 32);
  w.fixed(s.remoteIdentityKey.subarray(1), 32);
  w.varint(s.localRegistrationId);
  w.varint(s.remoteRegistrationId);
  w.fixed(s.rootKey, 32);
  w.varint(s.previousCounter);
  w.fixed(s.aliceBaseKey, 32);
  w.fixed(s.senderRatchetKey.subarray(1), 32);
  w.fixed(s.senderRatchetPrivateKey, 32);
  w.fixed(s.senderChainKey, 32);
  w.varint(s.senderIndex);
  w.u8(s.receivers.length);
  s.receivers.forEach((r, i) => {
    w.fixed(s.receiverRatchetKey(i), 32);
    w.fixed(s.receiverChainKey(i), 32);
    w.varint(r.index);
    const skipped = r.skipped;
    w.varint(skipped?.size ?? 0);
    if (skipped !== undefined) {
      for (const [counter, seed] of skipped) {
        w.varint(counter);
        w.fixed(seed, 32);
      }
    }
  });
  if (pending) {
    if (pending.preKeyId !== undefined) w.varint(pending.preKeyId);
    w.varint(pending.signedPreKeyId);
    w.varint(pending.kyberPreKeyId);
    w.fixed(pending.kyberCiphertext, KYBER_CIPHERTEXT_RAW);
  }
  if (s.spqr) writeSpqrState(w, s.spqr);
}

/** Keys the state copies into its packed array are read as views (no per-key allocation). */
function readState(r: ByteReader, format: number): SessionState {
  const version = r.u8();
  if (version !== 4) throw new SignalError('invalid-message', `session record: state version ${version}`);
  const flags = r.u8();
  const known = format === PRE_SPQR_FORMAT_VERSION ? PENDING | PENDING_ONE_TIME : PENDING | PENDING_ONE_TIME | HAS_SPQR;
  if ((flags & ~known) !== 0 || (flags & (PENDING | PENDING_ONE_TIME)) === PENDING_ONE_TIME) {
    throw new SignalError('invalid-message', 'session record: bad flags');
  }
  const localIdentityKey = r.view(32);
  const remoteIdentityKey = r.view(32);
  const localRegistrationId = r.varint();
  const remoteRegistrationId = r.varint();
  const rootKey = r.view(32);
  const previousCounter = r.varint();
  const aliceBaseKey = r.view(32);
  const senderRatchetKey = r.view(32);
  const senderRatchetPrivateKey = r.fixed(32);
  const senderChainKey = r.view(32);
  const senderIndex = r.varint();
  const receiverCount = r.u8();
  if (receiverCount > MAX_RECEIVER_CHAINS) throw new SignalError('invalid-message', 'session record: too many receiver chains');
  const receivers: ReceiverChainInit[] = [];
  for (let i = 0; i < receiverCount; i++) {
    const ratchetKey = r.view(32);
    const chainKey = r.view(32);
    const index = r.varint();
    const count = r.varint();
    if (count > MAX_MESSAGE_KEYS) throw new SignalError('invalid-message', 'session record: too many skipped keys');
    let skipped: Map<number, Uint8Array> | undefined;
    for (let k = 0; k < count; k++) {
      const counter = r.varint();
      skipped ??= new Map();
      if (counter >= index || skipped.has(counter)) throw new SignalError('invalid-message', 'session record: bad skipped key');
      skipped.set(counter, r.fixed(32));
    }
    receivers.push(skipped === undefined ? { ratchetKey, chainKey, index } : { ratchetKey, chainKey, index, skipped });
  }
  let pending: PendingPreKey | undefined;
  if (flags & PENDING) {
    const preKeyId = flags & PENDING_ONE_TIME ? r.varint() : undefined;
    pending = { signedPreKeyId: r.varint(), kyberPreKeyId: r.varint(), kyberCiphertext: r.fixed(KYBER_CIPHERTEXT_RAW) };
    if (preKeyId !== undefined) pending.preKeyId = preKeyId;
  }
  const init: SessionStateInit = {
    version,
    localIdentityKey,
    remoteIdentityKey,
    localRegistrationId,
    remoteRegistrationId,
    rootKey,
    previousCounter,
    aliceBaseKey,
    senderRatchetKey,
    senderRatchetPrivateKey,
    senderChainKey,
    senderIndex,
    receivers,
  };
  if (pending) init.pending = pending;
  if (flags & HAS_SPQR) init.spqr = readSpqrState(r);
  return new SessionState(init);
}

export function encodeSessionStates(current: SessionState | undefined, previous: readonly SessionState[]): Uint8Array {
  const w = new ByteWriter();
  w.u8(SESSION_FORMAT_VERSION);
  w.u8(current ? 1 : 0);
  w.u8((current ? 1 : 0) + previous.length);
  if (current) writeState(w, current);
  for (const s of previous) writeState(w, s);
  return w.result();
}

/** Throws SignalError('invalid-message') on anything malformed. */
export function decodeSessionStates(bytes: Uint8Array): { current: SessionState | undefined; previous: SessionState[] } {
  const r = new ByteReader(bytes);
  const format = r.u8();
  if (format !== SESSION_FORMAT_VERSION && format !== PRE_SPQR_FORMAT_VERSION) throw new SignalError('invalid-message', 'session record: unknown format');
  const hasCurrent = r.u8();
  const count = r.u8();
  if (hasCurrent > 1 || count < hasCurrent || count - hasCurrent > MAX_ARCHIVED_STATES) {
    throw new SignalError('invalid-message', 'session record: bad header');
  }
  const states: SessionState[] = [];
  for (let i = 0; i < count; i++) states.push(readState(r, format));
  if (!r.done) throw new SignalError('invalid-message', 'session record: trailing bytes');
  return hasCurrent ? { current: states[0], previous: states.slice(1) } : { current: undefined, previous: states };
}
