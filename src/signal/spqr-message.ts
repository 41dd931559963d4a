/**
 * The serialized SPQR V1 message, carried in SignalMessage field 5 (spqr.md §4.2):
 *
 *   u8 version = 0x01 ‖ varint epoch (u64, ≥ 1) ‖ varint index (u32) ‖ u8 type
 *   ‖ [types Hdr, Ek, EkCt1Ack, Ct1, Ct2: varint chunkIndex (≤ 65535) ‖ chunk(32)]
 *   ‖ anything (ignored: reserved for later versions)
 *
 * Varints are LEB128 of at most 10 bytes. An empty field is SPQR version 0; spqr 1.6.0
 * (libsignal 0.103) refuses a version byte above 1, as this codec does.
 */
import { SignalError } from './errors.js';
import { CHUNK_BYTES } from './erasure-code.js';

export const SPQR_VERSION = 1;

export const MessageType = {
  None: 0,
  Hdr: 1,
  Ek: 2,
  EkCt1Ack: 3,
  Ct1Ack: 4,
  Ct1: 5,
  Ct2: 6,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface Chunk {
  /** 0..65535 */
  index: number;
  data: Uint8Array;
}

export interface SpqrMessage {
  epoch: number;
  /** Chain key index; 0 only as (epoch 1, index 0) = no key. */
  index: number;
  type: MessageType;
  /** Present exactly for Hdr, Ek, EkCt1Ack, Ct1, Ct2. */
  chunk?: Chunk;
}

export function carriesChunk(type: MessageType): boolean {
  return type !== MessageType.None && type !== MessageType.Ct1Ack;
}

function invalid(detail: string): never {
  throw new SignalError('spqr-invalid-message', detail);
}

function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

export function encodeSpqrMessage(m: SpqrMessage): Uint8Array {
  const chunk = m.chunk;
  const length = 2 + varintLength(m.epoch) + varintLength(m.index) + (chunk ? varintLength(chunk.index) + CHUNK_BYTES : 0);
  const out = new Uint8Array(length);
  out[0] = SPQR_VERSION;
  let at = writeVarint(out, 1, m.epoch);
  at = writeVarint(out, at, m.index);
  out[at++] = m.type;
  if (chunk) {
    at = writeVarint(out, at, chunk.index);
    out.set(chunk.data, at);
  }
  return out;
}

/**
 * Parse a non-empty field 5. Throws 'spqr-minimum-version' for version 0,
 * 'spqr-version-mismatch' above 1, 'spqr-invalid-message' when malformed.
 * The chunk is a view into `bytes`.
 */
export function decodeSpqrMessage(bytes: Uint8Array): SpqrMessage {
  const version = bytes[0];
  if (version === undefined || version === 0) throw new SignalError('spqr-minimum-version', 'SPQR version 0');
  if (version > SPQR_VERSION) throw new SignalError('spqr-version-mismatch', `SPQR version ${version}`);
  let pos = 1;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = bytes[pos++];
      if (b === undefined) invalid('truncated varint');
      if (i === 9 && b > 1) invalid('varint exceeds 64 bits');
      value += (b & 0x7f) * scale; // exact up to 2^53; larger values are far out of every range
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    return invalid('varint longer than 10 bytes');
  };
  const epoch = varint();
  if (epoch < 1) invalid('epoch 0');
  const index = varint();
  if (index > 0xffffffff) invalid('index exceeds 32 bits');
  const type = bytes[pos++];
  if (type === undefined) invalid('missing type');
  if (type > MessageType.Ct2) invalid(`unknown type ${type}`);
  const message: SpqrMessage = { epoch, index, type: type as MessageType };
  if (carriesChunk(type as MessageType)) {
    const chunkIndex = varint();
    if (chunkIndex > 0xffff) invalid('chunk index exceeds 16 bits');
    if (bytes.length - pos < CHUNK_BYTES) invalid('truncated chunk');
    message.chunk = { index: chunkIndex, data: bytes.subarray(pos, pos + CHUNK_BYTES) };
  }
  return message;
}
