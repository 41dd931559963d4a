/**
 * One Double Ratchet session (Double Ratchet §3; libsignal `state/session.rs`,
 * `double_ratchet.rs`).
 *
 * Keys are held raw (32 bytes) except where the wire needs the 0x05 form, which
 * is kept alongside so no key is re-serialized per message. Decryption is
 * validate-then-commit: `decrypt` computes everything into locals and returns
 * a `commit` closure; nothing in the state changes until the caller runs it,
 * so a rejected message costs no clone and leaves the state untouched.
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { SignalError } from './errors.js';
import { agree, bytesEqual, serializeEcPublicKey } from './keys.js';
import { deriveMessageKeys, deriveRootStep, messageSeed, nextChainKey } from './ratchet.js';
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

export interface SenderChain {
  /** 33-byte serialized ratchet public key, as sent in field 1. */
  ratchetPublicKey: Uint8Array;
  ratchetPrivateKey: Uint8Array;
  chainKey: Uint8Array;
  /** Counter of the next message to send. */
  index: number;
}

export interface ReceiverChain {
  /** Raw 32-byte sender ratchet key identifying the chain. */
  ratchetKey: Uint8Array;
  chainKey: Uint8Array;
  /** Counter of the next message expected on this chain. */
  index: number;
  /** Skipped counter → message seed (HMAC(CK, 0x01)); Map order is age order. */
  skipped: Map<number, Uint8Array>;
}

/** What the initiator repeats in every message until the first reply (signal-wire.md §2). */
export interface PendingPreKey {
  preKeyId?: number;
  signedPreKeyId: number;
  kyberPreKeyId: number;
  /** Raw 1568-byte Kyber ciphertext. */
  kyberCiphertext: Uint8Array;
}

export interface SessionStateInit {
  version: number;
  localIdentityKey: Uint8Array; // 33
  remoteIdentityKey: Uint8Array; // 33
  localRegistrationId: number;
  remoteRegistrationId: number;
  rootKey: Uint8Array;
  previousCounter: number;
  /** Raw 32-byte base key of the PQXDH run that created the session (both sides store it). */
  aliceBaseKey: Uint8Array;
  sender: SenderChain;
  receivers: ReceiverChain[];
  pending?: PendingPreKey;
}

export interface StateDecryption {
  plaintext: Uint8Array;
  /** Apply the state changes of this decryption. */
  commit(): void;
}

export class SessionState {
  version: number;
  localIdentityKey: Uint8Array;
  remoteIdentityKey: Uint8Array;
  localRegistrationId: number;
  remoteRegistrationId: number;
  rootKey: Uint8Array;
  previousCounter: number;
  aliceBaseKey: Uint8Array;
  sender: SenderChain;
  /** Oldest first. */
  receivers: ReceiverChain[];
  pending: PendingPreKey | undefined;
  private sendMacPrefix: Uint8Array | undefined;
  private receiveMacPrefix: Uint8Array | undefined;

  constructor(init: SessionStateInit) {
    this.version = init.version;
    this.localIdentityKey = init.localIdentityKey;
    this.remoteIdentityKey = init.remoteIdentityKey;
    this.localRegistrationId = init.localRegistrationId;
    this.remoteRegistrationId = init.remoteRegistrationId;
    this.rootKey = init.rootKey;
    this.previousCounter = init.previousCounter;
    this.aliceBaseKey = init.aliceBaseKey;
    this.sender = init.sender;
    this.receivers = init.receivers;
    this.pending = init.pending;
  }

  /** IK_sender ‖ IK_receiver for messages we send (signal-wire.md §2 MAC). */
  private sendPrefix(): Uint8Array {
    if (this.sendMacPrefix === undefined) {
      const p = new Uint8Array(MAC_PREFIX_LENGTH);
      p.set(this.localIdentityKey, 0);
      p.set(this.remoteIdentityKey, 33);
      this.sendMacPrefix = p;
    }
    return this.sendMacPrefix;
  }

  private receivePrefix(): Uint8Array {
    if (this.receiveMacPrefix === undefined) {
      const p = new Uint8Array(MAC_PREFIX_LENGTH);
      p.set(this.remoteIdentityKey, 0);
      p.set(this.localIdentityKey, 33);
      this.receiveMacPrefix = p;
    }
    return this.receiveMacPrefix;
  }

  /** RatchetEncrypt (§3.4): one symmetric step of the sending chain; returns the SignalMessage bytes. */
  encrypt(backend: CryptoBackend, plaintext: Uint8Array): Uint8Array {
    const sender = this.sender;
    const keys = deriveMessageKeys(backend, messageSeed(backend, sender.chainKey));
    const ciphertext = backend.aes256CbcEncrypt(keys.cipherKey, keys.iv, plaintext);
    const body = encodeSignalMessage(
      backend,
      { ratchetKey: sender.ratchetPublicKey, counter: sender.index, previousCounter: this.previousCounter, ciphertext },
      keys.macKey,
      this.sendPrefix(),
    );
    sender.chainKey = nextChainKey(backend, sender.chainKey);
    sender.index += 1;
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
    let chain: ReceiverChain | undefined;
    for (let i = this.receivers.length - 1; i >= 0; i--) {
      if (bytesEqual(this.receivers[i]!.ratchetKey, theirRatchetKey)) {
        chain = this.receivers[i];
        break;
      }
    }

    if (chain !== undefined && counter < chain.index) {
      // TrySkippedMessageKeys (§3.5)
      const seed = chain.skipped.get(counter);
      if (seed === undefined) throw new SignalError('duplicate-message', `counter ${counter} already received`);
      const plaintext = this.open(backend, message, seed);
      const owner = chain;
      return {
        plaintext,
        commit: () => {
          owner.skipped.delete(counter);
          this.pending = undefined;
        },
      };
    }

    const startIndex = chain === undefined ? 0 : chain.index;
    if (counter - startIndex > MAX_FORWARD_JUMPS) {
      throw new SignalError('too-far-ahead', `counter ${counter} is ${counter - startIndex} past the chain`);
    }

    // DHRatchet (§3.5) when the ratchet key is new: two root-KDF steps.
    let chainKey: Uint8Array;
    let ratchetCommit: (() => void) | undefined;
    if (chain === undefined) {
      const receiving = deriveRootStep(backend, this.rootKey, agree(backend, this.sender.ratchetPrivateKey, theirRatchetKey));
      chainKey = receiving.chainKey;
      // The new sending chain does not affect this message, so it is derived only on
      // commit: a forged message costs one X25519, not three. The agreement cannot fail
      // there: a small-order key would already have failed the agreement above.
      ratchetCommit = () => {
        const ours = backend.x25519GenerateKeyPair();
        const sending = deriveRootStep(backend, receiving.rootKey, agree(backend, ours.privateKey, theirRatchetKey));
        this.rootKey = sending.rootKey;
        this.previousCounter = Math.max(this.sender.index, 1) - 1; // n−1, as libsignal sends it
        this.sender = {
          ratchetPublicKey: serializeEcPublicKey(ours.publicKey),
          ratchetPrivateKey: ours.privateKey,
          chainKey: sending.chainKey,
          index: 0,
        };
      };
    } else {
      chainKey = chain.chainKey;
    }

    // SkipMessageKeys (§3.5): only the newest MAX_MESSAGE_KEYS seeds can survive.
    const keepFrom = counter - MAX_MESSAGE_KEYS;
    let newSkipped: [number, Uint8Array][] | undefined;
    for (let i = startIndex; i < counter; i++) {
      if (i >= keepFrom) (newSkipped ??= []).push([i, messageSeed(backend, chainKey)]);
      chainKey = nextChainKey(backend, chainKey);
    }
    const seed = messageSeed(backend, chainKey);
    const plaintext = this.open(backend, message, seed);
    const finalChainKey = nextChainKey(backend, chainKey);

    return {
      plaintext,
      commit: () => {
        let target = chain;
        if (target === undefined) {
          target = { ratchetKey: theirRatchetKey.slice(), chainKey: finalChainKey, index: counter + 1, skipped: new Map() };
          this.receivers.push(target);
          if (this.receivers.length > MAX_RECEIVER_CHAINS) this.receivers.shift();
          ratchetCommit!();
        } else {
          target.chainKey = finalChainKey;
          target.index = counter + 1;
        }
        const skipped = target.skipped;
        if (newSkipped !== undefined) for (const [i, s] of newSkipped) skipped.set(i, s);
        if (skipped.size > MAX_MESSAGE_KEYS) {
          let excess = skipped.size - MAX_MESSAGE_KEYS;
          for (const k of skipped.keys()) {
            if (excess-- <= 0) break;
            skipped.delete(k);
          }
        }
        this.pending = undefined; // a reply arrived: stop wrapping in PreKey messages
      },
    };
  }

  /** MAC check, then AES-256-CBC decrypt (§7 DECRYPT). */
  private open(backend: CryptoBackend, message: DecodedSignalMessage, seed: Uint8Array): Uint8Array {
    const keys = deriveMessageKeys(backend, seed);
    if (!verifySignalMessageMac(backend, message, keys.macKey, this.receivePrefix())) {
      throw new SignalError('bad-mac', 'message authentication failed');
    }
    try {
      return backend.aes256CbcDecrypt(keys.cipherKey, keys.iv, message.ciphertext);
    } catch {
      throw new SignalError('invalid-message', 'bad padding after a valid MAC');
    }
  }
}
