/**
 * SignalMessage and PreKeySignalMessage, byte-compatible with libsignal
 * (`wire.proto`, `protocol.rs`; signal-wire.md §2).
 *
 *   SignalMessage       = version ‖ protobuf{1 ratchet_key, 2 counter, 3 previous_counter, 4 ciphertext,
 *                                             5 pq_ratchet (the SPQR message; omitted when empty)} ‖ MAC[8]
 *   PreKeySignalMessage = version ‖ protobuf{1 pre_key_id?, 2 base_key, 3 identity_key, 4 message,
 *                                             5 registration_id, 6 signed_pre_key_id, 7 kyber_pre_key_id, 8 kyber_ciphertext}
 *
 * MAC = HMAC-SHA256(macKey, IK_sender(33) ‖ IK_receiver(33) ‖ version ‖ protobuf)[0..8]
 * (Double Ratchet §8.6 truncation), compared in constant time.
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { SignalError } from './errors.js';
import { EC_PUBLIC_KEY_LENGTH, KYBER_KEY_TYPE, parseEcPublicKey, parseKyber } from './keys.js';
import { ProtoWriter, readFields, type FieldSchema } from './protobuf.js';

export const CURRENT_VERSION = 4;
/** High nibble: message version; low nibble: the sender's highest version (libsignal writes 4). */
export const VERSION_BYTE = (CURRENT_VERSION << 4) | CURRENT_VERSION;
export const MAC_LENGTH = 8;
/** IK_sender(33) ‖ IK_receiver(33). */
export const MAC_PREFIX_LENGTH = 2 * EC_PUBLIC_KEY_LENGTH;
const EMPTY = new Uint8Array(0);

function checkVersionByte(byte: number | undefined): number {
  if (byte === undefined) throw new SignalError('invalid-message', 'empty message');
  const version = byte >>> 4;
  if (version < CURRENT_VERSION) throw new SignalError('legacy-version', `message version ${version}`);
  if (version > CURRENT_VERSION) throw new SignalError('invalid-message', `unknown message version ${version}`);
  return version;
}

// ---- SignalMessage --------------------------------------------------------

export interface SignalMessageParts {
  /** 33-byte serialized sender ratchet key. */
  ratchetKey: Uint8Array;
  counter: number;
  previousCounter: number;
  ciphertext: Uint8Array;
  /** Field 5: the serialized SPQR message (spqr-message.ts); omitted when absent or empty. */
  pqRatchet?: Uint8Array;
}

/** Encode and MAC a SignalMessage. `macPrefix` is IK_sender(33) ‖ IK_receiver(33). */
export function encodeSignalMessage(
  backend: CryptoBackend,
  parts: SignalMessageParts,
  macKey: Uint8Array,
  macPrefix: Uint8Array,
): Uint8Array {
  const head = MAC_PREFIX_LENGTH + 1;
  const pqRatchet = parts.pqRatchet ?? EMPTY;
  const w = new ProtoWriter(head + 56 + parts.ciphertext.length + pqRatchet.length + MAC_LENGTH, head);
  w.bytes(1, parts.ratchetKey).uint32(2, parts.counter).uint32(3, parts.previousCounter).bytes(4, parts.ciphertext);
  if (pqRatchet.length > 0) w.bytes(5, pqRatchet);
  const macEnd = w.length;
  const message = w.finish(MAC_LENGTH);
  message.set(macPrefix, 0);
  message[MAC_PREFIX_LENGTH] = VERSION_BYTE;
  const mac = backend.hmacSha256(macKey, message.subarray(0, macEnd));
  message.set(mac.subarray(0, MAC_LENGTH), macEnd);
  // a tight copy: callers may hand `.buffer` on (workers, sockets) without the MAC prefix
  return message.slice(MAC_PREFIX_LENGTH);
}

export interface DecodedSignalMessage {
  version: number;
  /** Raw 32-byte sender ratchet key (view into the message). */
  ratchetKey: Uint8Array;
  counter: number;
  /** Sent as the last counter of the previous chain (n−1); ignored on receipt, as libsignal does. */
  previousCounter: number;
  ciphertext: Uint8Array;
  /** Field 5 as received (empty when absent): the SPQR message, covered by the MAC. */
  pqRatchet: Uint8Array;
  /** The whole serialized message. */
  serialized: Uint8Array;
}

const SIGNAL_MESSAGE_SCHEMA: FieldSchema = [undefined, 'bytes', 'uint32', 'uint32', 'bytes', 'bytes', 'bytes'];

/** Parse without checking the MAC. Throws SignalError('invalid-message' | 'legacy-version' | 'invalid-key'). */
export function decodeSignalMessage(bytes: Uint8Array): DecodedSignalMessage {
  const version = checkVersionByte(bytes[0]);
  if (bytes.length < 1 + MAC_LENGTH) throw new SignalError('invalid-message', 'SignalMessage too short');
  const f = readFields(bytes, SIGNAL_MESSAGE_SCHEMA, 1, bytes.length - MAC_LENGTH);
  const ratchetKey = f[1] as Uint8Array | undefined;
  const counter = f[2] as number | undefined;
  const ciphertext = f[4] as Uint8Array | undefined;
  if (ratchetKey === undefined || counter === undefined || ciphertext === undefined) {
    throw new SignalError('invalid-message', 'SignalMessage missing a required field');
  }
  return {
    version,
    ratchetKey: parseEcPublicKey(ratchetKey, 'ratchet key'),
    counter,
    previousCounter: (f[3] as number | undefined) ?? 0,
    ciphertext,
    pqRatchet: (f[5] as Uint8Array | undefined) ?? EMPTY,
    serialized: bytes,
  };
}

/** Constant-time check of the trailing 8-byte MAC. */
export function verifySignalMessageMac(
  backend: CryptoBackend,
  message: DecodedSignalMessage,
  macKey: Uint8Array,
  macPrefix: Uint8Array,
): boolean {
  const bytes = message.serialized;
  const bodyLength = bytes.length - MAC_LENGTH;
  const input = new Uint8Array(MAC_PREFIX_LENGTH + bodyLength);
  input.set(macPrefix, 0);
  input.set(bytes.subarray(0, bodyLength), MAC_PREFIX_LENGTH);
  const mac = backend.hmacSha256(macKey, input);
  let diff = 0;
  for (let i = 0; i < MAC_LENGTH; i++) diff |= mac[i]! ^ bytes[bodyLength + i]!;
  return diff === 0;
}

// ---- PreKeySignalMessage ----------------------------------------------------

export interface PreKeySignalMessageParts {
  preKeyId?: number;
  /** 33-byte serialized base key. */
  baseKey: Uint8Array;
  /** 33-byte serialized sender identity key. */
  identityKey: Uint8Array;
  /** The complete serialized inner SignalMessage. */
  message: Uint8Array;
  registrationId: number;
  signedPreKeyId: number;
  kyberPreKeyId: number;
  /** Raw 1568-byte Kyber ciphertext (0x08 is added here). */
  kyberCiphertext: Uint8Array;
}

export function encodePreKeySignalMessage(parts: PreKeySignalMessageParts): Uint8Array {
  const w = new ProtoWriter(1 + 100 + parts.message.length + parts.kyberCiphertext.length + 8, 1);
  if (parts.preKeyId !== undefined) w.uint32(1, parts.preKeyId);
  w.bytes(2, parts.baseKey).bytes(3, parts.identityKey).bytes(4, parts.message);
  w.uint32(5, parts.registrationId).uint32(6, parts.signedPreKeyId).uint32(7, parts.kyberPreKeyId);
  // field 8 = 0x08 ‖ ciphertext, written without an intermediate copy
  const ct = parts.kyberCiphertext;
  const prefixed = new Uint8Array(ct.length + 1);
  prefixed[0] = KYBER_KEY_TYPE;
  prefixed.set(ct, 1);
  w.bytes(8, prefixed);
  const serialized = w.finish();
  serialized[0] = VERSION_BYTE;
  return serialized.byteOffset === 0 && serialized.byteLength === serialized.buffer.byteLength ? serialized : serialized.slice();
}

export interface DecodedPreKeySignalMessage {
  version: number;
  preKeyId?: number;
  /** Raw 32-byte base key (view). */
  baseKey: Uint8Array;
  /** 33-byte serialized sender identity key (view). */
  identityKey: Uint8Array;
  /** The inner SignalMessage, decoded (MAC not yet checked). */
  message: DecodedSignalMessage;
  registrationId: number;
  signedPreKeyId: number;
  kyberPreKeyId: number;
  /** Raw 1568-byte Kyber ciphertext (view). */
  kyberCiphertext: Uint8Array;
}

const PREKEY_MESSAGE_SCHEMA: FieldSchema = [
  undefined, 'uint32', 'bytes', 'bytes', 'bytes', 'uint32', 'uint32', 'uint32', 'bytes',
];

/** Parse a PreKeySignalMessage and its inner SignalMessage (no MAC check). */
export function decodePreKeySignalMessage(bytes: Uint8Array): DecodedPreKeySignalMessage {
  const version = checkVersionByte(bytes[0]);
  const f = readFields(bytes, PREKEY_MESSAGE_SCHEMA, 1);
  const baseKey = f[2] as Uint8Array | undefined;
  const identityKey = f[3] as Uint8Array | undefined;
  const inner = f[4] as Uint8Array | undefined;
  const signedPreKeyId = f[6] as number | undefined;
  const kyberPreKeyId = f[7] as number | undefined;
  const kyberCiphertext = f[8] as Uint8Array | undefined;
  if (baseKey === undefined || identityKey === undefined || inner === undefined || signedPreKeyId === undefined) {
    throw new SignalError('invalid-message', 'PreKeySignalMessage missing a required field');
  }
  // Fields 7 and 8 come together, and version 4 requires them (signal-wire.md §2).
  if (kyberPreKeyId === undefined || kyberCiphertext === undefined) {
    throw new SignalError('invalid-message', 'PreKeySignalMessage v4 without Kyber prekey id and ciphertext');
  }
  const message = decodeSignalMessage(inner);
  if (message.version !== version) throw new SignalError('invalid-message', 'inner message version differs');
  const decoded: DecodedPreKeySignalMessage = {
    version,
    baseKey: parseEcPublicKey(baseKey, 'base key'),
    identityKey,
    message,
    registrationId: (f[5] as number | undefined) ?? 0,
    signedPreKeyId,
    kyberPreKeyId,
    kyberCiphertext: parseKyber(kyberCiphertext, 'Kyber ciphertext'),
  };
  parseEcPublicKey(identityKey, 'identity key');
  const preKeyId = f[1] as number | undefined;
  if (preKeyId !== undefined) decoded.preKeyId = preKeyId;
  return decoded;
}
