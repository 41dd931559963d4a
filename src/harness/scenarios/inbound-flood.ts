/**
 * `inbound-flood`: M devices send to one business. Each device starts its session from the
 * business's prekey bundle (PQXDH on the device side), then the fleet's workers make fresh
 * ciphertexts — the server refuses replays, so nothing is ever sent twice — and the closed
 * model sends them with `connections` connections. The server decrypts each and forwards it to
 * the business's webhook; the receiver checks every signature and that every plaintext arrived.
 *
 * Figure: inbound messages decrypted and forwarded per second = messages ÷ time from the first
 * send until the webhook receiver holds the last one (the `server-inbound-vs-bare-http` anchor,
 * against a bare handler's closed-model rate with the same connections, in windows taken beside
 * the batches: `paired-bare-http`). One sample per repetition: the ciphertexts are split into
 * one batch per repetition, each timed on its own.
 */
import { performance } from 'node:perf_hooks';
import { runClosedLoop } from '../load/closed-loop-driver.js';
import { mergedLatencyDistribution, type LatencyHistogram } from '../load/histogram.js';
import { judgeQuality, mergeQuality, type Quality } from '../load/generator-guard.js';
import { loadAnchor } from '../load/anchor.js';
import { median } from '../statistics/stats.js';
import { BareHandler } from './baseline.js';
import { checkCompliance } from './compliance.js';
import { ScenarioStage, type LoadFigure, type LoadScenarioOptions, type LoadScenarioResult } from './stage.js';
import type { Anchor, Check } from '../result/result.js';
import type { InboundRequest } from '../device/fleet.js';
import { openLoopStepRunner } from '../load/capacity-search.js';
import { measureCapacityAtSlo, preparedStepRunner } from './capacity-at-slo.js';

const SCOPE = 'load/inbound-flood';

/** Request options that send prepared inbound ciphertexts: request j sends `pick(j)`. */
export function inboundSends(stage: ScenarioStage, pick: (index: number) => InboundRequest) {
  return {
    url: `${stage.server.target.url}/transport/v1/messages`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requestAt: (index: number) => {
      const r = pick(index);
      return { headers: { authorization: `Bearer ${r.token}` }, body: r.body };
    },
    workerThreads: stage.fleet.workerThreads,
  };
}

export async function runInboundFloodScenario(options: LoadScenarioOptions): Promise<LoadScenarioResult> {
  const stage = await ScenarioStage.open(options);
  const log = stage.log;
  try {
    const sizes = stage.sizes;
    const { devices: deviceCount, messagesPerDevice } = sizes.inboundFlood;
    const business = await stage.business({ region: 'IN' });
    const { devices } = await stage.users(deviceCount, 1);
    await stage.fleet.openSessions(business.phone_number_id);
    const requests = await stage.fleet.makeInbound(business.phone_number_id, messagesPerDevice, `${stage.canary} inbound`);
    log(`${SCOPE}: ${devices.length} devices, ${requests.length} fresh ciphertexts made (${stage.fleet.signal} devices)`);
    const figures: LoadFigure[] = [];
    const checks: Check[] = [];
    const anchors: Anchor[] = [];

    // One repetition per batch of the fresh ciphertexts: each batch is sent with the closed model
    // and timed until the receiver holds its last forwarded message.
    const tally = stage.webhooks.business(business.label).tally;
    const before = tally.messages;
    const batches = Math.max(1, Math.min(sizes.repetitions, requests.length));
    const perBatch = Math.floor(requests.length / batches);
    const rates: number[] = [];
    const qualities: Quality[] = [];
    const histograms: LatencyHistogram[] = [];
    let accepted = 0;
    let refused = 0;
    let transportErrors = 0;
    // A bare handler's window beside each batch (BareHandler.beside): the anchor's reference.
    const paired = await BareHandler.start(sizes.connections);
    try {
      for (let b = 0; b < batches; b++) {
        await paired.beside(b, sizes.closedSeconds, async () => {
          const batch = requests.slice(b * perBatch, b === batches - 1 ? requests.length : (b + 1) * perBatch);
          const batchBefore = tally.messages;
          let next = 0;
          const startedAt = performance.now();
          const run = await runClosedLoop({
            ...inboundSends(stage, () => batch[next++ % batch.length]!),
            connections: Math.min(sizes.connections, batch.length),
            durationSeconds: 120,
            maxRequests: batch.length,
          });
          const batchAccepted = run.report.requests.completed - run.report.requests.non2xx;
          const sentAt = performance.now();
          await stage.settleWebhooks(() => tally.messages - batchBefore >= batchAccepted, 30_000);
          // The receiver stamps each message on arrival: the batch ends with its last forwarded one.
          const forwardedAt = tally.lastMessageAtMs > startedAt ? tally.lastMessageAtMs : performance.now();
          const batchForwarded = tally.messages - batchBefore;
          rates.push(Math.round((batchForwarded / ((forwardedAt - startedAt) / 1000)) * 100) / 100);
          log(`${SCOPE}: repetition ${b + 1}: ${batch.length} sent in ${Math.round(sentAt - startedAt)} ms, ${batchForwarded} forwarded after ${Math.round(forwardedAt - startedAt)} ms`);
          qualities.push(run.report.quality);
          if (batchForwarded < batch.length) qualities.push(judgeQuality({ generator: run.report.generator, errors: 0, timeouts: 0, non2xx: batch.length - batchForwarded }));
          histograms.push(run.histogram);
          accepted += batchAccepted;
          refused += run.report.requests.non2xx;
          transportErrors += run.report.requests.errors;
        });
      }
    } finally {
      await paired.stop();
    }
    const forwarded = tally.messages - before;
    const quality = mergeQuality(...qualities);
    figures.push({
      id: `${SCOPE}/decrypted-and-forwarded`,
      unit: 'msgs/s',
      better: 'higher',
      params: { devices: deviceCount, messages: requests.length, messages_per_repetition: perBatch, connections: sizes.connections, device_signal: stage.fleet.signal },
      samples: rates,
      latency: mergedLatencyDistribution(histograms),
      quality,
    });
    for (const h of histograms) h.destroy();
    const forwardedRate = median(rates);
    figures.push(paired.pairedFigure(SCOPE, sizes.closedSeconds));
    const bareRate = median(paired.rates);
    anchors.push(loadAnchor({ id: 'server-inbound-vs-bare-http', ours: forwardedRate, theirs: bareRate, unit: 'req/s', goal: { op: '>=', value: 0.4 }, inputs: [quality, paired.quality] }));
    log(`${SCOPE}: ${forwarded}/${requests.length} forwarded at ${forwardedRate} msgs/s (median of ${rates.length}; bare handler beside them ${bareRate} req/s)`);

    checks.push({
      id: `${SCOPE}/all-decrypted-and-forwarded`,
      passed: accepted === requests.length && forwarded === requests.length,
      detail: `${accepted}/${requests.length} accepted (202), ${forwarded} forwarded to the webhook (distinct message ids; ${tally.redelivered} redelivered, at least once); ${refused} refused, ${transportErrors} errors`,
    });
    // Replays are refused: the first ciphertext, sent again.
    checks.push(...(await checkInboundIntegrity(stage, business.label, requests[0]!)));

    // Capacity at the SLO (open model): each step sends ciphertexts made for it just before it
    // (the server refuses replays), enough for the step's warm-up and measured part.
    if (options.capacity) {
      let pending: InboundRequest[] = [];
      let next = 0;
      const capacity = await measureCapacityAtSlo({
        scope: SCOPE,
        per: 'inbound',
        unit: 'msgs/s',
        sizes,
        options: options.capacity,
        step: preparedStepRunner(
          async (count) => {
            pending = await stage.fleet.makeInbound(business.phone_number_id, Math.ceil(count / devices.length), `${stage.canary} capacity`);
            next = 0;
          },
          openLoopStepRunner({ ...inboundSends(stage, () => pending[next++ % pending.length]!), connections: sizes.connections }, options.capacity.slo),
        ),
        ...(stage.server.pid !== undefined ? { serverPid: stage.server.pid } : {}),
        params: { devices: deviceCount, connections: sizes.connections, device_signal: stage.fleet.signal, store: options.store ?? 'memory' },
        log,
      });
      figures.push(...capacity.figures);
      anchors.push(...capacity.anchors);
    }

    checks.push(...(await checkCompliance(stage.client, { scope: SCOPE, canary: stage.canary, regional: [{ phoneNumberId: business.phone_number_id, region: business.region, wamids: [] }] })));
    return { figures, anchors, checks, target: stage.targetInfo };
  } finally {
    await stage.close();
  }
}

/**
 * After a business's last inbound message: every forwarded text carries the sender's plaintext
 * (the canary), every webhook was signed, and `replay`, an inbound request already sent, is
 * refused when sent again (400) and forwards nothing.
 */
export async function checkInboundIntegrity(stage: ScenarioStage, businessLabel: string, replay: InboundRequest): Promise<Check[]> {
  const { texts, tally } = stage.webhooks.business(businessLabel);
  const checks: Check[] = [
    {
      id: `${SCOPE}/plaintexts-intact`,
      passed: texts.length === tally.messages && texts.every((t) => t.includes(stage.canary)),
      detail: `${texts.filter((t) => t.includes(stage.canary)).length}/${texts.length} forwarded texts carry the sender's plaintext`,
    },
    stage.signaturesCheck(SCOPE),
  ];
  const forwardedBefore = tally.messages;
  const res = await fetch(`${stage.server.target.url}/transport/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${replay.token}` }, body: replay.body });
  await res.text();
  await new Promise((r) => setTimeout(r, 100));
  checks.push({ id: `${SCOPE}/replay-refused`, passed: res.status === 400 && tally.messages === forwardedBefore, detail: `replayed ciphertext answered ${res.status}; forwarded count ${forwardedBefore} → ${tally.messages}` });
  return checks;
}
