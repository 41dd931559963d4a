/**
 * The ML-KEM braid (spqr.md §6; Signal spec "The ML-KEM Braid Protocol"): the eleven-state
 * machine that agrees one ML-KEM-768 secret per epoch, its payloads cut into erasure-coded
 * 32-byte chunks, one chunk (or none) per message.
 *
 * In each epoch one side is the ek sender (generates the key pair, sends hdr ‖ hdrMAC, then
 * the encapsulation key vector t̂) and the other the ct sender (encaps1 on the header → ct1,
 * encaps2 once t̂ arrives → ct2 ‖ ctMAC); the roles swap every epoch. The initiator starts
 * as ek sender in epoch 1 (`keys-unsampled`), the responder as ct sender (`no-header-received`).
 *
 * Receiving: a message of an older epoch is ignored; a newer one is `spqr-epoch-out-of-range`
 * except epoch + 1 in `ct2-sampled`; a type that does not fit the state is ignored.
 *
 * States are immutable values: `send` and `receive` return the next state (decoders are
 * cloned before a chunk is added), so a caller keeps the old one to roll back.
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { SignalError } from './errors.js';
import { ChunkDecoder, ChunkEncoder } from './erasure-code.js';
import {
  CT1_BYTES,
  CT2_BYTES,
  ENCAPSULATION_KEY_VECTOR_BYTES,
  HEADER_BYTES,
  decapsulate,
  encapsulateFirst,
  encapsulateSecond,
  encapsulationKeyMatchesHeader,
  generateBraidKeyPair,
} from './ml-kem-768-incremental.js';
import {
  MAC_BYTES,
  ciphertextMac,
  epochSecret,
  headerMac,
  macsEqual,
  updateAuthenticator,
  type Authenticator,
} from './spqr-authenticator.js';
import { MessageType, type Chunk } from './spqr-message.js';

/** hdr ‖ hdrMAC */
export const HEADER_PAYLOAD_BYTES = HEADER_BYTES + MAC_BYTES;
/** ct2 ‖ ctMAC */
export const CT2_PAYLOAD_BYTES = CT2_BYTES + MAC_BYTES;

interface Common {
  epoch: number;
  auth: Authenticator;
}

// ---- ek sender ----
export interface KeysUnsampled extends Common { kind: 'keys-unsampled' }
export interface KeysSampled extends Common {
  kind: 'keys-sampled';
  decapsulationKey: Uint8Array;
  encapsulationKeyVector: Uint8Array;
  /** hdr ‖ hdrMAC (96 B), sent as Hdr chunks. */
  headerPayload: Uint8Array;
  /** Next chunk counter (u32; the wire index is its low 16 bits). */
  next: number;
}
export interface HeaderSent extends Common {
  kind: 'header-sent';
  decapsulationKey: Uint8Array;
  encapsulationKeyVector: Uint8Array;
  next: number;
  ct1: ChunkDecoder;
}
export interface Ct1Received extends Common {
  kind: 'ct1-received';
  decapsulationKey: Uint8Array;
  encapsulationKeyVector: Uint8Array;
  next: number;
  ct1: Uint8Array;
}
export interface EkSentCt1Received extends Common {
  kind: 'ek-sent-ct1-received';
  decapsulationKey: Uint8Array;
  ct1: Uint8Array;
  ct2: ChunkDecoder;
}
// ---- ct sender ----
export interface NoHeaderReceived extends Common {
  kind: 'no-header-received';
  header: ChunkDecoder;
}
export interface HeaderReceived extends Common {
  kind: 'header-received';
  header: Uint8Array;
}
interface Encapsulating extends Common {
  header: Uint8Array;
  /** encaps1's (r̂, e2, m): secret. */
  encapsulationState: Uint8Array;
  ct1: Uint8Array;
}
export interface Ct1Sampled extends Encapsulating {
  kind: 'ct1-sampled';
  next: number;
  ek: ChunkDecoder;
}
export interface EkReceivedCt1Sampled extends Encapsulating {
  kind: 'ek-received-ct1-sampled';
  next: number;
  encapsulationKeyVector: Uint8Array;
}
export interface Ct1Acknowledged extends Encapsulating {
  kind: 'ct1-acknowledged';
  ek: ChunkDecoder;
}
export interface Ct2Sampled extends Common {
  kind: 'ct2-sampled';
  /** ct2 ‖ ctMAC (160 B), sent as Ct2 chunks. */
  ct2Payload: Uint8Array;
  next: number;
}

export type BraidState =
  | KeysUnsampled
  | KeysSampled
  | HeaderSent
  | Ct1Received
  | EkSentCt1Received
  | NoHeaderReceived
  | HeaderReceived
  | Ct1Sampled
  | EkReceivedCt1Sampled
  | Ct1Acknowledged
  | Ct2Sampled;

export type BraidStateKind = BraidState['kind'];

/** An epoch's secret, produced by encaps1 (ct sender) or decapsulation (ek sender). */
export interface EpochSecret {
  epoch: number;
  secret: Uint8Array;
}

export interface BraidSend {
  state: BraidState;
  type: MessageType;
  chunk?: Chunk;
  secret?: EpochSecret;
}

export interface BraidReceive {
  state: BraidState;
  secret?: EpochSecret;
}

/** Randomness for one send: the key generation seed (64 B) and encaps1's m (32 B). */
export interface BraidRandomness {
  keySeed(): Uint8Array;
  encapsulationMessage(): Uint8Array;
}

export function initialBraidState(initiator: boolean, auth: Authenticator): BraidState {
  return initiator
    ? { kind: 'keys-unsampled', epoch: 1, auth }
    : { kind: 'no-header-received', epoch: 1, auth, header: new ChunkDecoder(HEADER_PAYLOAD_BYTES) };
}

// Encoders interpolate once per payload; a payload is sent over many messages.
const encoders = new WeakMap<Uint8Array, ChunkEncoder>();
function chunkOf(payload: Uint8Array, counter: number): Chunk {
  let encoder = encoders.get(payload);
  if (encoder === undefined) {
    encoder = new ChunkEncoder(payload);
    encoders.set(payload, encoder);
  }
  const index = counter & 0xffff;
  return { index, data: encoder.chunk(index) };
}
const nextCounter = (n: number): number => (n + 1) >>> 0;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export function braidSend(backend: CryptoBackend, s: BraidState, random: BraidRandomness): BraidSend {
  switch (s.kind) {
    case 'keys-unsampled': {
      const keys = generateBraidKeyPair(random.keySeed());
      const headerPayload = concat(keys.header, headerMac(backend, s.auth, s.epoch, keys.header));
      const state: KeysSampled = {
        kind: 'keys-sampled',
        epoch: s.epoch,
        auth: s.auth,
        decapsulationKey: keys.decapsulationKey,
        encapsulationKeyVector: keys.encapsulationKeyVector,
        headerPayload,
        next: 1,
      };
      return { state, type: MessageType.Hdr, chunk: chunkOf(headerPayload, 0) };
    }
    case 'keys-sampled':
      return { state: { ...s, next: nextCounter(s.next) }, type: MessageType.Hdr, chunk: chunkOf(s.headerPayload, s.next) };
    case 'header-sent':
      return { state: { ...s, next: nextCounter(s.next) }, type: MessageType.Ek, chunk: chunkOf(s.encapsulationKeyVector, s.next) };
    case 'ct1-received':
      return { state: { ...s, next: nextCounter(s.next) }, type: MessageType.EkCt1Ack, chunk: chunkOf(s.encapsulationKeyVector, s.next) };
    case 'ek-sent-ct1-received':
      return { state: s, type: MessageType.Ct1Ack };
    case 'no-header-received':
    case 'ct1-acknowledged':
      return { state: s, type: MessageType.None };
    case 'header-received': {
      const first = encapsulateFirst(s.header, random.encapsulationMessage());
      const secret = epochSecret(backend, first.sharedSecret, s.epoch);
      const state: Ct1Sampled = {
        kind: 'ct1-sampled',
        epoch: s.epoch,
        auth: updateAuthenticator(backend, s.auth, s.epoch, secret),
        header: s.header,
        encapsulationState: first.encapsulationState,
        ct1: first.ct1,
        next: 1,
        ek: new ChunkDecoder(ENCAPSULATION_KEY_VECTOR_BYTES),
      };
      return { state, type: MessageType.Ct1, chunk: chunkOf(first.ct1, 0), secret: { epoch: s.epoch, secret } };
    }
    case 'ct1-sampled':
    case 'ek-received-ct1-sampled':
      return { state: { ...s, next: nextCounter(s.next) }, type: MessageType.Ct1, chunk: chunkOf(s.ct1, s.next) };
    case 'ct2-sampled':
      return { state: { ...s, next: nextCounter(s.next) }, type: MessageType.Ct2, chunk: chunkOf(s.ct2Payload, s.next) };
  }
}

/** A copy of `decoder` with `chunk` added. */
function adding(decoder: ChunkDecoder, chunk: Chunk): ChunkDecoder {
  const copy = decoder.clone();
  copy.add(chunk.index, chunk.data);
  return copy;
}

function toCt2Sampled(backend: CryptoBackend, s: Encapsulating, encapsulationKeyVector: Uint8Array): Ct2Sampled {
  const ct2 = encapsulateSecond(s.encapsulationState, s.header, encapsulationKeyVector);
  return {
    kind: 'ct2-sampled',
    epoch: s.epoch,
    auth: s.auth,
    ct2Payload: concat(ct2, ciphertextMac(backend, s.auth, s.epoch, s.ct1, ct2)),
    next: 0,
  };
}

/** The completed ek, checked against the header. */
function completedEk(decoder: ChunkDecoder, header: Uint8Array): Uint8Array | undefined {
  if (!decoder.complete) return undefined;
  const ek = decoder.payload()!;
  if (!encapsulationKeyMatchesHeader(header, ek)) throw new SignalError('spqr-erroneous-data', 'encapsulation key does not match the header');
  return ek;
}

export function braidReceive(backend: CryptoBackend, s: BraidState, epoch: number, type: MessageType, chunk: Chunk | undefined): BraidReceive {
  if (epoch > s.epoch) {
    if (s.kind === 'ct2-sampled' && epoch === s.epoch + 1) {
      return { state: { kind: 'keys-unsampled', epoch, auth: s.auth } };
    }
    throw new SignalError('spqr-epoch-out-of-range', `message epoch ${epoch}, braid epoch ${s.epoch}`);
  }
  if (epoch < s.epoch) return { state: s };
  const same = { state: s };
  switch (s.kind) {
    case 'keys-sampled': {
      if (type !== MessageType.Ct1) return same;
      const ct1 = adding(new ChunkDecoder(CT1_BYTES), chunk!);
      return {
        state: {
          kind: 'header-sent',
          epoch: s.epoch,
          auth: s.auth,
          decapsulationKey: s.decapsulationKey,
          encapsulationKeyVector: s.encapsulationKeyVector,
          next: 0,
          ct1,
        },
      };
    }
    case 'header-sent': {
      if (type !== MessageType.Ct1) return same;
      const ct1 = adding(s.ct1, chunk!);
      if (!ct1.complete) return { state: { ...s, ct1 } };
      const { ct1: _decoder, ...rest } = s;
      return { state: { ...rest, kind: 'ct1-received', ct1: ct1.payload()! } };
    }
    case 'ct1-received': {
      if (type !== MessageType.Ct2) return same;
      return {
        state: {
          kind: 'ek-sent-ct1-received',
          epoch: s.epoch,
          auth: s.auth,
          decapsulationKey: s.decapsulationKey,
          ct1: s.ct1,
          ct2: adding(new ChunkDecoder(CT2_PAYLOAD_BYTES), chunk!),
        },
      };
    }
    case 'ek-sent-ct1-received': {
      if (type !== MessageType.Ct2) return same;
      const decoder = adding(s.ct2, chunk!);
      if (!decoder.complete) return { state: { ...s, ct2: decoder } };
      const payload = decoder.payload()!;
      const ct2 = payload.subarray(0, CT2_BYTES);
      const secret = epochSecret(backend, decapsulate(s.decapsulationKey, s.ct1, ct2), s.epoch);
      const auth = updateAuthenticator(backend, s.auth, s.epoch, secret);
      if (!macsEqual(ciphertextMac(backend, auth, s.epoch, s.ct1, ct2), payload.subarray(CT2_BYTES))) {
        throw new SignalError('spqr-bad-mac', `ciphertext MAC of epoch ${s.epoch}`);
      }
      return {
        state: { kind: 'no-header-received', epoch: s.epoch + 1, auth, header: new ChunkDecoder(HEADER_PAYLOAD_BYTES) },
        secret: { epoch: s.epoch, secret },
      };
    }
    case 'no-header-received': {
      if (type !== MessageType.Hdr) return same;
      const decoder = adding(s.header, chunk!);
      if (!decoder.complete) return { state: { ...s, header: decoder } };
      const payload = decoder.payload()!;
      const header = payload.slice(0, HEADER_BYTES);
      if (!macsEqual(headerMac(backend, s.auth, s.epoch, header), payload.subarray(HEADER_BYTES))) {
        throw new SignalError('spqr-bad-mac', `header MAC of epoch ${s.epoch}`);
      }
      return { state: { kind: 'header-received', epoch: s.epoch, auth: s.auth, header } };
    }
    case 'ct1-sampled': {
      if (type !== MessageType.Ek && type !== MessageType.EkCt1Ack) return same;
      const ek = adding(s.ek, chunk!);
      const acknowledged = type === MessageType.EkCt1Ack;
      const vector = completedEk(ek, s.header);
      const { ek: _decoder, next, ...rest } = s;
      if (vector !== undefined) {
        if (acknowledged) return { state: toCt2Sampled(backend, s, vector) };
        return { state: { ...rest, kind: 'ek-received-ct1-sampled', next, encapsulationKeyVector: vector } };
      }
      if (acknowledged) return { state: { ...rest, kind: 'ct1-acknowledged', ek } };
      return { state: { ...s, ek } };
    }
    case 'ek-received-ct1-sampled':
      if (type !== MessageType.Ct1Ack && type !== MessageType.EkCt1Ack) return same;
      return { state: toCt2Sampled(backend, s, s.encapsulationKeyVector) };
    case 'ct1-acknowledged': {
      if (type !== MessageType.Ek && type !== MessageType.EkCt1Ack) return same;
      const ek = adding(s.ek, chunk!);
      const vector = completedEk(ek, s.header);
      if (vector === undefined) return { state: { ...s, ek } };
      return { state: toCt2Sampled(backend, s, vector) };
    }
    case 'keys-unsampled':
    case 'header-received':
    case 'ct2-sampled':
      return same;
  }
}
