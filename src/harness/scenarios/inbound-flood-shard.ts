/**
 * `inbound-flood` as one shard of a run over N generators (scenario-shard.ts; docs/load.md
 * "Sharded scenarios"). The run's devices (one per user) are numbered 0 … D−1, D the profile's
 * `inboundFlood.devices` rounded up to a multiple of N; device k belongs to shard k mod N. Shard
 * i has business i, and its devices write to that business only.
 *
 * Each shard prepares its part as the scenario does: it registers its devices, each starts its
 * session from the business's prekey bundle (PQXDH on the device side), and the devices encrypt,
 * before T0, every message the shard will send: request j of the schedule is device j mod D's
 * message number ⌊j / D⌋ (the server refuses replays, so none is sent twice). From T0 the shard
 * sends its requests of the schedule; the server decrypts each and forwards it to the business's
 * webhook on this shard's receiver. After the schedule it checks its part: every message
 * accepted and forwarded once, every forwarded plaintext the device's, every webhook signature
 * valid, a replayed ciphertext refused, and the read-only part of the compliance
 * audit (retention is left out: its 31-day clock move and sweep would hit shards still sending). The closed-model
 * figure (forwarded per second) and its anchor are not produced, as for mass-messaging.
 */
import { ownedCount, ownedIndices } from '../load/shard.js';
import type { Check } from '../result/result.js';
import type { InboundRequest } from '../device/fleet.js';
import { checkCompliance } from './compliance.js';
import { checkInboundIntegrity, inboundSends } from './inbound-flood.js';
import { LOAD_SIZES } from '../load/sizes.js';
import { openShardStage, sendShardPart, shardedCount, type ScenarioShardFile, type ScenarioShardOptions } from './scenario-shard.js';

const SCOPE = 'load/inbound-flood';

export async function runInboundFloodShard(options: ScenarioShardOptions): Promise<ScenarioShardFile> {
  const { shard } = options;
  const planned = { ...LOAD_SIZES[options.profile], ...options.sizes }.inboundFlood;
  const deviceCount = shardedCount(planned.devices, shard.count);
  const stage = await openShardStage(options);
  const log = stage.log;
  try {
    // Device k is user number k + 1's device 1; business i is number i + 1.
    const mine = ownedIndices(shard, deviceCount);
    const business = await stage.businessAt(shard.index + 1, { region: 'IN' });
    const { devices } = await stage.usersAt(mine.map((k) => k + 1), 1);
    await stage.fleet.openSessions(business.phone_number_id);
    // Every message this shard sends, made now: device k sends the requests j with j mod D = k.
    const scheduled = options.schedule.count;
    const made = await Promise.all(
      mine.map((k, local) => {
        const perDevice = ownedCount({ index: k, count: deviceCount }, scheduled);
        return perDevice === 0 ? Promise.resolve([]) : stage.fleet.makeInbound(business.phone_number_id, perDevice, `${stage.canary} inbound`, [devices[local]!]);
      }),
    );
    const byDevice = new Map<number, InboundRequest[]>(mine.map((k, local) => [k, made[local]!]));
    const prepared = made.reduce((n, list) => n + list.length, 0);
    log(`${SCOPE} shard ${shard.index}/${shard.count}: ${devices.length} of the run's ${deviceCount} devices, ${prepared} fresh ciphertexts made (${stage.fleet.signal} devices)`);

    const tally = stage.webhooks.business(business.label).tally;
    const part = await sendShardPart(stage, options, SCOPE, {
      ...inboundSends(stage, (j) => {
        const k = j % deviceCount;
        const r = byDevice.get(k)?.[Math.floor(j / deviceCount)];
        if (!r) throw new Error(`request ${j} has no prepared ciphertext (device ${k} is not shard ${shard.index}/${shard.count}'s)`);
        return r;
      }),
    });

    const checks: Check[] = [];
    const sent = part.requests.sent;
    const accepted = part.requests.completed - part.requests.non2xx;
    await stage.settleWebhooks(() => tally.messages >= accepted, 30_000);
    checks.push({
      id: `${SCOPE}/all-decrypted-and-forwarded`,
      passed: sent === prepared && accepted === sent && tally.messages === sent,
      detail: `${accepted}/${sent} accepted (2xx) of ${prepared} prepared, ${tally.messages} forwarded to the webhook (distinct message ids; ${tally.redelivered} redelivered, at least once)`,
    });
    // A replay of one of the shard's sent requests must be refused and forward nothing.
    checks.push(...(await checkInboundIntegrity(stage, business.label, made.find((list) => list.length > 0)![0]!)));
    checks.push(...(await checkCompliance(stage.client, { scope: SCOPE, canary: stage.canary, regional: [{ phoneNumberId: business.phone_number_id, region: business.region, wamids: [] }], retention: false })));
    return {
      ...part,
      scenario: 'inbound-flood',
      checks,
      population: { entities: deviceCount, shard_entities: devices.length, devices_per_user: 1, run_prefix: stage.runPrefix },
    };
  } finally {
    await stage.close();
  }
}
