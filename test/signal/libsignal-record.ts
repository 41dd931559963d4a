/**
 * The white-box oracle of spqr.md §11–§12: libsignal's serialized SessionRecord holds its whole
 * SPQR state (RecordStructure.current_session (1) → SessionStructure.pq_ratchet_state (15) →
 * PqRatchetState). This decodes the parts a test compares with our own state and checks them:
 * chain keys and next_root, authenticator root and MAC key, the header against the ek side's
 * keys and its MAC, erasure-coded chunks (parity included) against the points libsignal's
 * decoders hold, the lane layout of libsignal's encoders, and decapsulation → epoch secret →
 * authenticator → ciphertext MAC.
 */
import assert from 'node:assert/strict';
import type { CryptoBackend } from '../../src/crypto/backend.js';
import { ChunkEncoder } from '../../src/signal/erasure-code.js';
import { decapsulate } from '../../src/signal/ml-kem-768-incremental.js';
import { ciphertextMac, epochSecret, headerMac, updateAuthenticator, type Authenticator } from '../../src/signal/spqr-authenticator.js';
import type { BraidState } from '../../src/signal/spqr-braid.js';
import type { SpqrState } from '../../src/signal/spqr.js';

type Field = [number, number | Uint8Array];

/** One level of protobuf (varint and length-delimited fields only, as these records use). */
export function protoFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = buf[pos++];
      if (b === undefined) throw new Error('truncated varint');
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const wire = key % 8;
    const field = Math.floor(key / 8);
    if (wire === 0) out.push([field, varint()]);
    else if (wire === 2) {
      const n = varint();
      out.push([field, buf.subarray(pos, pos + n)]);
      pos += n;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

const EMPTY = new Uint8Array(0);
function bytesOf(fields: Field[], n: number): Uint8Array | undefined {
  const v = fields.find(([f]) => f === n)?.[1];
  return v instanceof Uint8Array ? v : undefined;
}
function numberOf(fields: Field[], n: number): number {
  const v = fields.find(([f]) => f === n)?.[1];
  return typeof v === 'number' ? v : 0;
}
function allBytes(fields: Field[], n: number): Uint8Array[] {
  return fields.filter(([f, v]) => f === n && v instanceof Uint8Array).map(([, v]) => v as Uint8Array);
}

export interface LibsignalChainSide {
  ctr: number;
  next: Uint8Array;
}
export interface LibsignalSpqr {
  chain: { currentEpoch: number; sendEpoch: number; nextRoot: Uint8Array; links: { epoch: number; send: LibsignalChainSide; recv: LibsignalChainSide }[] };
  /** V1State oneof index 1..11 (KeysUnsampled … Ct2Sampled). */
  state: number;
  epoch: number;
  auth: Authenticator;
  /** The "unchunked" core's fields 3.. (ek / dk / hdr / encapsulation state / ct1, by state). */
  core: Field[];
  encoder?: { idx: number; pts: Uint8Array[] };
  decoder?: { needed: number; pts: Uint8Array[] };
}

/** libsignal's SPQR state from its serialized SessionRecord. */
export function libsignalSpqr(record: Uint8Array): LibsignalSpqr {
  const session = bytesOf(protoFields(record), 1)!;
  const pq = protoFields(bytesOf(protoFields(session), 15)!);
  const chain = protoFields(bytesOf(pq, 2)!);
  const currentEpoch = numberOf(chain, 2);
  const linkBytes = allBytes(chain, 3);
  const side = (b: Uint8Array | undefined): LibsignalChainSide => {
    const f = protoFields(b ?? EMPTY);
    return { ctr: numberOf(f, 1), next: bytesOf(f, 2) ?? EMPTY };
  };
  const links = linkBytes.map((l, i) => {
    const f = protoFields(l);
    return { epoch: currentEpoch - (linkBytes.length - 1) + i, send: side(bytesOf(f, 1)), recv: side(bytesOf(f, 2)) };
  });
  const [[state, body]] = protoFields(bytesOf(pq, 3)!) as [[number, Uint8Array]];
  const parts = protoFields(body);
  const core = protoFields(bytesOf(parts, 1)!);
  const auth = protoFields(bytesOf(core, 2)!);
  const out: LibsignalSpqr = {
    chain: { currentEpoch, sendEpoch: numberOf(chain, 5), nextRoot: bytesOf(chain, 4)!, links },
    state,
    epoch: numberOf(core, 1),
    auth: { root: bytesOf(auth, 1)!, macKey: bytesOf(auth, 2)! },
    core: core.filter(([f]) => f >= 3),
  };
  for (const [n, b] of parts) {
    if (n === 1 || !(b instanceof Uint8Array)) continue;
    const f = protoFields(b);
    const needed = numberOf(f, 1);
    // A decoder has pts_needed (= 16 n) and polys = 16; an encoder has idx and pts of n values.
    if (numberOf(f, 2) === 16 && needed % 16 === 0 && needed > 0) out.decoder = { needed, pts: allBytes(f, 3) };
    else out.encoder = { idx: needed, pts: allBytes(f, 2) };
  }
  return out;
}

/** The payload an encoder's points spell (element i: lane i mod 16, x = ⌊i/16⌋, big-endian). */
function encoderPayload(pts: Uint8Array[]): Uint8Array {
  const n = pts[0]!.length / 2;
  const out = new Uint8Array(32 * n);
  for (let x = 0; x < n; x++) for (let lane = 0; lane < 16; lane++) out.set(pts[lane]!.subarray(2 * x, 2 * x + 2), 2 * (16 * x + lane));
  return out;
}

/** The payload our side is sending in `s`, if any. */
function sendingPayload(s: BraidState): Uint8Array | undefined {
  switch (s.kind) {
    case 'keys-sampled':
      return s.headerPayload;
    case 'header-sent':
    case 'ct1-received':
      return s.encapsulationKeyVector;
    case 'ct1-sampled':
    case 'ek-received-ct1-sampled':
      return s.ct1;
    case 'ct2-sampled':
      return s.ct2Payload;
    default:
      return undefined;
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const DK_RHO = 2304;
const DK_HASH = 2336;

export type WhiteBoxCheck = 'chain keys' | 'next root' | 'authenticator' | 'header' | 'header MAC' | 'chunks' | 'parity chunks' | 'encoder lanes' | 'decapsulation and ct MAC';

/**
 * Compare our SPQR state with libsignal's (the two sides of one session, every message
 * delivered). Returns the checks that applied in this state. (The authenticators are compared
 * over a whole transcript, `compareAuthenticators`: the ct side takes each epoch's secret first.)
 */
export function compareWithLibsignal(backend: CryptoBackend, ours: SpqrState, theirs: LibsignalSpqr): Set<WhiteBoxCheck> {
  const done = new Set<WhiteBoxCheck>();
  // Chain: their send chain is our receive chain and the other way round.
  for (const link of theirs.chain.links) {
    const mine = ours.chain.epochs.find((e) => e.epoch === link.epoch);
    if (mine === undefined) continue;
    if (link.send.next.length > 0 && link.send.ctr === mine.recv.ctr) {
      assert.equal(hex(link.send.next), hex(mine.recv.next), `chain-epoch ${link.epoch}: their send = our receive`);
      done.add('chain keys');
    }
    if (mine.send !== undefined && link.recv.ctr === mine.send.ctr) {
      assert.equal(hex(link.recv.next), hex(mine.send.next), `chain-epoch ${link.epoch}: their receive = our send`);
      done.add('chain keys');
    }
  }
  if (theirs.chain.currentEpoch === ours.chain.currentEpoch) {
    assert.equal(hex(theirs.chain.nextRoot), hex(ours.chain.nextRoot), 'next_root');
    done.add('next root');
  }
  const braid = ours.braid;
  // Header: libsignal as ek side (KeysSampled: core 3 = t̂, 4 = dk) against the header we hold.
  const dk = theirs.state === 2 ? bytesOf(theirs.core, 4) : theirs.state >= 3 && theirs.state <= 5 ? bytesOf(theirs.core, 3) : undefined;
  if (dk !== undefined && 'header' in braid && braid.header instanceof Uint8Array && braid.epoch === theirs.epoch) {
    assert.equal(hex(braid.header), hex(dk.subarray(DK_RHO, DK_RHO + 32)) + hex(dk.subarray(DK_HASH, DK_HASH + 32)), 'header = ρ ‖ H(ek) of their dk');
    done.add('header');
  }
  // Their header as ct side (core 3) against our own dk.
  if (theirs.state >= 7 && theirs.state <= 10 && 'decapsulationKey' in braid && braid.epoch === theirs.epoch) {
    const d = braid.decapsulationKey;
    assert.equal(hex(bytesOf(theirs.core, 3)!), hex(d.subarray(DK_RHO, DK_RHO + 32)) + hex(d.subarray(DK_HASH, DK_HASH + 32)), 'their header is ours');
    done.add('header');
  }
  // Their encoder's points spell their payload; for the header it carries the MAC we compute.
  if (theirs.encoder !== undefined && theirs.encoder.pts.length === 16 && theirs.encoder.pts[0]!.length > 0) {
    const payload = encoderPayload(theirs.encoder.pts);
    if (theirs.state === 2) {
      const header = payload.subarray(0, 64);
      assert.equal(hex(header), hex(dk!.subarray(DK_RHO, DK_RHO + 32)) + hex(dk!.subarray(DK_HASH, DK_HASH + 32)));
      assert.equal(hex(payload.subarray(64)), hex(headerMac(backend, theirs.auth, theirs.epoch, header)), 'header MAC');
      done.add('header MAC');
    }
    done.add('encoder lanes');
    if (theirs.state === 8 && 'ct1' in braid && braid.epoch === theirs.epoch && braid.ct1 instanceof Uint8Array) {
      assert.equal(hex(payload), hex(braid.ct1), 'their ct1 encoder spells the ct1 we decoded');
    }
  }
  // Their decoder's points are our chunks, lane by lane, parity included.
  const sending = sendingPayload(braid);
  if (theirs.decoder !== undefined && sending !== undefined && theirs.decoder.needed * 2 === sending.length && braid.epoch === theirs.epoch) {
    const encoder = new ChunkEncoder(sending);
    theirs.decoder.pts.forEach((lane, j) => {
      for (let p = 0; p + 4 <= lane.length; p += 4) {
        const x = (lane[p]! << 8) | lane[p + 1]!;
        const chunk = encoder.chunk(x);
        assert.equal(hex(lane.subarray(p + 2, p + 4)), hex(chunk.subarray(2 * j, 2 * j + 2)), `chunk ${x}, lane ${j}`);
        done.add(x >= sending.length / 32 ? 'parity chunks' : 'chunks');
      }
    });
  }
  // Decapsulation: their dk and ct1 with our ct2 give the secret our authenticator took, and our ct MAC.
  if (theirs.state === 5 && braid.kind === 'ct2-sampled' && braid.epoch === theirs.epoch) {
    const ct1 = bytesOf(theirs.core, 4)!;
    const ct2 = braid.ct2Payload.subarray(0, 128);
    const secret = epochSecret(backend, decapsulate(bytesOf(theirs.core, 3)!, ct1, ct2), theirs.epoch);
    const auth = updateAuthenticator(backend, theirs.auth, theirs.epoch, secret);
    assert.equal(hex(auth.root), hex(braid.auth.root), 'authenticator after the epoch secret');
    assert.equal(hex(braid.ct2Payload.subarray(128)), hex(ciphertextMac(backend, auth, theirs.epoch, ct1, ct2)), 'ciphertext MAC');
    done.add('decapsulation and ct MAC');
  }
  return done;
}

/** Record an authenticator (root hex → MAC key hex). */
export function noteAuthenticator(history: Map<string, string>, auth: Authenticator): void {
  history.set(hex(auth.root), hex(auth.macKey));
}

/**
 * Every authenticator libsignal had is one we had, with the same MAC key, except at most the
 * newest (the ct side updates at encaps1, the ek side only once ct2 arrives). Returns how many matched.
 */
export function compareAuthenticators(ours: Map<string, string>, theirs: Map<string, string>): number {
  let matched = 0;
  const missing: string[] = [];
  for (const [root, macKey] of theirs) {
    const mine = ours.get(root);
    if (mine === undefined) missing.push(root);
    else {
      assert.equal(mine, macKey, 'authenticator MAC key');
      matched++;
    }
  }
  assert.ok(missing.length <= 1, `libsignal authenticators we never had: ${missing.length}`);
  return matched;
}
