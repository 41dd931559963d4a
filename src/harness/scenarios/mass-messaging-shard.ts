/**
 * `mass-messaging` as one shard of a run spread over N generators:
 * `npm run load -- --scenario mass-messaging --target <url> --shard I/N --start-at <T0>
 * (--rate r --duration s | --shape … | --stages … | --arrivals …) --out shard-I.json`.
 *
 * The population is partitioned by load/shard.ts's rule and named from the run, so N generators
 * that never talk to each other build disjoint parts of one population:
 * - the run's users are numbered 0 … U−1, U the profile's `massMessaging.users` rounded up to a
 *   multiple of N; user k belongs to shard k mod N, and its wa_id derives from the run prefix
 *   and k (the prefix derives from T0, which every shard is given);
 * - business i belongs to shard i; a run has N of them, one per shard, each sending to its
 *   shard's users only. The single-generator scenario's one business cannot be split without a
 *   shared secret; a business per shard keeps every send the same work for the server (the
 *   scenario's limits sit far above the load).
 *
 * Each shard prepares its part as the scenario does (registers its users' devices, first
 * contact by template, the devices decrypt and receipt, every user writes back once to open the
 * service window) and then, at T0, sends its requests of the schedule: request j goes to user
 * j mod U, which belongs to this shard because N divides U. So the shards' requests, users and
 * due times together are the single run's (`--shard 0/1`), and their result files — the same as
 * a `--url` shard's, with the scenario's checks — add up exactly in `npm run merge`.
 * After the schedule the shard checks its part: every ciphertext decrypted with the canary
 * intact, every accepted send back as a status webhook, every webhook signature valid, and the
 * compliance audit on the server. Closed-model figures and anchors are not produced: a closed
 * model's throughput depends on each generator's connections and does not add up.
 */
import { runClosedLoop } from '../load/closed-loop-driver.js';
import { runOpenLoop } from '../load/open-loop-driver.js';
import { latencyDistribution } from '../load/histogram.js';
import { errorsByCode, type LoadResultFile } from '../load/load-result-file.js';
import { ownedIndices, type Shard } from '../load/shard.js';
import type { ArrivalSchedule } from '../load/schedule.js';
import { captureEnvironment } from '../result/environment.js';
import type { Check } from '../result/result.js';
import { checkCompliance } from './compliance.js';
import { checkDelivery } from './mass-messaging.js';
import { ScenarioStage, wamidCollector, type LoadScenarioOptions } from './stage.js';
import { LOAD_SIZES } from '../load/sizes.js';
import type { ExternalTarget } from '../load/target.js';
import { KindedError } from '../../kinded-error.js';

const SCOPE = 'load/mass-messaging';

export type ScenarioShardErrorKind = 'needs-target' | 'not-shardable';

export class ScenarioShardError extends KindedError<ScenarioShardErrorKind> {}

/** Scenarios that run as shards (the others refuse `--shard`). */
export const SHARDABLE_SCENARIOS: ReadonlySet<string> = new Set(['mass-messaging']);

export interface ScenarioShardOptions extends LoadScenarioOptions {
  /** The one server every shard drives (a load balancer in front of several processes, say). */
  target: ExternalTarget;
  shard: Shard;
  /** T0, epoch ms: the same instant on every shard. */
  startAtEpochMs: number;
  /** The run's schedule of follow-up sends (every shard is given the same). */
  schedule: ArrivalSchedule;
  /** Keep-alive sockets of this shard's open-model phase. @default the profile's connections */
  connections?: number;
  /** Send load to a target that is not on loopback (`--allow-remote`). @default false */
  allowRemote?: boolean;
}

/** A shard's result file: a load result file with the scenario's name, its checks and its part of the population. */
export interface ScenarioShardFile extends LoadResultFile {
  scenario: string;
  checks: Check[];
  population: { users: number; shard_users: number; devices_per_user: number; run_prefix: number };
}

/**
 * The run's user count for `count` shards: the profile's, rounded up to a multiple of the shard
 * count so that request j's user (j mod U) belongs to request j's shard.
 */
export function shardedUserCount(users: number, count: number): number {
  return Math.ceil(Math.max(users, 1) / count) * count;
}

/** The run prefix of every wa_id and business number of a run starting at T0 (7 digits, the same on every shard; it repeats only every 9·10^6 s). */
export function runPrefixFor(startAtEpochMs: number): number {
  return 1_000_000 + (Math.floor(startAtEpochMs / 1000) % 9_000_000);
}

export async function runMassMessagingShard(options: ScenarioShardOptions): Promise<ScenarioShardFile> {
  const { shard } = options;
  if (!options.target) throw new ScenarioShardError('needs-target', 'a sharded scenario needs --target: every shard must drive the same server');
  const planned = { ...LOAD_SIZES[options.profile], ...options.sizes }.massMessaging;
  const users = shardedUserCount(planned.users, shard.count);
  const runPrefix = runPrefixFor(options.startAtEpochMs);
  const stage = await ScenarioStage.open(options, {}, { runPrefix });
  const log = stage.log;
  try {
    const sizes = stage.sizes;
    const { devicesPerUser } = sizes.massMessaging;
    // User k is wa_id waIdAt(k + 1) (user numbers start at 1); business i is number i + 1.
    const mine = ownedIndices(shard, users);
    const business = await stage.businessAt(shard.index + 1, { region: 'DE', messaging_limit: 'TIER_UNLIMITED' });
    const { waIds, devices } = await stage.usersAt(mine.map((k) => k + 1), devicesPerUser);
    log(`${SCOPE} shard ${shard.index}/${shard.count}: ${waIds.length} of the run's ${users} users × ${devicesPerUser} devices registered, business ${business.phone_number_id}`);
    const { url, headers } = stage.sendEndpoint(business);
    const { wamids, collect } = wamidCollector();
    const checks: Check[] = [];

    // Preparation (not measured): first contact, the devices decrypt and receipt, every user writes back.
    let next = 0;
    const firstContact = await runClosedLoop({
      url,
      connections: Math.min(sizes.connections, waIds.length),
      durationSeconds: 60,
      maxRequests: waIds.length,
      allowRemote: options.allowRemote ?? false,
      method: 'POST',
      headers,
      requestAt: () => ({ body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.template(waIds[next++ % waIds.length]!, 'first contact') }) }),
      onResponse: collect,
    });
    firstContact.histogram.destroy();
    const firstDrain = await stage.fleet.drain({ receipt: 'delivered', keepTexts: true });
    checks.push({
      id: `${SCOPE}/devices-decrypt-first-contact`,
      passed: wamids.size === waIds.length && firstDrain.decrypted === waIds.length * devicesPerUser && firstDrain.failed === 0,
      detail: `${wamids.size}/${waIds.length} first contacts accepted; ${firstDrain.decrypted}/${waIds.length * devicesPerUser} ciphertexts decrypted, ${firstDrain.failed} failed${firstDrain.errors.length ? `: ${firstDrain.errors.join('; ')}` : ''}`,
    });
    const inbound = await stage.fleet.sendInbound(
      business.phone_number_id,
      `${stage.canary} reply`,
      devices.filter((d) => d.device_id === 1),
    );
    const forwarded = (): number => stage.webhooks.business(business.label).tally.messages;
    await stage.settleWebhooks(() => forwarded() >= inbound.accepted, 15_000);
    checks.push({
      id: `${SCOPE}/replies-forwarded`,
      passed: inbound.accepted === waIds.length && forwarded() === waIds.length,
      detail: `${inbound.accepted}/${waIds.length} replies accepted, ${forwarded()} forwarded to the webhook${inbound.errors.length ? `: ${inbound.errors.join('; ')}` : ''}`,
    });

    // The measured phase: this shard's follow-ups of the run's schedule, from T0.
    const waitS = Math.round((options.startAtEpochMs - Date.now()) / 100) / 10;
    log(`${SCOPE} shard ${shard.index}/${shard.count}: prepared; ${waitS >= 0 ? `starting in ${waitS} s` : `${-waitS} s after --start-at (late: the figure will not be clean)`}`);
    const run = await runOpenLoop({
      url,
      schedule: options.schedule,
      shard,
      startAtEpochMs: options.startAtEpochMs,
      connections: options.connections ?? sizes.connections,
      method: 'POST',
      headers,
      allowRemote: options.allowRemote ?? false,
      timeSeries: true,
      requestAt: (j) => {
        const k = j % users;
        if (k % shard.count !== shard.index) throw new Error(`request ${j} addresses user ${k}, which is not shard ${shard.index}/${shard.count}'s`);
        return { body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.text(stage.waIdAt(k + 1), 'sharded follow-up') }) };
      },
      onResponse: (_j, status, body) => collect(status, body),
    });
    const latency = latencyDistribution(run.histogram);
    run.histogram.destroy();

    // This shard's part checked after the schedule.
    checks.push(...(await checkDelivery(stage, business.label, wamids, firstDrain.texts)));
    checks.push(...(await checkCompliance(stage.client, { scope: SCOPE, canary: stage.canary, regional: [{ phoneNumberId: business.phone_number_id, region: business.region, wamids }] })));

    const report = run.report;
    return {
      ...report,
      errors_by_code: errorsByCode(run.timeSeries),
      latency,
      ...(run.timeSeries ? { time_series: run.timeSeries } : {}),
      environment: await captureEnvironment({ backends: [options.backend ?? 'node'] }),
      scenario: 'mass-messaging',
      checks,
      population: { users, shard_users: waIds.length, devices_per_user: devicesPerUser, run_prefix: runPrefix },
    };
  } finally {
    await stage.close();
  }
}
