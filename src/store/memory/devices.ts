/**
 * The memory store's DeviceStore (users and their devices, device keys and one-time prekeys (home region)).
 */
import { StoreError } from '../store.js';
import type { DeviceStore, ContactRecord, DeviceKeysUpdate, DeviceRecord, RegisterDeviceResult, SealedPreKey } from '../store.js';
import { deviceAddress, MemoryContext, type StoredDevice } from './context.js';

export function memoryDevices(ctx: MemoryContext): DeviceStore {
  return {
    async registerDevice(device: DeviceRecord, oneTimePreKeys: readonly SealedPreKey[]): Promise<RegisterDeviceResult> {
      if (!Number.isInteger(device.device_id) || device.device_id < 1) throw new StoreError('invalid', 'device_id');
      const owner = ctx.deviceByToken.get(device.token_hash);
      if (owner !== undefined && (owner.record.wa_id !== device.wa_id || owner.record.device_id !== device.device_id)) {
        throw new StoreError('exists', 'device token hash');
      }
      const identity = device.identity_key_hash === undefined ? undefined : ctx.identityOwner.get(device.identity_key_hash);
      if (identity !== undefined && identity.waId !== device.wa_id) throw new StoreError('exists', 'identity_key is registered to another wa_id');
      const contact = ctx.touchUser(device.wa_id, device.registered_at_ms);
      const old = contact.devices.get(device.device_id);
      let sessionsDropped = 0;
      if (old !== undefined) {
        ctx.deviceByToken.delete(old.record.token_hash);
        ctx.releaseIdentity(old.record);
        sessionsDropped = ctx.dropSessions(deviceAddress(device.wa_id, device.device_id));
        ctx.dropInbox(deviceAddress(device.wa_id, device.device_id));
      } else {
        ctx.counts.devices += 1;
      }
      const nowMs = ctx.now();
      const stored: StoredDevice = { record: device, preKeys: new Map(oneTimePreKeys.map((p) => [p.id, { preKey: p, stored_at_ms: nowMs }])) };
      contact.devices.set(device.device_id, stored);
      ctx.deviceByToken.set(device.token_hash, stored);
      if (device.identity_key_hash !== undefined) {
        const owner = ctx.identityOwner.get(device.identity_key_hash) ?? { waId: device.wa_id, devices: 0 };
        owner.devices += 1;
        ctx.identityOwner.set(device.identity_key_hash, owner);
      }
      return { replaced: old !== undefined, sessions_dropped: sessionsDropped };
    },

    async updateDeviceKeys(waId: string, deviceId: number, update: DeviceKeysUpdate): Promise<void> {
      const device = ctx.device(waId, deviceId);
      if (update.max_one_time_pre_keys !== undefined) {
        let after = device.preKeys.size;
        for (const preKey of update.add_one_time_pre_keys ?? []) if (!device.preKeys.has(preKey.id)) after++;
        if (after > update.max_one_time_pre_keys) throw new StoreError('invalid', `the device would hold ${after} one-time prekeys; at most ${update.max_one_time_pre_keys} are kept`);
      }
      if (update.sealed_keys !== undefined) device.record = { ...device.record, sealed_keys: update.sealed_keys };
      const nowMs = ctx.now();
      for (const preKey of update.add_one_time_pre_keys ?? []) device.preKeys.set(preKey.id, { preKey, stored_at_ms: nowMs });
    },

    async getDevice(waId: string, deviceId: number): Promise<DeviceRecord | undefined> {
      return ctx.contacts.get(waId)?.devices.get(deviceId)?.record;
    },

    async getDeviceByTokenHash(tokenHash: string): Promise<DeviceRecord | undefined> {
      return ctx.deviceByToken.get(tokenHash)?.record;
    },

    async listDevices(waId: string): Promise<readonly DeviceRecord[]> {
      const contact = ctx.contacts.get(waId);
      if (contact === undefined) return [];
      const records: DeviceRecord[] = [];
      for (const d of contact.devices.values()) records.push(d.record);
      return records.length > 1 ? records.sort((a, b) => a.device_id - b.device_id) : records;
    },

    async takeDevicePreKey(waId: string, deviceId: number): Promise<SealedPreKey | undefined> {
      const pool = ctx.contacts.get(waId)?.devices.get(deviceId)?.preKeys;
      if (pool === undefined) return undefined;
      for (const [id, stored] of pool) {
        pool.delete(id);
        return stored.preKey;
      }
      return undefined;
    },

    async devicePreKeyCount(waId: string, deviceId: number): Promise<number> {
      return ctx.contacts.get(waId)?.devices.get(deviceId)?.preKeys.size ?? 0;
    },

    async getContact(waId: string): Promise<ContactRecord | undefined> {
      const c = ctx.contacts.get(waId);
      return c === undefined ? undefined : { wa_id: c.wa_id, created_at_ms: c.created_at_ms, last_activity_ms: c.last_activity_ms };
    },
  };
}
