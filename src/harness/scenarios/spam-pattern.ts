/**
 * `spam-pattern`: an abusive business sends templates to every user while legitimate
 * businesses answer their own customers (who wrote to them first, so every legitimate message
 * is a reply inside the service window), and users who got the abuser's messages report it as
 * spam. The server's guards (messaging-limit tier, 131049; unusual-pattern and spam-report
 * guard, 131048) must stop the abuser and refuse no legitimate message.
 *
 * Figures: messages the abuser got through before it was stopped, time from its first send to
 * its first refusal, legitimate messages refused, and the legitimate traffic's throughput and
 * open-model latency without and with the abuser. Anchor `spam-stop-messages`: abuser's
 * accepted messages ÷ its tier (≤ 2), met only with zero legitimate refusals.
 *
 * One sample per repetition: each repetition runs phase A (legitimate traffic alone) and phase
 * B (the same traffic while a fresh abuser business — its own tier count — messages the same
 * users). The anchor divides the median of the abusers' accepted messages.
 */
import { performance } from 'node:perf_hooks';
import { runOpenLoop, type OpenLoopRun } from '../load/open-loop-driver.js';
import { latencyDistribution, mergedLatencyDistribution } from '../load/histogram.js';
import { mergeQuality } from '../load/generator-guard.js';
import { loadAnchor } from '../load/anchor.js';
import { median } from '../statistics/stats.js';
import { checkCompliance } from './compliance.js';
import { ScenarioStage, graphErrorCode, sentWamid, type LoadFigure, type LoadScenarioOptions, type LoadScenarioResult, type StagedBusiness } from './stage.js';
import type { FleetDeviceId } from '../device/fleet.js';
import type { Anchor, Check } from '../result/result.js';

const SCOPE = 'load/spam-pattern';
const TIER_USERS = { TIER_50: 50, TIER_250: 250 } as const;

interface AbuserOutcome {
  accepted: number;
  refused: number;
  /** ms from the first send to the first refusal, undefined if never refused. */
  timeToStopMs: number | undefined;
  refusalCodes: Record<string, number>;
  reached: FleetDeviceId[];
}

export async function runSpamPatternScenario(options: LoadScenarioOptions): Promise<LoadScenarioResult> {
  const stage = await ScenarioStage.open(options);
  const log = stage.log;
  try {
    const sizes = stage.sizes;
    const spec = sizes.spamPattern;
    const tierUsers = TIER_USERS[spec.tier];
    const legit: StagedBusiness[] = [];
    for (let i = 0; i < spec.legitBusinesses; i++) legit.push(await stage.business({ region: i % 2 === 0 ? 'GB' : 'US' }));
    const crowd = await stage.users(spec.users, 1);
    const customers: Array<{ business: StagedBusiness; waId: string; device: FleetDeviceId }> = [];
    for (const business of legit) {
      const own = await stage.users(spec.customersPerBusiness, 1);
      await stage.fleet.openSessions(business.phone_number_id, own.devices);
      const sent = await stage.fleet.sendInbound(business.phone_number_id, `${stage.canary} hello`, own.devices);
      if (sent.refused > 0) throw new Error(`${SCOPE}: customers could not write to their business: ${sent.errors.join('; ')}`);
      own.devices.forEach((device, i) => customers.push({ business, waId: own.waIds[i]!, device }));
    }
    log(`${SCOPE}: ${sizes.repetitions} abusers (${spec.tier}), one per repetition, vs ${spec.users} users; ${legit.length} legitimate businesses with ${customers.length} customers`);
    const allUsers = [...crowd.devices.map((d) => ({ waId: d.wa_id, device: d })), ...customers.map((c) => ({ waId: c.waId, device: c.device }))];

    const figures: LoadFigure[] = [];
    const checks: Check[] = [];
    const anchors: Anchor[] = [];
    const legitWamids = new Map<string, Set<string>>();
    let runs = 0;
    const legitRun = (): Promise<OpenLoopRun> => {
      const offset = runs++;
      return runOpenLoop({
        url: stage.server.target.url,
        ratePerSecond: spec.legitRatePerSecond,
        durationSeconds: sizes.openSeconds,
        connections: sizes.connections,
        method: 'POST',
        timeSeries: true,
        ...(stage.telemetry ? { serverTelemetry: stage.telemetry } : {}),
        requestAt: (index) => {
          // The request index restarts at 0 in every run: offset by the runs before.
          const c = customers[(offset + index) % customers.length]!;
          return {
            path: `/v23.0/${c.business.phone_number_id}/messages`,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${c.business.access_token}` },
            body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.text(c.waId, 'your order shipped') }),
          };
        },
        onResponse: (index, status, body) => {
          const id = status === 200 ? sentWamid(body) : undefined;
          if (id) {
            const c = customers[(offset + index) % customers.length]!;
            let set = legitWamids.get(c.business.label);
            if (!set) legitWamids.set(c.business.label, (set = new Set()));
            set.add(id);
          }
        },
      });
    };

    // One repetition = phase A (legitimate traffic alone) then phase B (the same legitimate
    // traffic while a fresh abuser business messages everyone and users report it).
    const alone: OpenLoopRun[] = [];
    const withAbuser: OpenLoopRun[] = [];
    const campaigns: AbuserOutcome[] = [];
    const refusedPerRepetition: number[] = [];
    let legitFailed = 0;
    for (let r = 0; r < sizes.repetitions; r++) {
      const a = await legitRun();
      const abuser = await stage.business({ messaging_limit: spec.tier });
      const [b, abuse] = await Promise.all([legitRun(), abuserCampaign(stage, abuser, allUsers, spec.reportShare)]);
      alone.push(a);
      withAbuser.push(b);
      campaigns.push(abuse);
      // Refusals are answers (non-2xx); transport errors and timeouts are not the guard's doing and
      // show up in the figures' quality instead.
      refusedPerRepetition.push(a.report.requests.non2xx + b.report.requests.non2xx);
      legitFailed += a.report.requests.errors + b.report.requests.errors;
    }
    const legitRefused = refusedPerRepetition.reduce((x, y) => x + y, 0);
    for (const [phase, runs] of [['alone', alone], ['with-abuser', withAbuser]] as const) {
      const quality = mergeQuality(...runs.map((run) => run.report.quality));
      figures.push({
        id: `${SCOPE}/legit-throughput/${phase}`,
        unit: 'msgs/s',
        better: 'higher',
        params: { rate_per_s: spec.legitRatePerSecond, duration_s: sizes.openSeconds, businesses: legit.length, customers: customers.length },
        samples: runs.map((run) => run.report.completed_rate_per_s),
        quality,
      });
      figures.push({
        id: `${SCOPE}/legit-latency-p99/${phase}`,
        unit: 'ms',
        better: 'lower',
        params: { rate_per_s: spec.legitRatePerSecond, duration_s: sizes.openSeconds },
        samples: runs.map((run) => latencyDistribution(run.histogram).p99),
        latency: mergedLatencyDistribution(runs.map((run) => run.histogram)),
        // The last repetition's per-second series (refusals by Graph code show there).
        ...(runs.at(-1)?.timeSeries ? { time_series: runs.at(-1)!.timeSeries! } : {}),
        quality,
      });
      for (const run of runs) run.histogram.destroy();
    }
    const abuserQuality = { clean: true, notes: [] as string[] };
    const accepted = campaigns.map((c) => c.accepted);
    figures.push({ id: `${SCOPE}/abuser-messages-through`, unit: 'msgs', better: 'lower', params: { tier: spec.tier, users: allUsers.length }, samples: accepted, quality: abuserQuality });
    const stopTimes = campaigns.flatMap((c) => (c.timeToStopMs === undefined ? [] : [Math.round(c.timeToStopMs * 1000) / 1000]));
    if (stopTimes.length > 0) {
      const stopQuality = stopTimes.length === campaigns.length ? abuserQuality : { clean: false, notes: [`the abuser was stopped in ${stopTimes.length} of ${campaigns.length} repetitions`] };
      figures.push({ id: `${SCOPE}/time-to-stop`, unit: 'ms', better: 'lower', params: { tier: spec.tier }, samples: stopTimes, quality: stopQuality });
    }
    figures.push({ id: `${SCOPE}/legit-refused`, unit: 'msgs', better: 'lower', params: { businesses: legit.length }, samples: refusedPerRepetition, quality: abuserQuality });
    anchors.push(loadAnchor({ id: 'spam-stop-messages', ours: median(accepted), theirs: tierUsers, unit: 'msgs', goal: { op: '<=', value: 2 }, inputs: [abuserQuality], alsoRequired: legitRefused === 0 }));
    const codes: Record<string, number> = {};
    for (const c of campaigns) for (const [code, count] of Object.entries(c.refusalCodes)) codes[code] = (codes[code] ?? 0) + count;
    log(`${SCOPE}: abusers got ${accepted.join(', ')} through (tier ${tierUsers}), stopped after ${stopTimes.map((t) => t.toFixed(1)).join(', ') || '—'} ms with ${JSON.stringify(codes)}; ${legitRefused} legitimate refused`);

    const unstopped = campaigns.filter((c) => c.timeToStopMs === undefined || c.refused === 0).length;
    checks.push({
      id: `${SCOPE}/abuser-stopped`,
      passed: unstopped === 0,
      detail: `${campaigns.length - unstopped}/${campaigns.length} abusers stopped; accepted ${accepted.join(', ')}, refused ${campaigns.map((c) => c.refused).join(', ')} (${JSON.stringify(codes)})`,
    });
    checks.push({ id: `${SCOPE}/no-legit-refused`, passed: legitRefused === 0, detail: `${legitRefused} legitimate messages refused (${legitFailed} transport errors or timeouts)` });
    await stage.webhooks.waitFor(() => stage.webhooks.total().statuses['sent'] !== undefined, 5_000).catch(() => {});
    checks.push(stage.signaturesCheck(SCOPE));

    checks.push(
      ...(await checkCompliance(stage.client, {
        scope: SCOPE,
        canary: stage.canary,
        regional: legit.filter((b) => b.region !== 'US').map((b) => ({ phoneNumberId: b.phone_number_id, region: b.region, wamids: legitWamids.get(b.label) ?? [] })),
      })),
    );
    return { figures, anchors, checks, target: stage.targetInfo };
  } finally {
    await stage.close();
  }
}

/**
 * The abuser sends one template to each user in turn (4 in flight) until it has tried them
 * all; after every 10 accepted messages the reached users drain their inboxes and a share of
 * them reports the abuser.
 */
async function abuserCampaign(stage: ScenarioStage, abuser: StagedBusiness, users: Array<{ waId: string; device: FleetDeviceId }>, reportShare: number): Promise<AbuserOutcome> {
  const outcome: AbuserOutcome = { accepted: 0, refused: 0, timeToStopMs: undefined, refusalCodes: {}, reached: [] };
  const startedAt = performance.now();
  let next = 0;
  let reported = 0;
  let reporting: Promise<void> = Promise.resolve();
  const reportSome = (): void => {
    const reached = outcome.reached.slice();
    const want = Math.floor(reached.length * reportShare);
    if (want <= reported) return;
    const batch = reached.slice(reported, want);
    reported = want;
    reporting = reporting.then(async () => {
      await stage.fleet.drain({ receipt: 'read' }, batch);
      await stage.fleet.report(abuser.phone_number_id, batch);
    });
  };
  const lane = async (): Promise<void> => {
    while (next < users.length) {
      const u = users[next++]!;
      const answer = await stage.client.sendMessage(abuser, stage.template(u.waId, 'limited offer'));
      if (answer.status === 200) {
        outcome.accepted++;
        outcome.reached.push(u.device);
        if (outcome.accepted % 10 === 0) reportSome();
      } else {
        outcome.refused++;
        outcome.timeToStopMs ??= performance.now() - startedAt;
        const code = String(graphErrorCode(answer.text) ?? answer.status);
        outcome.refusalCodes[code] = (outcome.refusalCodes[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  reportSome();
  await reporting;
  return outcome;
}
