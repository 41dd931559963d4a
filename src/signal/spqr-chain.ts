/**
 * The SPQR symmetric chain (spqr.md §5, §10): one pair of send / receive chains per epoch,
 * the keys the Double Ratchet takes as its HKDF salt.
 *
 *   start:      G = HKDF(zero salt, authKey, "Signal PQ Ratchet V1 Chain  Start", 96)   (two spaces)
 *   add epoch:  G = HKDF(salt = nextRoot, epochSecret, "Signal PQ Ratchet V1 Chain Add Epoch", 96)
 *               nextRoot = G[0..32], initiator→responder (A2B) = G[32..64], B2A = G[64..96]
 *   step:       ctr += 1; O = HKDF(zero salt, chainKey, BE32(ctr) ‖ "Signal PQ Ratchet V1 Chain Next", 64)
 *               chainKey = O[0..32], key for index ctr = O[32..64]
 *
 * The chain started from the auth key is chain-epoch 0; braid epoch e's secret makes
 * chain-epoch e. A message of wire epoch e uses chain-epoch e − 1.
 *
 * Limits (libsignal's chain parameters): a receive index more than `MAX_JUMP` ahead is
 * refused (`spqr-key-jump`); skipped keys are kept per epoch, at most `MAX_OOO_KEYS` behind
 * the counter (older: `spqr-key-trimmed`), collected once `GC_THRESHOLD` are held; a used or
 * current index is `spqr-key-already-requested`. Whenever the send epoch advances, only one
 * epoch before it is kept (older: `spqr-epoch-out-of-range`) and the kept older epochs lose
 * their send chain.
 *
 * Mutable; callers that must be able to roll back work on a `clone()`.
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { SignalError } from './errors.js';

const encoder = new TextEncoder();
const START_LABEL = encoder.encode('Signal PQ Ratchet V1 Chain  Start');
const ADD_EPOCH_LABEL = encoder.encode('Signal PQ Ratchet V1 Chain Add Epoch');
const NEXT_LABEL = encoder.encode('Signal PQ Ratchet V1 Chain Next');
/** Empty: RFC 5869 §2.2 reads it as HashLen zeros, and the backends skip hashing a zero key. */
const ZERO_SALT = new Uint8Array(0);

/** libsignal `MAX_FORWARD_JUMPS` as the chain's max_jump. */
export const MAX_JUMP = 25_000;
/** libsignal `MAX_MESSAGE_KEYS` as the chain's max_ooo_keys. */
export const MAX_OOO_KEYS = 2_000;
/** Skipped keys held before old ones are collected: max_ooo_keys · 11/10 + 1. */
export const GC_THRESHOLD = (MAX_OOO_KEYS * 11) / 10 + 1;

/** Which way this side sends: the initiator sends initiator→responder (A2B). */
export type ChainDirection = 'a2b' | 'b2a';

export interface ChainSide {
  /** Index of the last key taken (0: none yet). */
  ctr: number;
  /** The chain key that makes key ctr + 1. */
  next: Uint8Array;
  /** Skipped index → key, receive side only; absent while empty. */
  skipped: Map<number, Uint8Array> | undefined;
}

export interface ChainEpoch {
  epoch: number;
  /** Absent once the send epoch has moved past this epoch. */
  send: ChainSide | undefined;
  recv: ChainSide;
}

export interface ChainKey {
  index: number;
  key: Uint8Array;
}

function outOfRange(epoch: number): never {
  throw new SignalError('spqr-epoch-out-of-range', `chain epoch ${epoch} not held`);
}

export class SpqrChain {
  constructor(
    readonly direction: ChainDirection,
    public nextRoot: Uint8Array,
    public sendEpoch: number,
    /** Ascending, consecutive. */
    readonly epochs: ChainEpoch[],
  ) {}

  static start(backend: CryptoBackend, authKey: Uint8Array, direction: ChainDirection): SpqrChain {
    const g = backend.hkdfSha256(authKey, ZERO_SALT, START_LABEL, 96);
    const chain = new SpqrChain(direction, g.slice(0, 32), 0, []);
    chain.pushEpoch(0, g);
    return chain;
  }

  get currentEpoch(): number {
    return this.epochs[this.epochs.length - 1]!.epoch;
  }

  /** Chain-epoch `epoch` (= the braid epoch whose secret this is) from `secret`. */
  addEpoch(backend: CryptoBackend, epoch: number, secret: Uint8Array): void {
    if (epoch !== this.currentEpoch + 1) throw new SignalError('spqr-epoch-out-of-range', `epoch ${epoch} after ${this.currentEpoch}`);
    const g = backend.hkdfSha256(secret, this.nextRoot, ADD_EPOCH_LABEL, 96);
    this.nextRoot = g.slice(0, 32);
    this.pushEpoch(epoch, g);
  }

  /** The next send key of chain-epoch `epoch`. */
  sendKey(backend: CryptoBackend, epoch: number): ChainKey {
    if (epoch > this.sendEpoch) {
      this.sendEpoch = epoch;
      while (this.epochs.length > 0 && this.epochs[0]!.epoch < epoch - 1) this.epochs.shift();
      for (const link of this.epochs) if (link.epoch < epoch) link.send = undefined;
    }
    const side = this.find(epoch)?.send;
    if (side === undefined) outOfRange(epoch);
    const key = step(backend, side);
    return { index: side.ctr, key };
  }

  /** The receive key of chain-epoch `epoch` at `index` (≥ 1). */
  recvKey(backend: CryptoBackend, epoch: number, index: number): Uint8Array {
    const link = this.find(epoch);
    if (link === undefined) outOfRange(epoch);
    const side = link.recv;
    if (index <= side.ctr) {
      if (side.ctr - index > MAX_OOO_KEYS) throw new SignalError('spqr-key-trimmed', `index ${index} is ${side.ctr - index} behind`);
      const key = side.skipped?.get(index);
      if (key === undefined) throw new SignalError('spqr-key-already-requested', `index ${index} of epoch ${epoch}`);
      side.skipped!.delete(index);
      if (side.skipped!.size === 0) side.skipped = undefined;
      return key;
    }
    if (index - side.ctr > MAX_JUMP) throw new SignalError('spqr-key-jump', `index ${index} is ${index - side.ctr} ahead`);
    if (index - side.ctr > MAX_OOO_KEYS) side.skipped = undefined;
    const keepFrom = index - MAX_OOO_KEYS;
    while (side.ctr + 1 < index) {
      const key = step(backend, side);
      if (side.ctr >= keepFrom) (side.skipped ??= new Map()).set(side.ctr, key);
    }
    const key = step(backend, side);
    const skipped = side.skipped;
    if (skipped !== undefined && skipped.size >= GC_THRESHOLD) {
      for (const i of skipped.keys()) if (i < side.ctr - MAX_OOO_KEYS) skipped.delete(i);
    }
    return key;
  }

  /** A deep copy whose sides can change without touching this one (keys are never changed in place). */
  clone(): SpqrChain {
    const copySide = (s: ChainSide): ChainSide => ({ ctr: s.ctr, next: s.next, skipped: s.skipped === undefined ? undefined : new Map(s.skipped) });
    return new SpqrChain(
      this.direction,
      this.nextRoot,
      this.sendEpoch,
      this.epochs.map((l) => ({ epoch: l.epoch, send: l.send === undefined ? undefined : copySide(l.send), recv: copySide(l.recv) })),
    );
  }

  private find(epoch: number): ChainEpoch | undefined {
    const first = this.epochs[0];
    if (first === undefined) return undefined;
    return this.epochs[epoch - first.epoch];
  }

  private pushEpoch(epoch: number, g: Uint8Array): void {
    const a2b = g.slice(32, 64);
    const b2a = g.slice(64, 96);
    const [send, recv] = this.direction === 'a2b' ? [a2b, b2a] : [b2a, a2b];
    this.epochs.push({ epoch, send: { ctr: 0, next: send, skipped: undefined }, recv: { ctr: 0, next: recv, skipped: undefined } });
  }
}

function step(backend: CryptoBackend, side: ChainSide): Uint8Array {
  const ctr = side.ctr + 1;
  if (ctr > 0xffffffff) throw new SignalError('spqr-key-jump', 'chain counter exhausted');
  const info = new Uint8Array(4 + NEXT_LABEL.length);
  new DataView(info.buffer).setUint32(0, ctr);
  info.set(NEXT_LABEL, 4);
  const o = backend.hkdfSha256(side.next, ZERO_SALT, info, 64);
  side.ctr = ctr;
  side.next = o.slice(0, 32);
  return o.slice(32, 64);
}
