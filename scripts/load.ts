/**
 * `npm run load -- --url <url> --rate <req/s> --duration <s> [--connections n] [--method M]
 *  [--body B] [--header 'k: v']... [--timeout-ms n] [--allow-remote] [--json]`
 *
 * The open-model load driver on its own, against any URL (loopback unless --allow-remote).
 * With --json it prints one JSON object: latency_ms {p50,p90,p99,p999,max},
 * requests {sent,completed,errors}, plus rates, generator usage and quality.
 *
 * `npm run load -- --scenario <name> [--profile smoke|quick|ci|full] [--target <url>
 *  --admin-token <t> --registration-token <t>] [--device-signal ours|libsignal]
 *  [--backend node|noble]` runs one load scenario (baseline, mass-messaging, inbound-flood,
 * spam-pattern, retention-under-load) and prints its figures, anchors and checks as JSON;
 * exit status 1 when a check failed.
 */
import { parseArgs } from 'node:util';
import { runOpenLoop, LoadDriverError } from '../src/harness/load/open-loop-driver.js';
import { loadTargetSettings } from '../bench/load/suites.js';
import type { LoadScenarioOptions, LoadScenarioResult } from '../src/harness/scenarios/stage.js';
import { runBaselineScenario } from '../src/harness/scenarios/baseline.js';
import { runMassMessagingScenario } from '../src/harness/scenarios/mass-messaging.js';
import { runInboundFloodScenario } from '../src/harness/scenarios/inbound-flood.js';
import { runSpamPatternScenario } from '../src/harness/scenarios/spam-pattern.js';
import { runRetentionUnderLoadScenario } from '../src/harness/scenarios/retention-under-load.js';

const SCENARIOS: Record<string, (o: LoadScenarioOptions) => Promise<LoadScenarioResult>> = {
  baseline: runBaselineScenario,
  'mass-messaging': runMassMessagingScenario,
  'inbound-flood': runInboundFloodScenario,
  'spam-pattern': runSpamPatternScenario,
  'retention-under-load': runRetentionUnderLoadScenario,
};

async function runScenario(name: string, profile: string, backend: string): Promise<number> {
  const scenario = SCENARIOS[name];
  if (!scenario) {
    console.error(`unknown scenario ${name} (known: ${Object.keys(SCENARIOS).join(', ')})`);
    return 2;
  }
  if (!['smoke', 'quick', 'ci', 'full'].includes(profile)) {
    console.error(`unknown profile ${profile}`);
    return 2;
  }
  if (backend !== 'node' && backend !== 'noble') {
    console.error(`unknown backend ${backend}`);
    return 2;
  }
  const settings = loadTargetSettings();
  if (settings.target) console.error(`load: target ${settings.target.url} (the harness starts no server)`);
  const result = await scenario({
    profile: profile as LoadScenarioOptions['profile'],
    deviceSignal: settings.deviceSignal,
    backend,
    ...(settings.target ? { target: settings.target } : {}),
    log: (line) => console.error(line),
  });
  const slim = { ...result, figures: result.figures.map((f) => (f.latency ? { ...f, latency: { ...f.latency, hdr_base64: `<${f.latency.hdr_base64.length} chars>` } } : f)) };
  console.log(JSON.stringify(slim, null, 2));
  return result.checks.every((c) => c.passed) ? 0 : 1;
}

const usage = `usage: npm run load -- --url <url> --rate <req/s> --duration <s> [--connections n] [--method M] [--body B] [--header "k: v"]... [--timeout-ms n] [--allow-remote] [--json]
       npm run load -- --scenario <baseline|mass-messaging|inbound-flood|spam-pattern|retention-under-load> [--profile smoke|quick|ci|full]
                       [--target <url> --admin-token <t> --registration-token <t>] [--device-signal ours|libsignal] [--backend node|noble]`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        url: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        connections: { type: 'string' },
        method: { type: 'string' },
        body: { type: 'string' },
        header: { type: 'string', multiple: true },
        'timeout-ms': { type: 'string' },
        'allow-remote': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
        scenario: { type: 'string' },
        profile: { type: 'string' },
        backend: { type: 'string' },
        target: { type: 'string' },
        'admin-token': { type: 'string' },
        'registration-token': { type: 'string' },
        'device-signal': { type: 'string' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (values.scenario) return runScenario(values.scenario, values.profile ?? 'quick', values.backend ?? 'node');
  if (!values.url || !values.rate || !values.duration) {
    console.error(usage);
    return 2;
  }
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const at = h.indexOf(':');
    if (at <= 0) {
      console.error(`bad --header ${h}`);
      return 2;
    }
    headers[h.slice(0, at).trim().toLowerCase()] = h.slice(at + 1).trim();
  }
  if (values.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  try {
    const run = await runOpenLoop({
      url: values.url,
      ratePerSecond: Number(values.rate),
      durationSeconds: Number(values.duration),
      ...(values.connections ? { connections: Number(values.connections) } : {}),
      ...(values.method ? { method: values.method.toUpperCase() } : {}),
      ...(values.body !== undefined ? { body: values.body } : {}),
      headers,
      ...(values['timeout-ms'] ? { timeoutMs: Number(values['timeout-ms']) } : {}),
      allowRemote: values['allow-remote'] ?? false,
    });
    run.histogram.destroy();
    const r = run.report;
    if (values.json) {
      console.log(JSON.stringify(r));
    } else {
      const l = r.latency_ms;
      console.log(`open model: ${r.offered_rate_per_s} req/s offered for ${r.duration_s} s over ${r.connections} connections`);
      console.log(`requests: sent ${r.requests.sent}, completed ${r.requests.completed}, errors ${r.requests.errors} (timeouts ${r.requests.timeouts}), non-2xx ${r.requests.non2xx}`);
      console.log(`latency from scheduled send (ms): p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}`);
      console.log(`generator: ${r.generator.cpu_cores} cores, main-thread ELU ${r.generator.main_thread_elu}${r.quality.clean ? '' : `; NOT CLEAN: ${r.quality.notes.join('; ')}`}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof LoadDriverError) {
      console.error(`load: ${err.kind}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main();
