/**
 * `inbound-flood`: M devices send to one business. Each device starts its session from the
 * business's prekey bundle (PQXDH on the device side), then the fleet's workers make fresh
 * ciphertexts — the server refuses replays, so nothing is ever sent twice — and the closed
 * model sends them with `connections` connections. The server decrypts each and forwards it to
 * the business's webhook; the receiver checks every signature and that every plaintext arrived.
 *
 * Figure: inbound messages decrypted and forwarded per second = messages ÷ time from the first
 * send until the webhook receiver holds the last one (the `server-inbound-vs-bare-http` anchor,
 * against the baseline's closed-model rate with the same connections).
 */
import { performance } from 'node:perf_hooks';
import { runClosedLoop } from './closed-loop-driver.js';
import { latencyDistribution } from './load-histogram.js';
import { judgeQuality, mergeQuality } from './generator-guard.js';
import { baselineFigures } from './scenario-baseline.js';
import { checkCompliance } from './scenario-compliance.js';
import { ScenarioStage, type LoadFigure, type LoadScenarioOptions, type LoadScenarioResult } from './scenario-stage.js';
import type { Anchor, Check } from './result.js';

const SCOPE = 'load/inbound-flood';

export async function runInboundFloodScenario(options: LoadScenarioOptions): Promise<LoadScenarioResult> {
  const stage = await ScenarioStage.open(options);
  const log = stage.log;
  try {
    const sizes = stage.sizes;
    const { devices: deviceCount, messagesPerDevice } = sizes.inboundFlood;
    const baseline = await baselineFigures(sizes, log);
    const business = await stage.business({ region: 'IN' });
    const { devices } = await stage.users(deviceCount, 1);
    await stage.fleet.openSessions(business.phone_number_id);
    const requests = await stage.fleet.makeInbound(business.phone_number_id, messagesPerDevice, `${stage.canary} inbound`);
    log(`${SCOPE}: ${devices.length} devices, ${requests.length} fresh ciphertexts made (${stage.fleet.signal} devices)`);
    const figures: LoadFigure[] = [];
    const checks: Check[] = [];
    const anchors: Anchor[] = [];

    const tally = stage.webhooks.business(business.label).tally;
    const before = tally.messages;
    let next = 0;
    const startedAt = performance.now();
    const run = await runClosedLoop({
      url: `${stage.server.target.url}/transport/v1/messages`,
      connections: sizes.connections,
      durationSeconds: 120,
      maxRequests: requests.length,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      requestAt: () => {
        const r = requests[next++ % requests.length]!;
        return { headers: { authorization: `Bearer ${r.token}` }, body: r.body };
      },
      workerThreads: stage.fleet.workerThreads,
    });
    const accepted = run.report.requests.completed - run.report.requests.non2xx;
    let forwardedAt = performance.now();
    await stage.settleWebhooks(() => tally.messages - before >= accepted, 30_000);
    forwardedAt = performance.now();
    const forwarded = tally.messages - before;
    const seconds = (forwardedAt - startedAt) / 1000;
    const forwardedRate = Math.round((forwarded / seconds) * 100) / 100;
    const quality = mergeQuality(run.report.quality, forwarded < requests.length ? judgeQuality({ generator: run.report.generator, errors: 0, timeouts: 0, non2xx: requests.length - forwarded }) : { clean: true, notes: [] });
    figures.push({
      id: `${SCOPE}/decrypted-and-forwarded`,
      unit: 'msgs/s',
      better: 'higher',
      params: { devices: deviceCount, messages: requests.length, connections: sizes.connections, device_signal: stage.fleet.signal },
      samples: [forwardedRate],
      latency: latencyDistribution(run.histogram),
      quality,
    });
    run.histogram.destroy();
    const ratio = forwardedRate / baseline.saturationRate;
    anchors.push({ id: 'server-inbound-vs-bare-http', ratio: Math.round(ratio * 1000) / 1000, ours: forwardedRate, theirs: baseline.saturationRate, unit: 'req/s', goal: { op: '>=', value: 0.4 }, met: ratio >= 0.4 });
    log(`${SCOPE}: ${forwarded}/${requests.length} forwarded at ${forwardedRate} msgs/s (baseline ${baseline.saturationRate} req/s)`);

    checks.push({
      id: `${SCOPE}/all-decrypted-and-forwarded`,
      passed: accepted === requests.length && forwarded === requests.length,
      detail: `${accepted}/${requests.length} accepted (202), ${forwarded} forwarded to the webhook; ${run.report.requests.non2xx} refused, ${run.report.requests.errors} errors`,
    });
    const texts = stage.webhooks.business(business.label).texts;
    checks.push({
      id: `${SCOPE}/plaintexts-intact`,
      passed: texts.length === forwarded && texts.every((t) => t.includes(stage.canary)),
      detail: `${texts.filter((t) => t.includes(stage.canary)).length}/${texts.length} forwarded texts carry the sender's plaintext`,
    });
    const total = stage.webhooks.total();
    checks.push({ id: `${SCOPE}/webhook-signatures`, passed: total.badSignatures === 0 && total.malformed === 0, detail: `${total.badSignatures} bad signatures, ${total.malformed} malformed payloads` });

    // Replays are refused: send the first ciphertext again; the server must answer 400 and forward nothing.
    const replay = requests[0]!;
    const res = await fetch(`${stage.server.target.url}/transport/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${replay.token}` }, body: replay.body });
    await res.text();
    await new Promise((r) => setTimeout(r, 100));
    checks.push({ id: `${SCOPE}/replay-refused`, passed: res.status === 400 && tally.messages - before === forwarded, detail: `replayed ciphertext answered ${res.status}; forwarded count ${tally.messages - before}` });

    checks.push(...(await checkCompliance(stage.client, { scope: SCOPE, canary: stage.canary, regional: [{ phoneNumberId: business.phone_number_id, region: business.region, wamids: [] }] })));
    return { figures, anchors, checks, target: stage.targetInfo };
  } finally {
    await stage.close();
  }
}
