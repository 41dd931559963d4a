/**
 * The business side of every Signal session: decrypt what a device sent, encrypt what the
 * business sends, with the session record sealed in the store (kind `session`) and written
 * back by compare-and-set (transport-api.md §1: undecryptable input "stores nothing and leaves
 * the session as it was").
 *
 * Work on one session runs one at a time in this process (KeyedSerializer); the store's CAS
 * catches writers in other processes, and the operation is retried from a fresh read.
 */
import type { CryptoBackend } from '../crypto/backend.js';
import {
  SessionRecord,
  SignalError,
  decryptMessage,
  processPreKeyBundle,
  type Ciphertext,
  type DecryptResult,
  type LocalIdentity,
  type OneTimePreKeyRecord,
} from '../signal/index.js';
import { decodePreKeySignalMessage } from '../signal/index.js';
import { StoreError, recordKey, type SessionRecord as StoredSession, type SessionStore } from '../store/store.js';
import type { AtRest } from './at-rest.js';
import type { BusinessEntry } from './business-directory.js';
import type { BusinessKeys } from './business-keys.js';
import type { DeviceDirectory, DeviceEntry } from './device-directory.js';
import { GraphError } from './graph-error.js';
import { KeyedSerializer } from './keyed-serializer.js';
import { encryptForInbox } from './outbound-encryption.js';
import type { SessionCryptoThread } from './session-crypto-thread.js';
import { openSessionSlot, sameBytes, sealSessionSlot, type SessionSlot } from './session-slot.js';

const casAttempts = 3;


/** Why a ciphertext was refused, as the 400's details say it. */
function undecryptable(error: unknown): GraphError {
  const kind = error instanceof SignalError ? error.kind : 'invalid-message';
  return new GraphError('parameter-value', `undecryptable Signal message (${kind})`);
}

export class SignalSessions {
  private readonly serializer = new KeyedSerializer();
  /**
   * Decoded slots this process last wrote, by session key, with the version and sealed bytes
   * they were written as. A load whose stored version and bytes match skips opening and decoding
   * (the hot path of a business sending on an established session); anything else — another
   * process wrote, the slot was dropped and recreated — opens the store's bytes.
   */
  private readonly decoded = new Map<string, { version: number; sealed: Uint8Array; slot: SessionSlot }>();
  /** Most decoded slots kept (oldest dropped first). */
  private readonly decodedLimit: number;

  constructor(
    private readonly store: SessionStore,
    private readonly atRest: AtRest,
    private readonly backend: CryptoBackend,
    private readonly businessKeys: BusinessKeys,
    private readonly devices: DeviceDirectory,
    options: { decodedSessionCache?: number; thread?: SessionCryptoThread } = {},
  ) {
    this.decodedLimit = options.decodedSessionCache ?? 10_000;
    this.thread = options.thread;
  }

  /** Where sends on established sessions are encrypted and sealed, when not on the event loop. */
  private readonly thread: SessionCryptoThread | undefined;

  private async load(business: BusinessEntry, waId: string, deviceId: number): Promise<{ slot: SessionSlot; version: number }> {
    return this.decode(business, waId, deviceId, await this.store.getSession(business.record.phone_number_id, waId, deviceId));
  }

  /** The slot in a stored session record (the decoded slot this process wrote, when it is that one). */
  private decode(business: BusinessEntry, waId: string, deviceId: number, stored: StoredSession | undefined): { slot: SessionSlot; version: number } {
    if (stored === undefined) return { slot: { record: SessionRecord.empty(), issued: [] }, version: 0 };
    const key = recordKey.session(business.record.phone_number_id, waId, deviceId);
    const cached = this.decoded.get(key);
    if (cached !== undefined && cached.version === stored.version && sameBytes(cached.sealed, stored.sealed)) {
      return { slot: cached.slot, version: stored.version };
    }
    return { slot: openSessionSlot(this.atRest, this.atRest.dataKey(business.record), key, stored.sealed), version: stored.version };
  }

  private async save(business: BusinessEntry, waId: string, deviceId: number, slot: SessionSlot, expectedVersion: number): Promise<number> {
    const key = recordKey.session(business.record.phone_number_id, waId, deviceId);
    return this.writeSlot(business, waId, deviceId, slot, sealSessionSlot(this.atRest, this.atRest.dataKey(business.record), key, slot), expectedVersion);
  }

  /** What a thread job needs of a stored session: its key, stored bytes and the business's keys. */
  private threadSession(business: BusinessEntry, waId: string, deviceId: number, stored: StoredSession, local: LocalIdentity) {
    const pnid = business.record.phone_number_id;
    return { pnid, sessionKey: recordKey.session(pnid, waId, deviceId), stored, dataKey: this.atRest.dataKey(business.record), local };
  }

  /** Stores a slot the thread sealed, by compare-and-set, and tells the thread which version holds it. */
  private async storeThreadSlot(thread: SessionCryptoThread, session: { sessionKey: string; stored: StoredSession }, business: BusinessEntry, waId: string, deviceId: number, sealedSlot: Uint8Array): Promise<void> {
    thread.stored(session.sessionKey, await this.writeSlot(business, waId, deviceId, undefined, sealedSlot, session.stored.version), sealedSlot);
  }

  /** Writes a sealed slot by compare-and-set; `slot` (its decoded form) is cached when given. */
  private async writeSlot(business: BusinessEntry, waId: string, deviceId: number, slot: SessionSlot | undefined, sealed: Uint8Array, expectedVersion: number): Promise<number> {
    const pnid = business.record.phone_number_id;
    const key = recordKey.session(pnid, waId, deviceId);
    const version = await this.store.putSession(pnid, waId, deviceId, sealed, expectedVersion);
    this.decoded.delete(key);
    if (slot === undefined) return version;
    if (this.decoded.size >= this.decodedLimit) this.decoded.delete(this.decoded.keys().next().value!);
    this.decoded.set(key, { version, sealed, slot });
    return version;
  }

  private async withSession<T>(business: BusinessEntry, waId: string, deviceId: number, work: () => Promise<T>): Promise<T> {
    const key = recordKey.session(business.record.phone_number_id, waId, deviceId);
    return this.serializer.run(key, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await work();
        } catch (error) {
          // The work may have changed the decoded slot before failing: forget it.
          this.decoded.delete(key);
          if (error instanceof StoreError && error.kind === 'conflict' && attempt < casAttempts) continue;
          throw error;
        }
      }
    });
  }

  /** Keeps the private half of a one-time prekey handed to this device in its session slot. */
  async recordIssuedPreKey(business: BusinessEntry, device: DeviceEntry, oneTime: OneTimePreKeyRecord): Promise<void> {
    const { wa_id: waId, device_id: deviceId } = device.record;
    await this.withSession(business, waId, deviceId, async () => {
      const { slot, version } = await this.load(business, waId, deviceId);
      slot.issued.push(oneTime);
      await this.save(business, waId, deviceId, slot, version);
    });
  }

  /**
   * Decrypts a device's message to the business. `accept` sees the plaintext and may refuse it
   * (throwing); when it returns, `commit` runs (queue the webhook, store the message) and then the
   * session (with the used one-time prekey removed) is written, all under the session lock, so
   * messages of one session are committed in the order they were decrypted. With a stored
   * session, the message is decrypted on the session-crypto thread when there is one; a first
   * PreKey message of a new session, a declined job (including any the thread could not
   * decrypt) or no thread: on the event loop.
   */
  async decryptInbound<T>(
    business: BusinessEntry,
    device: DeviceEntry,
    ciphertext: Ciphertext,
    accept: (plaintext: Uint8Array) => T,
    commit: (accepted: T) => Promise<void>,
  ): Promise<T> {
    const { wa_id: waId, device_id: deviceId } = device.record;
    let preKeyIds: { signed: number; kyber: number } | undefined;
    if (ciphertext.type === 3) {
      try {
        const decoded = decodePreKeySignalMessage(ciphertext.body);
        preKeyIds = { signed: decoded.signedPreKeyId, kyber: decoded.kyberPreKeyId };
      } catch (error) {
        throw undecryptable(error);
      }
    }
    return this.withSession(business, waId, deviceId, async () => {
      const identity =
        preKeyIds === undefined
          ? await this.businessKeys.identity(business.record)
          : await this.businessKeys.identityWith(business.record, preKeyIds.signed, preKeyIds.kyber);
      const local: LocalIdentity = { identity: identity.identity, registrationId: identity.registrationId };
      const stored = await this.store.getSession(business.record.phone_number_id, waId, deviceId);
      // On the thread when a session is stored: a SignalMessage, or a PreKey message repeating a
      // stored session's base key (a new session needs the prekeys: declined, done below).
      if (this.thread !== undefined && stored !== undefined) {
        const session = this.threadSession(business, waId, deviceId, stored, local);
        const opened = await this.thread.decrypt({ ...session, messageType: ciphertext.type, message: ciphertext.body, remoteIdentity: device.keys.identityKey });
        if (opened !== undefined) {
          // As below: accept and commit first; the advanced slot is stored only then.
          const accepted = accept(opened.plaintext);
          await commit(accepted);
          await this.storeThreadSlot(this.thread, session, business, waId, deviceId, opened.sealedSlot);
          return accepted;
        }
      }
      const { slot, version } = this.decode(business, waId, deviceId, stored);
      let result: DecryptResult;
      try {
        result = decryptMessage(
          this.backend,
          local,
          slot.record,
          ciphertext,
          this.businessKeys.preKeyLookup(identity, slot.issued),
          device.keys.identityKey,
        );
      } catch (error) {
        throw undecryptable(error);
      }
      const accepted = accept(result.plaintext);
      if (result.usedOneTimePreKeyId !== undefined) slot.issued = slot.issued.filter((k) => k.id !== result.usedOneTimePreKeyId);
      // Commit first (a full webhook queue refuses here, with the session untouched), then the
      // session: a failure between the two leaves a message the device will resend (at least once).
      await commit(accepted);
      await this.save(business, waId, deviceId, slot, version);
      return accepted;
    });
  }

  /**
   * A business message for one device, encrypted and sealed as that device's inbox entry (kind
   * `inbox`, key recordKey.inbox(waId, deviceId, wamid)), with the session written back. On an
   * established session the work goes to the session-crypto thread when there is one; a new
   * session (PQXDH from the device's bundle), a declined job or no thread: on the event loop.
   */
  async encryptToInbox(business: BusinessEntry, device: DeviceEntry, plaintext: Uint8Array, wamid: string): Promise<Uint8Array> {
    const { wa_id: waId, device_id: deviceId } = device.record;
    const inboxKey = recordKey.inbox(waId, deviceId, wamid);
    return this.withSession(business, waId, deviceId, async () => {
      const identity = await this.businessKeys.identity(business.record);
      const local: LocalIdentity = { identity: identity.identity, registrationId: identity.registrationId };
      const stored = await this.store.getSession(business.record.phone_number_id, waId, deviceId);
      if (this.thread !== undefined && stored !== undefined) {
        const session = this.threadSession(business, waId, deviceId, stored, local);
        const sealed = await this.thread.encrypt({ ...session, inboxKey, plaintext });
        if (sealed !== undefined) {
          await this.storeThreadSlot(this.thread, session, business, waId, deviceId, sealed.sealedSlot);
          return sealed.sealedInbox;
        }
      }
      const { slot, version } = this.decode(business, waId, deviceId, stored);
      if (!slot.record.hasCurrentSession()) {
        const bundle = await this.devices.bundleOf(device);
        processPreKeyBundle(this.backend, local, slot.record, bundle);
      }
      const sessionKey = recordKey.session(business.record.phone_number_id, waId, deviceId);
      const sealed = encryptForInbox(this.backend, this.atRest, { sessionKey, inboxKey, dataKey: this.atRest.dataKey(business.record), local, slot, plaintext });
      await this.writeSlot(business, waId, deviceId, slot, sealed.sealedSlot, version);
      return sealed.sealedInbox;
    });
  }
}
