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
  encryptMessage,
  processPreKeyBundle,
  type Ciphertext,
  type DecryptResult,
  type LocalIdentity,
} from '../signal/index.js';
import { StoreError, recordKey, type Store } from '../store/store.js';
import type { AtRest } from './at-rest.js';
import type { BusinessEntry } from './business-directory.js';
import type { BusinessKeys } from './business-keys.js';
import type { DeviceDirectory, DeviceEntry } from './device-directory.js';
import { GraphError } from './graph-error.js';
import { KeyedSerializer } from './keyed-serializer.js';

const casAttempts = 3;

/** Why a ciphertext was refused, as the 400's details say it. */
function undecryptable(error: unknown): GraphError {
  const kind = error instanceof SignalError ? error.kind : 'invalid-message';
  return new GraphError('parameter-value', `undecryptable Signal message (${kind})`);
}

export class SignalSessions {
  private readonly serializer = new KeyedSerializer();

  constructor(
    private readonly store: Store,
    private readonly atRest: AtRest,
    private readonly backend: CryptoBackend,
    private readonly businessKeys: BusinessKeys,
    private readonly devices: DeviceDirectory,
  ) {}

  private async local(business: BusinessEntry): Promise<{ local: LocalIdentity; identity: Awaited<ReturnType<BusinessKeys['identity']>> }> {
    const identity = await this.businessKeys.identity(business.record);
    return { local: { identity: identity.identity, registrationId: identity.registrationId }, identity };
  }

  private async load(business: BusinessEntry, waId: string, deviceId: number): Promise<{ record: SessionRecord; version: number }> {
    const pnid = business.record.phone_number_id;
    const stored = await this.store.getSession(pnid, waId, deviceId);
    if (stored === undefined) return { record: SessionRecord.empty(), version: 0 };
    const bytes = this.atRest.openForBusiness(business.record, 'session', recordKey.session(pnid, waId, deviceId), stored.sealed);
    return { record: SessionRecord.deserialize(bytes), version: stored.version };
  }

  private save(business: BusinessEntry, waId: string, deviceId: number, record: SessionRecord, expectedVersion: number): Promise<number> {
    const pnid = business.record.phone_number_id;
    const sealed = this.atRest.sealForBusiness(business.record, 'session', recordKey.session(pnid, waId, deviceId), record.serialize());
    return this.store.putSession(pnid, waId, deviceId, sealed, expectedVersion);
  }

  private async withSession<T>(business: BusinessEntry, waId: string, deviceId: number, work: () => Promise<T>): Promise<T> {
    const key = recordKey.session(business.record.phone_number_id, waId, deviceId);
    return this.serializer.run(key, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await work();
        } catch (error) {
          if (error instanceof StoreError && error.kind === 'conflict' && attempt < casAttempts) continue;
          throw error;
        }
      }
    });
  }

  /**
   * Decrypts a device's message to the business. `accept` sees the plaintext and may refuse it
   * (throwing); only when it returns are the session and the used one-time prekey committed,
   * then `commit` runs (store the message, queue the webhook) with the session lock still held,
   * so messages of one session are committed in the order they were decrypted.
   */
  async decryptInbound<T>(
    business: BusinessEntry,
    device: DeviceEntry,
    ciphertext: Ciphertext,
    accept: (plaintext: Uint8Array) => T,
    commit: (accepted: T) => Promise<void>,
  ): Promise<T> {
    const { wa_id: waId, device_id: deviceId } = device.record;
    const pnid = business.record.phone_number_id;
    return this.withSession(business, waId, deviceId, async () => {
      const { local, identity } = await this.local(business);
      const { record, version } = await this.load(business, waId, deviceId);
      let result: DecryptResult;
      try {
        result = decryptMessage(this.backend, local, record, ciphertext, this.businessKeys.preKeyLookup(pnid, identity), device.keys.identityKey);
      } catch (error) {
        throw undecryptable(error);
      }
      const accepted = accept(result.plaintext);
      await this.save(business, waId, deviceId, record, version);
      if (result.usedOneTimePreKeyId !== undefined) this.businessKeys.consumeOneTimePreKey(pnid, result.usedOneTimePreKeyId);
      await commit(accepted);
      return accepted;
    });
  }

  /**
   * Encrypts for one device of the user: on the existing session, or on a new one set up from
   * the device's bundle (PQXDH; the first messages are PreKey messages until the device replies).
   */
  async encryptOutbound(business: BusinessEntry, device: DeviceEntry, plaintext: Uint8Array): Promise<Ciphertext> {
    const { wa_id: waId, device_id: deviceId } = device.record;
    return this.withSession(business, waId, deviceId, async () => {
      const { local } = await this.local(business);
      const { record, version } = await this.load(business, waId, deviceId);
      if (!record.hasCurrentSession()) {
        const bundle = await this.devices.bundleOf(device);
        processPreKeyBundle(this.backend, local, record, bundle);
      }
      const ciphertext = encryptMessage(this.backend, local, record, plaintext);
      await this.save(business, waId, deviceId, record, version);
      return ciphertext;
    });
  }
}
