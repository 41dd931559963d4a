/**
 * The memory store's SessionStore (the business's Signal sessions with user devices (compare-and-set)).
 */
import { StoreError, recordKey } from '../store.js';
import type { SessionStore, SessionRecord } from '../store.js';
import { deviceAddress, MemoryContext } from './context.js';

export function memorySessions(ctx: MemoryContext): SessionStore {
  return {
    async getSession(phoneNumberId: string, waId: string, deviceId: number): Promise<SessionRecord | undefined> {
      const region = ctx.businessRegion.get(phoneNumberId);
      if (region === undefined) return undefined;
      const s = ctx.partition(region).sessions.get(deviceAddress(waId, deviceId))?.get(phoneNumberId);
      return s === undefined ? undefined : { sealed: s.sealed, version: s.version };
    },

    async putSession(phoneNumberId: string, waId: string, deviceId: number, sealed: Uint8Array, expectedVersion: number): Promise<number> {
      const partition = ctx.businessPartition(phoneNumberId);
      ctx.device(waId, deviceId);
      const address = deviceAddress(waId, deviceId);
      let byBusiness = partition.sessions.get(address);
      const current = byBusiness?.get(phoneNumberId);
      if ((current?.version ?? 0) !== expectedVersion) {
        throw new StoreError('conflict', `session ${recordKey.session(phoneNumberId, waId, deviceId)} is at version ${current?.version ?? 0}, not ${expectedVersion}`);
      }
      if (byBusiness === undefined) partition.sessions.set(address, (byBusiness = new Map()));
      const version = ++ctx.sessionVersion;
      byBusiness.set(phoneNumberId, { sealed, version, stored_at_ms: ctx.now() });
      if (current === undefined) ctx.counts.sessions += 1;
      return version;
    },

    async deleteSession(phoneNumberId: string, waId: string, deviceId: number): Promise<void> {
      const region = ctx.businessRegion.get(phoneNumberId);
      if (region === undefined) return;
      const partition = ctx.partition(region);
      const address = deviceAddress(waId, deviceId);
      const byBusiness = partition.sessions.get(address);
      if (byBusiness?.delete(phoneNumberId) === true) {
        ctx.counts.sessions -= 1;
        if (byBusiness.size === 0) partition.sessions.delete(address);
      }
    },
  };
}
