/** Shared fixtures for the store, retention, webhook and audit tests. */
import { createHash, randomBytes } from 'node:crypto';
import { AtRest } from '../../src/server/at-rest.js';
import { recordKey } from '../../src/store/store.js';
import type { BusinessRecord, DeviceRecord, Region, Store } from '../../src/store/store.js';

export const utf8 = new TextEncoder();
export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

export interface BusinessProfile {
  display_phone_number: string;
  webhook_url: string;
  app_secret: string;
  verify_token: string;
}

let nextNumber = 100_000;

/** Creates a business with a sealed profile; returns its record. */
export async function createBusiness(
  store: Store,
  atRest: AtRest,
  options: { region?: Region; now_ms?: number; webhook_url?: string; app_secret?: string } = {},
): Promise<BusinessRecord> {
  const pnid = String(nextNumber++);
  const region = options.region ?? 'US';
  const { wrapped_data_key } = atRest.createDataKey(region, pnid);
  const profile: BusinessProfile = {
    display_phone_number: `1555${pnid}`,
    webhook_url: options.webhook_url ?? 'http://127.0.0.1:9/none',
    app_secret: options.app_secret ?? randomBytes(16).toString('hex'),
    verify_token: 'verify-me',
  };
  const partial = { phone_number_id: pnid, region, wrapped_data_key };
  const business: BusinessRecord = {
    phone_number_id: pnid,
    waba_id: `w${pnid}`,
    region,
    access_token_hash: tokenHash(`token-${pnid}-${randomBytes(4).toString('hex')}`),
    created_at_ms: options.now_ms ?? 0,
    wrapped_data_key,
    sealed_profile: atRest.sealJsonForBusiness(partial, 'business', recordKey.business(pnid), profile),
  };
  await store.createBusiness(business);
  return business;
}

export function openProfile(atRest: AtRest, business: BusinessRecord): BusinessProfile {
  return atRest.openJsonForBusiness<BusinessProfile>(business, 'business', recordKey.business(business.phone_number_id), business.sealed_profile);
}

/** Registers a device with `preKeys` one-time prekeys; returns its record. */
export async function registerDevice(store: Store, atRest: AtRest, waId: string, deviceId: number, nowMs: number, preKeys = 0): Promise<DeviceRecord> {
  const device: DeviceRecord = {
    wa_id: waId,
    device_id: deviceId,
    token_hash: tokenHash(`device-${waId}-${deviceId}-${randomBytes(4).toString('hex')}`),
    registered_at_ms: nowMs,
    sealed_keys: atRest.sealForContact(recordKey.device(waId, deviceId), utf8.encode(JSON.stringify({ identity_key: 'BQ…', registration_id: 7 }))),
  };
  const oneTime = Array.from({ length: preKeys }, (_, i) => ({ id: i + 1, sealed: atRest.sealForContact(recordKey.devicePreKey(waId, deviceId, i + 1), utf8.encode(`pk${i + 1}`)) }));
  await store.registerDevice(device, oneTime);
  return device;
}
