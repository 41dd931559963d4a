/**
 * The SPQR state inside the compact session serialization (session-serialization.ts,
 * format 2). Fixed-width keys raw, numbers as varints, chunk decoders as their own bytes:
 *
 *   spqr   = direction(1: 0 A2B, 1 B2A) ‖ nextRoot(32) ‖ v:sendEpoch ‖ epochCount(1) ‖ epoch × count ‖ braid
 *   epoch  = v:epoch ‖ hasSend(1) ‖ [send: v:ctr ‖ key(32)] ‖ recv: v:ctr ‖ key(32) ‖ v:skipped ‖ (v:index ‖ key(32)) × skipped
 *   braid  = state(1: BRAID_STATES order) ‖ v:epoch ‖ authRoot(32) ‖ authMacKey(32) ‖ the state's fields:
 *     keys-sampled             dk(2400) ‖ hdr‖MAC(96) ‖ v:next
 *     header-sent              dk ‖ v:next ‖ decoder(ct1)
 *     ct1-received             dk ‖ v:next ‖ ct1(960)
 *     ek-sent-ct1-received     dk ‖ ct1 ‖ decoder(ct2‖MAC)
 *     no-header-received       decoder(hdr‖MAC)
 *     header-received          hdr(64)
 *     ct1-sampled              hdr ‖ encapsulation state ‖ ct1 ‖ v:next ‖ decoder(ek)
 *     ek-received-ct1-sampled  hdr ‖ encapsulation state ‖ ct1 ‖ v:next ‖ ek(1152)
 *     ct1-acknowledged         hdr ‖ encapsulation state ‖ ct1 ‖ decoder(ek)
 *     ct2-sampled              ct2‖MAC(160) ‖ v:next
 *   decoder = v:length ‖ ChunkDecoder.serialize()
 *
 * The encapsulation key vector t̂ is not stored beside dk: FIPS 203's dk embeds ek = t̂ ‖ ρ
 * at bytes 1152..2336.
 */
import { SignalError } from './errors.js';
import { ChunkDecoder } from './erasure-code.js';
import {
  CT1_BYTES,
  DECAPSULATION_KEY_BYTES,
  ENCAPSULATION_KEY_VECTOR_BYTES,
  ENCAPSULATION_STATE_BYTES,
  HEADER_BYTES,
} from './ml-kem-768-incremental.js';
import type { ByteReader, ByteWriter } from './record-codec.js';
import { CT2_PAYLOAD_BYTES, HEADER_PAYLOAD_BYTES, type BraidState, type BraidStateKind } from './spqr-braid.js';
import { MAX_OOO_KEYS, SpqrChain, type ChainEpoch, type ChainSide } from './spqr-chain.js';
import { SpqrState } from './spqr.js';

const BRAID_STATES: readonly BraidStateKind[] = [
  'keys-unsampled',
  'keys-sampled',
  'header-sent',
  'ct1-received',
  'ek-sent-ct1-received',
  'no-header-received',
  'header-received',
  'ct1-sampled',
  'ek-received-ct1-sampled',
  'ct1-acknowledged',
  'ct2-sampled',
];
/** Chain epochs a state can hold (the send epoch, the one before, those added since: 3), with margin. */
const MAX_CHAIN_EPOCHS = 8;
const KEY = 32;
const EK_IN_DK = 1152;

/** t̂ as embedded in a FIPS 203 decapsulation key. */
export function encapsulationKeyVectorOf(decapsulationKey: Uint8Array): Uint8Array {
  return decapsulationKey.subarray(EK_IN_DK, EK_IN_DK + ENCAPSULATION_KEY_VECTOR_BYTES);
}

function writeDecoder(w: ByteWriter, decoder: ChunkDecoder): void {
  const bytes = decoder.serialize();
  w.varint(bytes.length);
  w.fixed(bytes, bytes.length);
}

function readDecoder(r: ByteReader, payloadBytes: number): ChunkDecoder {
  const decoder = ChunkDecoder.deserialize(r.view(r.varint()));
  if (decoder.payloadBytes !== payloadBytes || decoder.complete) r.fail('bad SPQR chunk decoder');
  return decoder;
}

function writeSide(w: ByteWriter, side: ChainSide): void {
  w.varint(side.ctr);
  w.fixed(side.next, KEY);
}

export function writeSpqrState(w: ByteWriter, spqr: SpqrState): void {
  const chain = spqr.chain;
  w.u8(chain.direction === 'a2b' ? 0 : 1);
  w.fixed(chain.nextRoot, KEY);
  w.varint(chain.sendEpoch);
  w.u8(chain.epochs.length);
  for (const link of chain.epochs) {
    w.varint(link.epoch);
    w.u8(link.send === undefined ? 0 : 1);
    if (link.send !== undefined) writeSide(w, link.send);
    writeSide(w, link.recv);
    const skipped = link.recv.skipped;
    w.varint(skipped?.size ?? 0);
    if (skipped !== undefined) {
      for (const [index, key] of skipped) {
        w.varint(index);
        w.fixed(key, KEY);
      }
    }
  }
  const s = spqr.braid;
  w.u8(BRAID_STATES.indexOf(s.kind));
  w.varint(s.epoch);
  w.fixed(s.auth.root, KEY);
  w.fixed(s.auth.macKey, KEY);
  switch (s.kind) {
    case 'keys-unsampled':
      break;
    case 'keys-sampled':
      w.fixed(s.decapsulationKey, DECAPSULATION_KEY_BYTES);
      w.fixed(s.headerPayload, HEADER_PAYLOAD_BYTES);
      w.varint(s.next);
      break;
    case 'header-sent':
      w.fixed(s.decapsulationKey, DECAPSULATION_KEY_BYTES);
      w.varint(s.next);
      writeDecoder(w, s.ct1);
      break;
    case 'ct1-received':
      w.fixed(s.decapsulationKey, DECAPSULATION_KEY_BYTES);
      w.varint(s.next);
      w.fixed(s.ct1, CT1_BYTES);
      break;
    case 'ek-sent-ct1-received':
      w.fixed(s.decapsulationKey, DECAPSULATION_KEY_BYTES);
      w.fixed(s.ct1, CT1_BYTES);
      writeDecoder(w, s.ct2);
      break;
    case 'no-header-received':
      writeDecoder(w, s.header);
      break;
    case 'header-received':
      w.fixed(s.header, HEADER_BYTES);
      break;
    case 'ct1-sampled':
    case 'ek-received-ct1-sampled':
    case 'ct1-acknowledged':
      w.fixed(s.header, HEADER_BYTES);
      w.fixed(s.encapsulationState, ENCAPSULATION_STATE_BYTES);
      w.fixed(s.ct1, CT1_BYTES);
      if (s.kind !== 'ct1-acknowledged') w.varint(s.next);
      if (s.kind === 'ek-received-ct1-sampled') w.fixed(s.encapsulationKeyVector, ENCAPSULATION_KEY_VECTOR_BYTES);
      else writeDecoder(w, s.ek);
      break;
    case 'ct2-sampled':
      w.fixed(s.ct2Payload, CT2_PAYLOAD_BYTES);
      w.varint(s.next);
      break;
  }
}

function readSide(r: ByteReader): ChainSide {
  return { ctr: r.varint(), next: r.fixed(KEY), skipped: undefined };
}

export function readSpqrState(r: ByteReader): SpqrState {
  const direction = r.u8();
  if (direction > 1) r.fail('bad SPQR direction');
  const nextRoot = r.fixed(KEY);
  const sendEpoch = r.varint();
  const count = r.u8();
  if (count === 0 || count > MAX_CHAIN_EPOCHS) r.fail('bad SPQR epoch count');
  const epochs: ChainEpoch[] = [];
  for (let i = 0; i < count; i++) {
    const epoch = r.varint();
    if (i > 0 && epoch !== epochs[i - 1]!.epoch + 1) r.fail('SPQR epochs not consecutive');
    const hasSend = r.u8();
    if (hasSend > 1) r.fail('bad SPQR send flag');
    const send = hasSend === 1 ? readSide(r) : undefined;
    const recv = readSide(r);
    const skipped = r.varint();
    if (skipped > MAX_OOO_KEYS * 2) r.fail('too many SPQR skipped keys');
    for (let k = 0; k < skipped; k++) {
      const index = r.varint();
      const map = (recv.skipped ??= new Map());
      if (index >= recv.ctr || index === 0 || map.has(index)) r.fail('bad SPQR skipped key');
      map.set(index, r.fixed(KEY));
    }
    epochs.push({ epoch, send, recv });
  }
  const chain = new SpqrChain(direction === 0 ? 'a2b' : 'b2a', nextRoot, sendEpoch, epochs);
  const kind = BRAID_STATES[r.u8()];
  if (kind === undefined) r.fail('bad SPQR braid state');
  const epoch = r.varint();
  if (epoch < 1) r.fail('bad SPQR epoch');
  const auth = { root: r.fixed(KEY), macKey: r.fixed(KEY) };
  const common = { epoch, auth };
  let braid: BraidState;
  switch (kind) {
    case 'keys-unsampled':
      braid = { kind, ...common };
      break;
    case 'keys-sampled': {
      const decapsulationKey = r.fixed(DECAPSULATION_KEY_BYTES);
      braid = { kind, ...common, decapsulationKey, encapsulationKeyVector: encapsulationKeyVectorOf(decapsulationKey), headerPayload: r.fixed(HEADER_PAYLOAD_BYTES), next: r.varint() };
      break;
    }
    case 'header-sent': {
      const decapsulationKey = r.fixed(DECAPSULATION_KEY_BYTES);
      braid = { kind, ...common, decapsulationKey, encapsulationKeyVector: encapsulationKeyVectorOf(decapsulationKey), next: r.varint(), ct1: readDecoder(r, CT1_BYTES) };
      break;
    }
    case 'ct1-received': {
      const decapsulationKey = r.fixed(DECAPSULATION_KEY_BYTES);
      braid = { kind, ...common, decapsulationKey, encapsulationKeyVector: encapsulationKeyVectorOf(decapsulationKey), next: r.varint(), ct1: r.fixed(CT1_BYTES) };
      break;
    }
    case 'ek-sent-ct1-received':
      braid = { kind, ...common, decapsulationKey: r.fixed(DECAPSULATION_KEY_BYTES), ct1: r.fixed(CT1_BYTES), ct2: readDecoder(r, CT2_PAYLOAD_BYTES) };
      break;
    case 'no-header-received':
      braid = { kind, ...common, header: readDecoder(r, HEADER_PAYLOAD_BYTES) };
      break;
    case 'header-received':
      braid = { kind, ...common, header: r.fixed(HEADER_BYTES) };
      break;
    case 'ct1-sampled':
    case 'ek-received-ct1-sampled':
    case 'ct1-acknowledged': {
      const encapsulating = { ...common, header: r.fixed(HEADER_BYTES), encapsulationState: r.fixed(ENCAPSULATION_STATE_BYTES), ct1: r.fixed(CT1_BYTES) };
      if (kind === 'ct1-acknowledged') braid = { kind, ...encapsulating, ek: readDecoder(r, ENCAPSULATION_KEY_VECTOR_BYTES) };
      else {
        const next = r.varint();
        braid =
          kind === 'ct1-sampled'
            ? { kind, ...encapsulating, next, ek: readDecoder(r, ENCAPSULATION_KEY_VECTOR_BYTES) }
            : { kind, ...encapsulating, next, encapsulationKeyVector: r.fixed(ENCAPSULATION_KEY_VECTOR_BYTES) };
      }
      break;
    }
    case 'ct2-sampled':
      braid = { kind, ...common, ct2Payload: r.fixed(CT2_PAYLOAD_BYTES), next: r.varint() };
      break;
    default:
      throw new SignalError('invalid-message', 'session record: bad SPQR braid state');
  }
  return new SpqrState(chain, braid);
}
