/**
 * `mass-messaging` as one shard of a run over N generators (scenario-shard.ts; docs/load.md
 * "Sharded scenarios"). The run's users are numbered 0 … U−1, U the profile's
 * `massMessaging.users` rounded up to a multiple of N; user k belongs to shard k mod N. Shard i
 * has business i, which sends to its users only (the scenario's limits sit far above the load,
 * so a send is the same work for the server whichever business makes it).
 *
 * Each shard prepares its part as the scenario does (registers its users' devices, first
 * contact by template, the devices decrypt and receipt, every user writes back once to open the
 * service window) and then, at T0, sends its follow-ups of the schedule: request j goes to user
 * j mod U, which belongs to this shard because N divides U. So the shards' requests, users and
 * due times together are the single run's (`--shard 0/1`). After the schedule the shard checks
 * its part: every ciphertext decrypted with the canary intact, every accepted send back as a
 * status webhook, every webhook signature valid, and the read-only part of the compliance
 * audit (retention is left out: its 31-day clock move and sweep would hit shards still sending).
 * Closed-model figures and anchors are not produced: a closed model's throughput depends on each
 * generator's connections and does not add up.
 */
import { ownedIndices } from '../load/shard.js';
import type { Check } from '../result/result.js';
import { checkCompliance } from './compliance.js';
import { checkDelivery, receiveAndReply, sendFirstContact } from './mass-messaging.js';
import { wamidCollector } from './stage.js';
import { LOAD_SIZES } from '../load/sizes.js';
import { openShardStage, sendShardPart, shardedCount, type ScenarioShardFile, type ScenarioShardOptions } from './scenario-shard.js';

const SCOPE = 'load/mass-messaging';

export async function runMassMessagingShard(options: ScenarioShardOptions): Promise<ScenarioShardFile> {
  const { shard } = options;
  const planned = { ...LOAD_SIZES[options.profile], ...options.sizes }.massMessaging;
  const users = shardedCount(planned.users, shard.count);
  const stage = await openShardStage(options);
  const log = stage.log;
  try {
    const { devicesPerUser } = stage.sizes.massMessaging;
    // User k is wa_id waIdAt(k + 1) (user numbers start at 1); business i is number i + 1.
    const mine = ownedIndices(shard, users);
    const business = await stage.businessAt(shard.index + 1, { region: 'DE', messaging_limit: 'TIER_UNLIMITED' });
    const { waIds, devices } = await stage.usersAt(mine.map((k) => k + 1), devicesPerUser);
    log(`${SCOPE} shard ${shard.index}/${shard.count}: ${waIds.length} of the run's ${users} users × ${devicesPerUser} devices registered, business ${business.phone_number_id}`);
    const { url, headers } = stage.sendEndpoint(business);
    const { wamids, collect } = wamidCollector();

    // Preparation (not measured): first contact, the devices decrypt and receipt, every user writes back.
    await sendFirstContact(stage, { url, headers }, waIds, collect, options.allowRemote ?? false);
    const prepared = await receiveAndReply(stage, business, waIds, devices);
    const checks: Check[] = [...prepared.checks];

    // The measured phase: this shard's follow-ups of the run's schedule, from T0.
    const part = await sendShardPart(stage, options, SCOPE, {
      url,
      method: 'POST',
      headers,
      // User j mod U: this shard's, since N divides U (scenario-shard.ts).
      requestAt: (j) => ({ body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.text(stage.waIdAt((j % users) + 1), 'sharded follow-up') }) }),
      onResponse: (_j, status, body) => collect(status, body),
    });

    // This shard's part checked after the schedule.
    checks.push(...(await checkDelivery(stage, business.label, wamids, prepared.texts)));
    checks.push(...(await checkCompliance(stage.client, { scope: SCOPE, canary: stage.canary, regional: [{ phoneNumberId: business.phone_number_id, region: business.region, wamids }], retention: false })));

    return {
      ...part,
      scenario: 'mass-messaging',
      checks,
      population: { entities: users, shard_entities: waIds.length, devices_per_user: devicesPerUser, run_prefix: stage.runPrefix },
    };
  } finally {
    await stage.close();
  }
}
