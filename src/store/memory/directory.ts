/**
 * The memory store's BusinessDirectoryStore (the business directory: profiles, their region and access-token lookup).
 */
import { REGIONS, StoreError } from '../store.js';
import type { BusinessDirectoryStore, BusinessRecord } from '../store.js';
import { MemoryContext } from './context.js';

export function memoryBusinessDirectory(ctx: MemoryContext): BusinessDirectoryStore {
  const directory: BusinessDirectoryStore = {
    async createBusiness(business: BusinessRecord): Promise<void> {
      if (!REGIONS.includes(business.region)) throw new StoreError('invalid', `unknown region ${String(business.region)}`);
      if (ctx.businessRegion.has(business.phone_number_id)) throw new StoreError('exists', `business ${business.phone_number_id}`);
      if (ctx.businessByToken.has(business.access_token_hash)) throw new StoreError('exists', 'access token hash');
      ctx.partition(business.region).businesses.set(business.phone_number_id, business);
      ctx.businessRegion.set(business.phone_number_id, business.region);
      ctx.businessByToken.set(business.access_token_hash, business.phone_number_id);
    },

    async getBusiness(phoneNumberId: string): Promise<BusinessRecord | undefined> {
      const region = ctx.businessRegion.get(phoneNumberId);
      return region === undefined ? undefined : ctx.partition(region).businesses.get(phoneNumberId);
    },

    async getBusinessByTokenHash(accessTokenHash: string): Promise<BusinessRecord | undefined> {
      const pnid = ctx.businessByToken.get(accessTokenHash);
      return pnid === undefined ? undefined : directory.getBusiness(pnid);
    },

    async updateBusinessProfile(phoneNumberId: string, sealedProfile: Uint8Array): Promise<void> {
      const partition = ctx.businessPartition(phoneNumberId);
      const business = partition.businesses.get(phoneNumberId)!;
      partition.businesses.set(phoneNumberId, { ...business, sealed_profile: sealedProfile });
    },

    async listBusinesses(): Promise<readonly BusinessRecord[]> {
      const out: BusinessRecord[] = [];
      for (const partition of ctx.partitions.values()) out.push(...partition.businesses.values());
      return out;
    },
  };
  return directory;
}
