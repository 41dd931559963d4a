/**
 * What a business keeps per (business, device) session, sealed at rest as kind `session`: the
 * Signal session record and the one-time prekeys this business handed to that device and not
 * yet seen used. Shared by the event loop (signal-sessions.ts) and the session-crypto thread
 * (src/server/session-crypto-worker.ts).
 */
import { SessionRecord, type OneTimePreKeyRecord } from '../signal/index.js';
import { StoreError } from '../store/store.js';
import type { AtRest } from './at-rest.js';

/** One-time prekeys kept per device session slot; older ones (bundles never used) fall out. */
export const maxIssuedOneTimePreKeys = 8;

/**
 * What a session slot holds, sealed: the Signal session record and the one-time prekeys this
 * business handed to that device and not yet seen used.
 *
 * Layout: `0x01 ‖ u32be record length ‖ record (SessionRecord.serialize(), empty when none) ‖
 * u8 count ‖ count × (u32be id ‖ 32-byte private key ‖ 33-byte public key)`.
 */
export interface SessionSlot {
  record: SessionRecord;
  issued: OneTimePreKeyRecord[];
}

const slotVersion = 0x01;

export function encodeSessionSlot(slot: SessionSlot): Uint8Array {
  const record = slot.record.serialize();
  const issued = slot.issued.slice(-maxIssuedOneTimePreKeys);
  const out = new Uint8Array(1 + 4 + record.length + 1 + issued.length * (4 + 32 + 33));
  const view = new DataView(out.buffer);
  out[0] = slotVersion;
  view.setUint32(1, record.length);
  out.set(record, 5);
  let at = 5 + record.length;
  out[at++] = issued.length;
  for (const k of issued) {
    view.setUint32(at, k.id);
    out.set(k.privateKey, at + 4);
    out.set(k.publicKey, at + 36);
    at += 69;
  }
  return out;
}

export function decodeSessionSlot(bytes: Uint8Array): SessionSlot {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 6 || bytes[0] !== slotVersion) throw new StoreError('corrupt', 'session slot: bad format');
  const recordLength = view.getUint32(1);
  if (5 + recordLength + 1 > bytes.length) throw new StoreError('corrupt', 'session slot: truncated');
  const record = recordLength === 0 ? SessionRecord.empty() : SessionRecord.deserialize(bytes.slice(5, 5 + recordLength));
  let at = 5 + recordLength;
  const count = bytes[at++]!;
  if (at + count * 69 !== bytes.length) throw new StoreError('corrupt', 'session slot: bad prekey list');
  const issued: OneTimePreKeyRecord[] = [];
  for (let i = 0; i < count; i++, at += 69) {
    issued.push({ id: view.getUint32(at), privateKey: bytes.slice(at + 4, at + 36), publicKey: bytes.slice(at + 36, at + 69) });
  }
  return { record, issued };
}


/** Byte equality of two sealed slots (is the stored slot the one this side wrote?). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
}

/** A slot sealed at rest (kind `session`, AAD-bound to its record key) under the business's data key. */
export function sealSessionSlot(atRest: AtRest, dataKey: Uint8Array, sessionKey: string, slot: SessionSlot): Uint8Array {
  return atRest.seal(dataKey, 'session', sessionKey, encodeSessionSlot(slot));
}

/** The slot in sealed bytes from the store; StoreError('corrupt') when they do not open or decode. */
export function openSessionSlot(atRest: AtRest, dataKey: Uint8Array, sessionKey: string, sealed: Uint8Array): SessionSlot {
  return decodeSessionSlot(atRest.open(dataKey, 'session', sessionKey, sealed));
}
