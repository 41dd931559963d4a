/**
 * `mass-messaging`: a business sends a template to N users with d devices each (first contact:
 * the server sets up a PQXDH session per device), the devices drain their inboxes, decrypt and
 * send receipts, every user writes back once (opening the service window), then the business
 * sends free-form text follow-ups on the established sessions. Statuses and inbound messages
 * flow to the webhook receiver, which checks every signature.
 *
 * Figures: first-contact sends/s; follow-up sends/s (closed model, `connections` connections,
 * the `server-send-vs-bare-http` anchor against a bare handler's windows beside them); with
 * `options.capacity`, the capacity of follow-ups at the SLO (open model), p99 and server CPU per
 * send at 70 % of it (load/capacity-at-slo.ts: anchors `server-p99-at-70pct-capacity-vs-bare-http`
 * and `server-cpu-per-send-vs-bare`). Every figure has one sample per repetition: first contact
 * goes to a fresh group of users per repetition; follow-ups run several short closed windows
 * against the same warmed server. Anchors divide medians. With `options.openSchedule` (a load
 * shape), `follow-up-shaped-latency-p99`: one open-model run of follow-ups on that schedule, with
 * its per-second time series and the server's telemetry (load/shaped-run.ts).
 */
import { runClosedLoop, type ClosedLoopReport } from '../load/closed-loop-driver.js';
import { runOpenLoop } from '../load/open-loop-driver.js';
import { latencyDistribution, mergedLatencyDistribution, type LatencyHistogram } from '../load/histogram.js';
import { loadAnchor } from '../load/anchor.js';
import { median } from '../statistics/stats.js';
import { mergeQuality, type Quality } from '../load/generator-guard.js';
import { BareHandler, baselineFigures } from './baseline.js';
import { checkCompliance } from './compliance.js';
import { LOAD_SIZES } from '../load/sizes.js';
import { ScenarioStage, wamidCollector, type LoadFigure, type LoadScenarioOptions, type LoadScenarioResult, type StagedBusiness } from './stage.js';
import type { FleetDeviceId } from '../device/fleet.js';
import type { Anchor, Check } from '../result/result.js';
import { openLoopStepRunner } from '../load/capacity-search.js';
import { measureCapacityAtSlo } from './capacity-at-slo.js';
import { buildSchedule } from '../load/schedule.js';
import { runShapedFigure } from '../load/shaped-run.js';

const SCOPE = 'load/mass-messaging';

export async function runMassMessagingScenario(options: LoadScenarioOptions): Promise<LoadScenarioResult> {
  // One business contacting every user first, on purpose: at `ci` size (200 users) that is
  // more cold contacts than the spam guard's floor (100), and the guard rightly stopped the
  // measured business half way (131048). The guard is the spam-pattern scenario's subject; here
  // its floor is raised above this scenario's users (a server the harness starts; against
  // --target the operator's guard applies, and refused sends show in the quality notes).
  const plannedUsers = { ...LOAD_SIZES[options.profile], ...options.sizes }.massMessaging.users;
  const stage = await ScenarioStage.open(options, { minColdUsers: plannedUsers + 1 });
  const log = stage.log;
  try {
    const sizes = stage.sizes;
    const { users, devicesPerUser } = sizes.massMessaging;
    const business = await stage.business({ region: 'DE', messaging_limit: 'TIER_UNLIMITED' });
    const { waIds, devices } = await stage.users(users, devicesPerUser);
    log(`${SCOPE}: ${users} users × ${devicesPerUser} devices registered (${stage.fleet.signal} devices)`);
    const { url, headers } = stage.sendEndpoint(business);
    const { wamids, collect } = wamidCollector();
    const figures: LoadFigure[] = [];
    const checks: Check[] = [];
    const anchors: Anchor[] = [];

    // 1. First contact: one template per user; the server runs PQXDH for each of the user's devices.
    // One repetition per group of users (first contact happens once per user).
    const groups = Math.max(1, Math.min(sizes.repetitions, users));
    const perGroup = Math.floor(users / groups);
    const firstContactRates: number[] = [];
    const firstContactQualities: Quality[] = [];
    let firstContactConnections = 0;
    for (let g = 0; g < groups; g++) {
      const group = waIds.slice(g * perGroup, g === groups - 1 ? users : (g + 1) * perGroup);
      const run = await sendFirstContact(stage, { url, headers }, group, collect);
      firstContactRates.push(run.requests_per_s);
      firstContactQualities.push(run.quality);
      firstContactConnections = run.connections;
    }
    let k = 0;
    figures.push({
      id: `${SCOPE}/first-contact-sends`,
      unit: 'msgs/s',
      better: 'higher',
      params: { users, devices_per_user: devicesPerUser, users_per_repetition: perGroup, connections: firstContactConnections, device_signal: stage.fleet.signal },
      samples: firstContactRates,
      quality: mergeQuality(...firstContactQualities),
    });

    // 2–3. Devices drain, decrypt and receipt; every user writes back once (opens the service window).
    const prepared = await receiveAndReply(stage, business, waIds, devices);
    checks.push(...prepared.checks);

    // 4. Follow-ups on established sessions, closed model, same connections and duration as the baseline.
    // Warm-up (not recorded): the repetitions measure a warmed server. Fewer sends leave V8 still
    // compiling the send path in the first measured windows (TurboFan in the server's profile,
    // docs/measurements.md); 100 per connection (≥ 800) and at most 3 s leaves it optimised.
    (
      await runClosedLoop({
        url,
        connections: sizes.connections,
        durationSeconds: 3,
        maxRequests: Math.max(800, sizes.connections * 100),
        method: 'POST',
        headers,
        requestAt: () => ({ body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.text(waIds[k++ % users]!, 'warm-up follow-up') }) }),
        onResponse: collect,
      })
    ).histogram.destroy();
    const followUpRates: number[] = [];
    const followUpQualities: Quality[] = [];
    // The bare handler's windows are taken beside these (BareHandler.beside), so the anchor
    // divides figures measured together.
    const paired = await BareHandler.start(sizes.connections);
    let lastClosed;
    try {
      for (let r = 0; r < sizes.repetitions; r++) {
        const run = await paired.beside(r, sizes.closedSeconds, () =>
          runClosedLoop({
            url,
            connections: sizes.connections,
            durationSeconds: sizes.closedSeconds,
            method: 'POST',
            headers,
            requestAt: () => ({ body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.text(waIds[k++ % users]!, 'follow-up') }) }),
            onResponse: collect,
          }),
        );
        followUpRates.push(run.report.requests_per_s);
        followUpQualities.push(run.report.quality);
        if (lastClosed) lastClosed.histogram.destroy();
        lastClosed = run;
      }
    } finally {
      await paired.stop();
    }
    const followUpQuality = mergeQuality(...followUpQualities);
    figures.push({
      id: `${SCOPE}/follow-up-sends`,
      unit: 'msgs/s',
      better: 'higher',
      params: { users, devices_per_user: devicesPerUser, connections: sizes.connections, duration_s: sizes.closedSeconds, device_signal: stage.fleet.signal },
      samples: followUpRates,
      latency: latencyDistribution(lastClosed!.histogram),
      quality: followUpQuality,
    });
    figures.push(paired.pairedFigure(SCOPE, sizes.closedSeconds));
    lastClosed!.histogram.destroy();
    const sendRate = median(followUpRates);
    const bareRate = median(paired.rates);
    log(`${SCOPE}: follow-ups ${Math.round(sendRate)} msgs/s, bare handler beside them ${Math.round(bareRate)} req/s (medians of ${followUpRates.length})`);
    anchors.push(loadAnchor({ id: 'server-send-vs-bare-http', ours: sendRate, theirs: bareRate, unit: 'req/s', goal: { op: '>=', value: 0.5 }, inputs: [followUpQuality, paired.quality] }));

    // 6. Devices drain everything and send read receipts; every accepted message must come back as a status.
    checks.push(...(await checkDelivery(stage, business.label, wamids, prepared.texts)));

    // With a load shape (--shape/--stages/--arrivals): follow-ups on that schedule, once, with the
    // per-second time series and server telemetry (after the checks, as the capacity search).
    if (options.openSchedule) {
      figures.push(
        await runShapedFigure({
          id: `${SCOPE}/follow-up-shaped-latency-p99`,
          schedule: buildSchedule(options.openSchedule),
          request: {
            url,
            connections: sizes.connections,
            method: 'POST',
            headers,
            requestAt: () => ({ body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.text(waIds[k++ % users]!, 'shaped follow-up') }) }),
          },
          ...(stage.telemetry ? { telemetry: stage.telemetry } : {}),
          params: { users, devices_per_user: devicesPerUser, device_signal: stage.fleet.signal, store: options.store ?? 'memory' },
          log,
        }),
      );
    }

    // 7. Capacity at the SLO (open model, follow-ups on the established sessions), after the
    // checks above so that their drains do not have to decrypt the search's thousands of sends.
    if (options.capacity) {
      const capacity = await measureCapacityAtSlo({
        scope: SCOPE,
        per: 'send',
        unit: 'msgs/s',
        sizes,
        options: options.capacity,
        step: openLoopStepRunner(
          {
            url,
            connections: sizes.connections,
            method: 'POST',
            headers,
            requestAt: () => ({ body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.text(waIds[k++ % users]!, 'capacity follow-up') }) }),
          },
          options.capacity.slo,
        ),
        ...(stage.server.pid !== undefined ? { serverPid: stage.server.pid } : {}),
        params: { users, devices_per_user: devicesPerUser, connections: sizes.connections, device_signal: stage.fleet.signal, store: options.store ?? 'memory' },
        log,
      });
      figures.push(...capacity.figures);
      anchors.push(...capacity.anchors);
    }

    checks.push(...(await checkCompliance(stage.client, { scope: SCOPE, canary: stage.canary, regional: [{ phoneNumberId: business.phone_number_id, region: business.region, wamids }] })));
    return { figures, anchors, checks, target: stage.targetInfo };
  } finally {
    await stage.close();
  }
}

/**
 * The checks after a scenario's last send: the devices drain everything and send read receipts
 * (every ciphertext decrypts, every plaintext — `earlierTexts` included — carries the canary),
 * every accepted wamid comes back as a delivered/read status webhook, and no webhook had a bad
 * signature or a malformed payload.
 */
export async function checkDelivery(stage: ScenarioStage, businessLabel: string, wamids: ReadonlySet<string>, earlierTexts: readonly string[]): Promise<Check[]> {
  const checks: Check[] = [];
  const drain = await stage.fleet.drain({ receipt: 'read', keepTexts: true });
  const plaintextOk = [...earlierTexts, ...drain.texts].every((t) => t.includes(stage.canary));
  checks.push({
    id: `${SCOPE}/devices-decrypt-all`,
    passed: drain.failed === 0 && plaintextOk,
    detail: `${drain.decrypted} follow-up ciphertexts decrypted, ${drain.failed} failed; plaintexts ${plaintextOk ? 'intact' : 'NOT intact'}${drain.errors.length ? `: ${drain.errors.join('; ')}` : ''}`,
  });
  const statusById = stage.webhooks.business(businessLabel).statusById;
  const receipted = (): number => [...wamids].filter((id) => statusById.get(id)?.has('read') || statusById.get(id)?.has('delivered')).length;
  await stage.settleWebhooks(() => receipted() >= wamids.size, 30_000);
  const total = stage.webhooks.total();
  checks.push({
    id: `${SCOPE}/statuses-delivered`,
    passed: receipted() === wamids.size && wamids.size > 0,
    detail: `${receipted()}/${wamids.size} accepted messages came back as delivered/read status webhooks (statuses: ${JSON.stringify(total.statuses)}; ${drain.receiptsSent} receipts sent${drain.errors.length ? `; ${drain.errors.join('; ')}` : ''})`,
  });
  checks.push(stage.signaturesCheck(SCOPE));
  return checks;
}

/**
 * First contact: one template to each of `waIds` (the server sets up a PQXDH session for each of
 * the user's devices), closed model, as many connections as the profile has.
 */
export async function sendFirstContact(
  stage: ScenarioStage,
  endpoint: { url: string; headers: Record<string, string> },
  waIds: readonly string[],
  collect: (status: number, body: string) => void,
  allowRemote = false,
): Promise<ClosedLoopReport> {
  let j = 0;
  const run = await runClosedLoop({
    ...endpoint,
    connections: Math.min(stage.sizes.connections, waIds.length),
    durationSeconds: 60,
    maxRequests: waIds.length,
    allowRemote,
    method: 'POST',
    requestAt: () => ({ body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.template(waIds[j++ % waIds.length]!, 'first contact') }) }),
    onResponse: collect,
  });
  run.histogram.destroy();
  return run.report;
}

/**
 * After first contact: the devices drain, decrypt (PreKey messages: the session is set up on the
 * device side) and receipt; then every user writes back once from device 1, which opens the 24 h
 * window for free-form follow-ups. Checks both; returns the first plaintexts for the final check.
 */
export async function receiveAndReply(stage: ScenarioStage, business: StagedBusiness, waIds: readonly string[], devices: readonly FleetDeviceId[]): Promise<{ checks: Check[]; texts: string[] }> {
  const users = waIds.length;
  const ciphertexts = devices.length;
  const drain = await stage.fleet.drain({ receipt: 'delivered', keepTexts: true });
  const checks: Check[] = [
    {
      id: `${SCOPE}/devices-decrypt-first-contact`,
      passed: drain.decrypted === ciphertexts && drain.failed === 0,
      detail: `${drain.decrypted}/${ciphertexts} first-contact ciphertexts decrypted, ${drain.failed} failed${drain.errors.length ? `: ${drain.errors.join('; ')}` : ''}`,
    },
  ];
  const inbound = await stage.fleet.sendInbound(
    business.phone_number_id,
    `${stage.canary} reply`,
    devices.filter((d) => d.device_id === 1),
  );
  const forwarded = (): number => stage.webhooks.business(business.label).tally.messages;
  await stage.settleWebhooks(() => forwarded() >= inbound.accepted, 15_000);
  checks.push({
    id: `${SCOPE}/replies-forwarded`,
    passed: inbound.accepted === users && forwarded() === users,
    detail: `${inbound.accepted}/${users} replies accepted, ${forwarded()} forwarded to the webhook${inbound.errors.length ? `: ${inbound.errors.join('; ')}` : ''}`,
  });
  return { checks, texts: drain.texts };
}
