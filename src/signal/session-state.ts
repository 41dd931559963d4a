/**
 * One Double Ratchet session (Double Ratchet §3; libsignal `state/session.rs`,
 * `double_ratchet.rs`).
 *
 * Memory: a server holds one of these per live conversation, so the fixed-size keys of a state
 * live packed in ONE byte array (`keys`, layout below) instead of one Uint8Array each (a
 * Uint8Array with its own buffer costs about 200 B of heap beyond its bytes). Keys are handed
 * out as views into it (`rootKey`, `senderChainKey`, …); a view is valid until the next change
 * of the state, so callers that keep a key copy it. The identity keys are stored 0x05-prefixed
 * in the order IK_local ‖ IK_remote ‖ IK_local, so both MAC prefixes (signal-wire.md §2) are
 * views too and no key is re-serialized per message. Only the sending ratchet private key is
 * its own array: it is shared with the backend's per-key import memo (src/crypto/private-key-memo.ts),
 * which a copy would miss on every DH ratchet step. Skipped-key maps exist only while they hold
 * keys.
 *
 *   keys = 0x05 ‖ IK_local(32) ‖ 0x05 ‖ IK_remote(32) ‖ 0x05 ‖ IK_local(32)     [0, 99)
 *          ‖ rootKey(32) ‖ aliceBaseKey(32)                                    [99, 163)
 *          ‖ 0x05 ‖ senderRatchetKey(32) ‖ senderChainKey(32)                  [163, 228)
 *          ‖ (receiverRatchetKey(32) ‖ receiverChainKey(32)) × receivers       [228, …) oldest first
 *
 * Decryption is validate-then-commit: `decrypt` computes everything into locals and returns
 * a `commit` closure; nothing in the state changes until the caller runs it, so a rejected
 * message leaves the state untouched. SPQR (the triple ratchet's post-quantum half, spqr.ts)
 * handles field 5 before the MAC check on a copy of its state, installed by `commit`.
 *
 * Every encrypt takes one SPQR send and every successful decrypt one SPQR receive; the SPQR
 * key salts the message keys. A state without SPQR (read from a record written before SPQR)
 * still decrypts messages without field 5 but cannot encrypt: libsignal ≥ 0.100 counts such a
 * session as unusable, and the caller starts a new one (`spqr-session-unusable`).
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { SignalError } from './errors.js';
import { EC_KEY_TYPE, agree } from './keys.js';
import { deriveMessageKeys, deriveRootStep, messageSeed, nextChainKey } from './ratchet.js';
import type { SpqrState } from './spqr.js';
import {
  MAC_PREFIX_LENGTH,
  encodeSignalMessage,
  verifySignalMessageMac,
  type DecodedSignalMessage,
} from './wire.js';

/** libsignal `consts.rs`: steps a single chain may jump ahead. */
export const MAX_FORWARD_JUMPS = 25_000;
/** libsignal `consts.rs`: skipped message keys kept per receiving chain (oldest dropped). */
export const MAX_MESSAGE_KEYS = 2_000;
/** libsignal `consts.rs`: receiving chains kept per session (oldest dropped). */
export const MAX_RECEIVER_CHAINS = 5;

const KEY = 32;
const LOCAL_IDENTITY = 0; // 0x05 ‖ IK_local; send MAC prefix IK_local ‖ IK_remote starts here
const REMOTE_IDENTITY = 33; // 0x05 ‖ IK_remote; receive MAC prefix IK_remote ‖ IK_local starts here
const LOCAL_IDENTITY_AGAIN = 66;
const ROOT_KEY = 99;
const ALICE_BASE_KEY = 131;
const SENDER_RATCHET_KEY = 163; // 0x05 ‖ raw, as sent in SignalMessage field 1
const SENDER_CHAIN_KEY = 196;
const RECEIVERS = 228;
const RECEIVER_LENGTH = 2 * KEY; // ratchet key ‖ chain key

/** A receiving chain's counters; its two keys live in the state's packed `keys`. */
export interface ReceiverChain {
  /** Counter of the next message expected on this chain. */
  index: number;
  /** Skipped counter → message seed (HMAC(CK, 0x01)); Map order is age order. Absent while empty. */
  skipped: Map<number, Uint8Array> | undefined;
}

export interface ReceiverChainInit {
  /** Raw 32-byte sender ratchet key identifying the chain. */
  ratchetKey: Uint8Array;
  chainKey: Uint8Array;
  index: number;
  skipped?: Map<number, Uint8Array>;
}

/** What the initiator repeats in every message until the first reply (signal-wire.md §2). */
export interface PendingPreKey {
  preKeyId?: number;
  signedPreKeyId: number;
  kyberPreKeyId: number;
  /** Raw 1568-byte Kyber ciphertext. */
  kyberCiphertext: Uint8Array;
}

/** Everything a state is made from; every key is copied into the state except the private key. */
export interface SessionStateInit {
  version: number;
  /** Raw 32-byte identity keys (stored 0x05-prefixed). */
  localIdentityKey: Uint8Array;
  remoteIdentityKey: Uint8Array;
  localRegistrationId: number;
  remoteRegistrationId: number;
  rootKey: Uint8Array;
  previousCounter: number;
  /** Raw 32-byte base key of the PQXDH run that created the session (both sides store it). */
  aliceBaseKey: Uint8Array;
  /** Raw 32-byte public half of the sending ratchet key pair. */
  senderRatchetKey: Uint8Array;
  /** Kept by reference (see the module comment). */
  senderRatchetPrivateKey: Uint8Array;
  senderChainKey: Uint8Array;
  /** Counter of the next message to send. */
  senderIndex: number;
  /** Oldest first. */
  receivers?: readonly ReceiverChainInit[];
  pending?: PendingPreKey;
  /** Absent only in states read from records written before SPQR. */
  spqr?: SpqrState;
}

export interface StateDecryption {
  plaintext: Uint8Array;
  /** Apply the state changes of this decryption. */
  commit(): void;
}

function place(keys: Uint8Array, at: number, key: Uint8Array, what: string): void {
  if (key.length !== KEY) throw new SignalError('invalid-key', `${what}: expected ${KEY} bytes, have ${key.length}`);
  keys.set(key, at);
}

export class SessionState {
  readonly version: number;
  readonly localRegistrationId: number;
  readonly remoteRegistrationId: number;
  previousCounter: number;
  /** Counter of the next message to send. */
  senderIndex: number;
  senderRatchetPrivateKey: Uint8Array;
  pending: PendingPreKey | undefined;
  /** The SPQR state; undefined in a pre-SPQR state (decrypt only). */
  spqr: SpqrState | undefined;
  /** Oldest first; chain i's keys are at RECEIVERS + i × RECEIVER_LENGTH in `keys`. */
  readonly receivers: ReceiverChain[];
  /** The packed keys (layout in the module comment). Replaced, not grown, when a chain is added. */
  private keys: Uint8Array;

  /** Checks every key's length (the boundary: pqxdh.ts and session-serialization.ts). */
  constructor(init: SessionStateInit) {
    const receivers = init.receivers ?? [];
    if (receivers.length > MAX_RECEIVER_CHAINS) throw new SignalError('invalid-message', 'too many receiver chains');
    const keys = new Uint8Array(RECEIVERS + receivers.length * RECEIVER_LENGTH);
    keys[LOCAL_IDENTITY] = keys[REMOTE_IDENTITY] = keys[LOCAL_IDENTITY_AGAIN] = keys[SENDER_RATCHET_KEY] = EC_KEY_TYPE;
    place(keys, LOCAL_IDENTITY + 1, init.localIdentityKey, 'local identity key');
    place(keys, REMOTE_IDENTITY + 1, init.remoteIdentityKey, 'remote identity key');
    place(keys, LOCAL_IDENTITY_AGAIN + 1, init.localIdentityKey, 'local identity key');
    place(keys, ROOT_KEY, init.rootKey, 'root key');
    place(keys, ALICE_BASE_KEY, init.aliceBaseKey, 'base key');
    place(keys, SENDER_RATCHET_KEY + 1, init.senderRatchetKey, 'sender ratchet key');
    place(keys, SENDER_CHAIN_KEY, init.senderChainKey, 'sender chain key');
    if (init.senderRatchetPrivateKey.length !== KEY) throw new SignalError('invalid-key', 'sender ratchet private key: expected 32 bytes');
    this.version = init.version;
    this.localRegistrationId = init.localRegistrationId;
    this.remoteRegistrationId = init.remoteRegistrationId;
    this.previousCounter = init.previousCounter;
    this.senderIndex = init.senderIndex;
    this.senderRatchetPrivateKey = init.senderRatchetPrivateKey;
    this.pending = init.pending;
    this.spqr = init.spqr;
    this.receivers = receivers.map((r, i) => {
      const at = RECEIVERS + i * RECEIVER_LENGTH;
      place(keys, at, r.ratchetKey, 'receiver ratchet key');
      place(keys, at + KEY, r.chainKey, 'receiver chain key');
      return { index: r.index, skipped: r.skipped !== undefined && r.skipped.size > 0 ? r.skipped : undefined };
    });
    this.keys = keys;
  }

  /** 33 bytes, 0x05-prefixed (view). */
  get localIdentityKey(): Uint8Array {
    return this.keys.subarray(LOCAL_IDENTITY, LOCAL_IDENTITY + 33);
  }

  /** 33 bytes, 0x05-prefixed (view). */
  get remoteIdentityKey(): Uint8Array {
    return this.keys.subarray(REMOTE_IDENTITY, REMOTE_IDENTITY + 33);
  }

  /** (view) */
  get rootKey(): Uint8Array {
    return this.keys.subarray(ROOT_KEY, ROOT_KEY + KEY);
  }

  /** Raw 32 bytes (view). */
  get aliceBaseKey(): Uint8Array {
    return this.keys.subarray(ALICE_BASE_KEY, ALICE_BASE_KEY + KEY);
  }

  /** 33 bytes, 0x05-prefixed, as sent in field 1 (view). */
  get senderRatchetKey(): Uint8Array {
    return this.keys.subarray(SENDER_RATCHET_KEY, SENDER_RATCHET_KEY + 33);
  }

  /** (view) */
  get senderChainKey(): Uint8Array {
    return this.keys.subarray(SENDER_CHAIN_KEY, SENDER_CHAIN_KEY + KEY);
  }

  set senderChainKey(chainKey: Uint8Array) {
    place(this.keys, SENDER_CHAIN_KEY, chainKey, 'sender chain key');
  }

  /** Raw 32-byte ratchet key of receiving chain `i` (oldest first; view). */
  receiverRatchetKey(i: number): Uint8Array {
    const at = RECEIVERS + i * RECEIVER_LENGTH;
    return this.keys.subarray(at, at + KEY);
  }

  /** Chain key of receiving chain `i` (view). */
  receiverChainKey(i: number): Uint8Array {
    const at = RECEIVERS + i * RECEIVER_LENGTH + KEY;
    return this.keys.subarray(at, at + KEY);
  }

  /** RatchetEncrypt (§3.4): one symmetric step of the sending chain; returns the SignalMessage bytes. */
  encrypt(backend: CryptoBackend, plaintext: Uint8Array): Uint8Array {
    const spqr = this.spqr;
    if (spqr === undefined) throw new SignalError('spqr-session-unusable', 'session without SPQR: start a new session');
    const keys = this.keys;
    const chainKey = keys.subarray(SENDER_CHAIN_KEY, SENDER_CHAIN_KEY + KEY);
    const pq = spqr.send(backend);
    const messageKeys = deriveMessageKeys(backend, messageSeed(backend, chainKey), pq.key);
    const ciphertext = backend.aes256CbcEncrypt(messageKeys.cipherKey, messageKeys.iv, plaintext);
    const body = encodeSignalMessage(
      backend,
      {
        ratchetKey: keys.subarray(SENDER_RATCHET_KEY, SENDER_RATCHET_KEY + 33),
        counter: this.senderIndex,
        previousCounter: this.previousCounter,
        ciphertext,
        pqRatchet: pq.message,
      },
      messageKeys.macKey,
      keys.subarray(LOCAL_IDENTITY, LOCAL_IDENTITY + MAC_PREFIX_LENGTH), // IK_sender ‖ IK_receiver
    );
    keys.set(nextChainKey(backend, chainKey), SENDER_CHAIN_KEY);
    this.senderIndex += 1;
    return body;
  }

  /**
   * RatchetDecrypt (§3.5) without side effects: finds or derives the receiving
   * chain, checks the MAC, decrypts, and returns the changes as `commit`.
   */
  decrypt(backend: CryptoBackend, message: DecodedSignalMessage): StateDecryption {
    if (message.version !== this.version) throw new SignalError('invalid-message', 'message version does not match the session');
    const counter = message.counter;
    const theirRatchetKey = message.ratchetKey;
    const found = this.findReceiver(theirRatchetKey);
    const chain = found < 0 ? undefined : this.receivers[found]!;

    if (chain !== undefined && counter < chain.index) {
      // TrySkippedMessageKeys (§3.5)
      const seed = chain.skipped?.get(counter);
      if (seed === undefined) throw new SignalError('duplicate-message', `counter ${counter} already received`);
      const pq = this.receiveSpqr(backend, message.pqRatchet);
      const plaintext = this.open(backend, message, seed, pq.key);
      return {
        plaintext,
        commit: () => {
          this.spqr = pq.next;
          const skipped = chain.skipped!;
          skipped.delete(counter);
          if (skipped.size === 0) chain.skipped = undefined;
          this.pending = undefined;
        },
      };
    }

    const startIndex = chain === undefined ? 0 : chain.index;
    if (counter - startIndex > MAX_FORWARD_JUMPS) {
      throw new SignalError('too-far-ahead', `counter ${counter} is ${counter - startIndex} past the chain`);
    }
    // SPQR before any key work, on a copy (it reads chunks the MAC has not yet covered); installed by commit.
    const pq = this.receiveSpqr(backend, message.pqRatchet);

    // DHRatchet (§3.5) when the ratchet key is new: two root-KDF steps.
    let chainKey: Uint8Array;
    let ratchetCommit: (() => void) | undefined;
    if (chain === undefined) {
      const receiving = deriveRootStep(backend, this.rootKey, agree(backend, this.senderRatchetPrivateKey, theirRatchetKey));
      chainKey = receiving.chainKey;
      // The new sending chain does not affect this message, so it is derived only on
      // commit: a forged message costs one X25519, not three. The agreement cannot fail
      // there: a small-order key would already have failed the agreement above.
      ratchetCommit = () => {
        const ours = backend.x25519GenerateKeyPair();
        const sending = deriveRootStep(backend, receiving.rootKey, agree(backend, ours.privateKey, theirRatchetKey));
        const keys = this.keys;
        keys.set(sending.rootKey, ROOT_KEY);
        this.previousCounter = Math.max(this.senderIndex, 1) - 1; // n−1, as libsignal sends it
        keys.set(ours.publicKey, SENDER_RATCHET_KEY + 1);
        keys.set(sending.chainKey, SENDER_CHAIN_KEY);
        this.senderRatchetPrivateKey = ours.privateKey;
        this.senderIndex = 0;
      };
    } else {
      chainKey = this.receiverChainKey(found);
    }

    // SkipMessageKeys (§3.5): only the newest MAX_MESSAGE_KEYS seeds can survive.
    const keepFrom = counter - MAX_MESSAGE_KEYS;
    let newSkipped: [number, Uint8Array][] | undefined;
    for (let i = startIndex; i < counter; i++) {
      if (i >= keepFrom) (newSkipped ??= []).push([i, messageSeed(backend, chainKey)]);
      chainKey = nextChainKey(backend, chainKey);
    }
    const seed = messageSeed(backend, chainKey);
    const plaintext = this.open(backend, message, seed, pq.key);
    const finalChainKey = nextChainKey(backend, chainKey);

    return {
      plaintext,
      commit: () => {
        this.spqr = pq.next;
        let target = chain;
        if (target === undefined) {
          target = { index: counter + 1, skipped: undefined };
          this.addReceiver(theirRatchetKey, finalChainKey, target);
          ratchetCommit!();
        } else {
          target.index = counter + 1;
          this.keys.set(finalChainKey, RECEIVERS + this.receivers.indexOf(target) * RECEIVER_LENGTH + KEY);
        }
        if (newSkipped !== undefined) {
          const skipped = (target.skipped ??= new Map());
          for (const [i, s] of newSkipped) skipped.set(i, s);
          if (skipped.size > MAX_MESSAGE_KEYS) {
            let excess = skipped.size - MAX_MESSAGE_KEYS;
            for (const k of skipped.keys()) {
              if (excess-- <= 0) break;
              skipped.delete(k);
            }
          }
        }
        this.pending = undefined; // a reply arrived: stop wrapping in PreKey messages
      },
    };
  }

  /** Newest receiving chain whose ratchet key is `ratchetKey` (raw 32 bytes), or −1. */
  private findReceiver(ratchetKey: Uint8Array): number {
    const keys = this.keys;
    for (let i = this.receivers.length - 1; i >= 0; i--) {
      const at = RECEIVERS + i * RECEIVER_LENGTH;
      let diff = 0;
      for (let j = 0; j < KEY; j++) diff |= keys[at + j]! ^ ratchetKey[j]!;
      if (diff === 0) return i;
    }
    return -1;
  }

  /** Appends a receiving chain (dropping the oldest beyond MAX_RECEIVER_CHAINS) into a new `keys`. */
  private addReceiver(ratchetKey: Uint8Array, chainKey: Uint8Array, chain: ReceiverChain): void {
    const old = this.keys;
    let keptFrom = RECEIVERS;
    if (this.receivers.length >= MAX_RECEIVER_CHAINS) {
      this.receivers.shift();
      keptFrom += RECEIVER_LENGTH;
    }
    const at = RECEIVERS + this.receivers.length * RECEIVER_LENGTH;
    const keys = new Uint8Array(at + RECEIVER_LENGTH);
    keys.set(old.subarray(0, RECEIVERS), 0);
    keys.set(old.subarray(keptFrom), RECEIVERS);
    keys.set(ratchetKey, at);
    keys.set(chainKey, at + KEY);
    this.keys = keys;
    this.receivers.push(chain);
  }

  /** SPQR receive of field 5 on a copy; a pre-SPQR state takes only messages without it. */
  private receiveSpqr(backend: CryptoBackend, field5: Uint8Array): { key: Uint8Array | undefined; next: SpqrState | undefined } {
    const spqr = this.spqr;
    if (spqr !== undefined) return spqr.receive(backend, field5);
    if (field5.length > 0) throw new SignalError('spqr-version-mismatch', 'SPQR message on a session without SPQR');
    return { key: undefined, next: undefined };
  }

  /** MAC check, then AES-256-CBC decrypt (§7 DECRYPT). */
  private open(backend: CryptoBackend, message: DecodedSignalMessage, seed: Uint8Array, spqrKey: Uint8Array | undefined): Uint8Array {
    const messageKeys = deriveMessageKeys(backend, seed, spqrKey);
    // IK_sender ‖ IK_receiver, the sender being the remote side
    const macPrefix = this.keys.subarray(REMOTE_IDENTITY, REMOTE_IDENTITY + MAC_PREFIX_LENGTH);
    if (!verifySignalMessageMac(backend, message, messageKeys.macKey, macPrefix)) {
      throw new SignalError('bad-mac', 'message authentication failed');
    }
    try {
      return backend.aes256CbcDecrypt(messageKeys.cipherKey, messageKeys.iv, message.ciphertext);
    } catch {
      throw new SignalError('invalid-message', 'bad padding after a valid MAC');
    }
  }
}
