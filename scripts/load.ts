/**
 * `npm run load -- --url <url> --rate <req/s> --duration <s> [--connections n] [--method M]
 *  [--body B] [--header 'k: v']... [--timeout-ms n] [--allow-remote] [--expect-status 2xx,429] [--json]`
 *
 * The open-model load driver on its own, against any URL (loopback unless --allow-remote).
 * With --json it prints one JSON object: latency_ms {p50,p90,p99,p999,max},
 * requests {sent,completed,errors}, plus rates, generator usage and quality.
 *
 * `npm run load -- --scenario <name> [--profile smoke|quick|ci|full] [--target <url>
 *  --admin-token <t> --registration-token <t>] [--device-signal ours|libsignal]
 *  [--backend node|noble]` runs one load scenario (baseline, mass-messaging, inbound-flood,
 * spam-pattern, retention-under-load) and prints its figures, anchors and checks as JSON;
 * exit status 1 when a check failed. `--store postgres` runs the child server on PostgreSQL
 * (--database-url, else SIGLOAD_DATABASE_URL or DATABASE_URL).
 *
 * `npm run load -- --scenario mass-messaging|inbound-flood --find-capacity --slo p99=50ms
 *  [--max-error-rate 0.01]` also finds the highest offered rate (open model) within the SLO and
 * the error bound (src/harness/load/capacity-at-slo.ts), with the whole curve, and the anchors at
 * 70 % of it; it prints the curve as a table on stderr.
 *
 * Load shapes (src/harness/load/shape-flags.ts): `--stages 10s:100,30s:100,5s:400,10s:0`
 * (k6-style ramping arrival rate), or `--shape ramp|step|spike|soak|constant` around `--rate`
 * for `--duration` (any schedule ≤ 30 min), and `--arrivals constant|poisson [--seed n]`. With
 * `--url` they replace the constant rate; with `--scenario mass-messaging` they add one run of
 * follow-ups on that schedule (`follow-up-shaped-latency-p99`, with its time series). Time series:
 * `--url` runs keep per-second intervals with `--time-series`, and the server's CPU/RSS from
 * `--server-pid <pid>` and gauges from `--metrics-url <url> [--metrics-token t]`; scenarios read
 * their own server's /proc and /metrics (a --target's with --metrics-url). `--out <file>` writes
 * the whole JSON (histograms and time series included; stdout shortens them).
 *
 * Shards (src/harness/load/shard.ts, docs/load.md "Shards and merge"): `--shard I/N` (0-based)
 * sends only the requests j of the schedule with j mod N = I, each at T0 + offsetMs(j);
 * `--start-at <epoch ms>` is T0, the same instant on every shard. With --url, `--out` then holds
 * the shard's result file (load/load-result-file.ts) that `npm run merge` adds up.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runOpenLoop, LoadDriverError, parseExpectedStatuses } from '../src/harness/load/open-loop-driver.js';
import { loadTargetSettings } from '../bench/load/suites.js';
import type { LoadFigure, LoadScenarioOptions, LoadScenarioResult } from '../src/harness/scenarios/stage.js';
import { runBaselineScenario } from '../src/harness/scenarios/baseline.js';
import { runMassMessagingScenario } from '../src/harness/scenarios/mass-messaging.js';
import { runInboundFloodScenario } from '../src/harness/scenarios/inbound-flood.js';
import { runSpamPatternScenario } from '../src/harness/scenarios/spam-pattern.js';
import { runRetentionUnderLoadScenario } from '../src/harness/scenarios/retention-under-load.js';
import { SHAPE_FLAG_OPTIONS, SHAPE_USAGE, scheduleFromFlags } from '../src/harness/load/shape-flags.js';
import { buildSchedule, ScheduleError, type ArrivalSchedule, type ScheduleSpec } from '../src/harness/load/schedule.js';
import { seriesWindows, type LoadTimeSeries } from '../src/harness/load/time-series.js';
import { CapacitySloError, parseSlo } from '../src/harness/load/capacity-search.js';
import { DEFAULT_CAPACITY_OPTIONS, type CapacityOptions } from '../src/harness/scenarios/capacity-at-slo.js';
import { parseShard, parseStartAt, ShardError, WHOLE_RUN, type Shard } from '../src/harness/load/shard.js';
import { runMassMessagingShard } from '../src/harness/scenarios/mass-messaging-shard.js';
import { runInboundFloodShard } from '../src/harness/scenarios/inbound-flood-shard.js';
import { ScenarioShardError, type ScenarioShardFile, type ScenarioShardOptions } from '../src/harness/scenarios/scenario-shard.js';
import type { OpenLoopReport } from '../src/harness/load/open-loop-driver.js';
import type { Profile } from '../src/harness/result/result.js';
import { isProfile } from '../src/harness/suite/profiles.js';
import type { BackendName } from '../src/crypto/backend.js';
import { latencyDistribution } from '../src/harness/load/histogram.js';
import { errorsByCode, type LoadResultFile } from '../src/harness/load/load-result-file.js';
import { captureEnvironment } from '../src/harness/result/environment.js';

const SCENARIOS: Record<string, (o: LoadScenarioOptions) => Promise<LoadScenarioResult>> = {
  baseline: runBaselineScenario,
  'mass-messaging': runMassMessagingScenario,
  'inbound-flood': runInboundFloodScenario,
  'spam-pattern': runSpamPatternScenario,
  'retention-under-load': runRetentionUnderLoadScenario,
};

/** Scenarios with a capacity phase (load/capacity-at-slo.ts). */
const CAPACITY_SCENARIOS = new Set(['mass-messaging', 'inbound-flood']);

interface ScenarioShardRequest {
  name: string;
  profile: Profile;
  backend: BackendName;
  shard: Shard;
  startAt: number;
  schedule: ArrivalSchedule;
  connections?: number;
  webhookHost?: string;
  allowRemote: boolean;
  out?: string;
  json: boolean;
}

interface ScenarioRequest {
  name: string;
  profile: string;
  backend: string;
  store: string;
  databaseUrl?: string;
  capacity?: CapacityOptions;
  openSchedule?: ScheduleSpec;
  metricsUrl?: string;
  out?: string;
}

/** Scenarios that run as shards (scenarios/scenario-shard.ts); the others refuse --shard. */
const SCENARIO_SHARDS: Record<string, (options: ScenarioShardOptions) => Promise<ScenarioShardFile>> = {
  'mass-messaging': runMassMessagingShard,
  'inbound-flood': runInboundFloodShard,
};

/** Scenarios that run a load shape (scenario-stage.ts `openSchedule`). */
const SHAPE_SCENARIOS = new Set(['mass-messaging']);

/** A series by window (a minute when it is long, else ten seconds), as a table. */
function seriesTable(label: string, series: LoadTimeSeries): string {
  const seconds = series.intervals.length * (series.interval_ms / 1000);
  const windowS = seconds >= 120 ? 60 : 10;
  const rows = seriesWindows(series, windowS).map(
    (w) =>
      `  ${String(w.start_s).padStart(6)} ${String(w.answered_per_s).padStart(9)} ${String(w.p50_ms).padStart(8)} ${String(w.p99_ms).padStart(8)} ${String(w.errors).padStart(7)} ` +
      `${w.rss_bytes === null ? '       –' : (w.rss_bytes / 1024 / 1024).toFixed(1).padStart(8)} ${w.cpu_us_per_request === null ? '        –' : String(w.cpu_us_per_request).padStart(9)}`,
  );
  return [`${label}: per ${windowS} s`, '  from s  answers/s   p50 ms   p99 ms  errors   RSS MB  CPU µs/req', ...rows].join('\n');
}

/** Stdout form: histograms and interval series shortened (the whole form goes to --out). */
function slimFigure(f: LoadFigure): LoadFigure {
  const latency = f.latency ? { latency: { ...f.latency, hdr_base64: `<${f.latency.hdr_base64.length} chars>` } } : {};
  const series = f.time_series ? { time_series: { ...f.time_series, intervals: `<${f.time_series.intervals.length} intervals; --out for all>` } as unknown as LoadTimeSeries } : {};
  return { ...f, ...latency, ...series };
}

/** The curve of a capacity figure as a table (offered, achieved, p50, p90, p99, errors, verdict). */
function curveTable(f: LoadFigure): string {
  const rows = (f.capacity?.steps ?? []).map((s) => `  ${String(s.repetition + 1).padStart(3)} ${String(s.offered_rate_per_s).padStart(8)} ${String(s.achieved_rate_per_s).padStart(9)} ${String(s.p50_ms).padStart(8)} ${String(s.p90_ms).padStart(8)} ${String(s.p99_ms).padStart(8)} ${`${s.errors}/${s.requests}`.padStart(10)}  ${s.passed ? 'pass' : 'FAIL'}`);
  return [`${f.id}: ${f.samples.join(', ')} ${f.unit} (one search per repetition)${f.quality.clean ? '' : `; NOT CLEAN: ${f.quality.notes.join('; ')}`}`, '  rep  offered  achieved   p50 ms   p90 ms   p99 ms     errors', ...rows].join('\n');
}

async function runScenario(request: ScenarioRequest): Promise<number> {
  const { name, profile, backend } = request;
  const scenario = SCENARIOS[name];
  if (!scenario) {
    console.error(`unknown scenario ${name} (known: ${Object.keys(SCENARIOS).join(', ')})`);
    return 2;
  }
  if (!isProfile(profile)) {
    console.error(`unknown profile ${profile}`);
    return 2;
  }
  if (backend !== 'node' && backend !== 'noble') {
    console.error(`unknown backend ${backend}`);
    return 2;
  }
  if (request.store !== 'memory' && request.store !== 'postgres') {
    console.error(`unknown store ${request.store} (memory or postgres)`);
    return 2;
  }
  const databaseUrl = request.databaseUrl ?? process.env['SIGLOAD_DATABASE_URL'] ?? process.env['DATABASE_URL'];
  if (request.store === 'postgres' && !databaseUrl) {
    console.error('--store postgres needs --database-url (or SIGLOAD_DATABASE_URL / DATABASE_URL); a throwaway one: node dist/scripts/pg-throwaway.js -- npm run load -- …');
    return 2;
  }
  if (request.capacity && !CAPACITY_SCENARIOS.has(name)) {
    console.error(`--find-capacity applies to ${[...CAPACITY_SCENARIOS].join(' and ')}, not ${name}`);
    return 2;
  }
  const settings = loadTargetSettings();
  if (settings.target) console.error(`load: target ${settings.target.url} (the harness starts no server)`);
  const result = await scenario({
    profile,
    deviceSignal: settings.deviceSignal,
    backend,
    ...(settings.target ? { target: settings.target } : {}),
    ...(request.store === 'postgres' ? { store: 'postgres' as const, databaseUrl: databaseUrl! } : {}),
    ...(request.capacity ? { capacity: request.capacity } : {}),
    ...(request.openSchedule ? { openSchedule: request.openSchedule } : {}),
    ...(request.metricsUrl ? { metricsUrl: request.metricsUrl } : {}),
    log: (line) => console.error(line),
  });
  for (const f of result.figures) if (f.capacity) console.error(curveTable(f));
  for (const f of result.figures) if (f.time_series) console.error(seriesTable(f.id, f.time_series));
  if (request.out) writeFileSync(request.out, `${JSON.stringify(result, null, 2)}\n`);
  const slim = { ...result, figures: result.figures.map(slimFigure) };
  console.log(JSON.stringify(slim, null, 2));
  return result.checks.every((c) => c.passed) ? 0 : 1;
}

/** Prints an open-model run: its --json form, or a readable summary with its time series. */
function printOpenLoopRun(r: OpenLoopReport, timeSeries: LoadTimeSeries | undefined, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(timeSeries ? { ...r, time_series: timeSeries } : r));
    return;
  }
  if (timeSeries) console.log(seriesTable('time series', timeSeries));
  const l = r.latency_ms;
  if (r.shard) console.log(`shard ${r.shard.index}/${r.shard.count} of the run starting at ${new Date(r.shard.start_at_ms).toISOString()}`);
  console.log(`open model: ${r.offered_rate_per_s} req/s offered for ${r.duration_s} s over ${r.connections} connections`);
  console.log(`requests: sent ${r.requests.sent}, completed ${r.requests.completed}, errors ${r.requests.errors} (timeouts ${r.requests.timeouts}), non-2xx ${r.requests.non2xx}`);
  console.log(`latency from scheduled send (ms): p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}`);
  console.log(`generator: ${r.generator.cpu_cores} cores, main-thread ELU ${r.generator.main_thread_elu}${r.quality.clean ? '' : `; NOT CLEAN: ${r.quality.notes.join('; ')}`}`);
}

/**
 * One shard of a sharded scenario (scenarios/scenario-shard.ts): prepares its part of the
 * population, sends its part of the schedule from T0, checks its part; writes the shard file
 * `npm run merge` adds up. Exit 0, 1 when a check failed, 2 on bad options.
 */
async function runScenarioShard(request: ScenarioShardRequest): Promise<number> {
  const settings = loadTargetSettings();
  if (!settings.target) {
    console.error('load: a sharded scenario needs --target <url> --admin-token … --registration-token …: every shard must drive the same server');
    return 2;
  }
  console.error(`load: target ${settings.target.url}, shard ${request.shard.index}/${request.shard.count}, T0 ${new Date(request.startAt).toISOString()}`);
  let file: ScenarioShardFile;
  try {
    file = await SCENARIO_SHARDS[request.name]!({
      profile: request.profile,
      deviceSignal: settings.deviceSignal,
      backend: request.backend,
      target: settings.target,
      shard: request.shard,
      startAtEpochMs: request.startAt,
      schedule: request.schedule,
      ...(request.connections !== undefined ? { connections: request.connections } : {}),
      ...(request.webhookHost ? { webhookHost: request.webhookHost } : {}),
      allowRemote: request.allowRemote,
      log: (line) => console.error(line),
    });
  } catch (err) {
    // A start instant that passed during preparation by more than the schedule's length, say.
    if (err instanceof ShardError || err instanceof LoadDriverError || err instanceof ScenarioShardError) {
      console.error(`load: ${err.kind}: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (request.out) writeFileSync(request.out, `${JSON.stringify(file, null, 2)}\n`);
  printOpenLoopRun(file, request.json ? undefined : file.time_series, request.json);
  if (!request.json) for (const c of file.checks) console.log(`${c.passed ? 'pass' : 'FAIL'}  ${c.id}: ${c.detail}`);
  return file.checks.every((c) => c.passed) ? 0 : 1;
}

const usage = `usage: npm run load -- --url <url> --rate <req/s> --duration <s> [--connections n] [--method M] [--body B] [--header "k: v"]... [--timeout-ms n] [--allow-remote] [--expect-status 2xx,429] [--json]
                       ${SHAPE_USAGE}
                       [--time-series] [--server-pid <pid>] [--metrics-url <url> [--metrics-token t]] [--out <file>]
                       [--shard I/N] [--start-at <epoch ms>]   (shard I of N, 0-based, all starting at one instant; merge with npm run merge)
       npm run load -- --scenario <baseline|mass-messaging|inbound-flood|spam-pattern|retention-under-load> [--profile smoke|quick|ci|full]
                       [--target <url> --admin-token <t> --registration-token <t>] [--device-signal ours|libsignal] [--backend node|noble]
                       [--store memory|postgres [--database-url <url>]]
                       [--find-capacity [--slo p99=50ms] [--max-error-rate 0.01]]   (mass-messaging, inbound-flood)
                       [load shape, as above]   (mass-messaging)  [--metrics-url <url>] (with --target)  [--out <file>]
       npm run load -- --scenario mass-messaging|inbound-flood --target <url> --admin-token <t> --registration-token <t>
                       --shard I/N --start-at <epoch ms> (--rate r --duration s | load shape) [--profile p] [--connections n]
                       [--webhook-host <address the server reaches this host at>] [--allow-remote] [--out <file>] [--json]
                       (shard I of a scenario run: its part of the users or devices, one business, its part of the schedule; merge with npm run merge)
exit status: 0 ok; 1 a scenario check failed; 2 bad options`;

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
        'expect-status': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
        scenario: { type: 'string' },
        profile: { type: 'string' },
        backend: { type: 'string' },
        target: { type: 'string' },
        'admin-token': { type: 'string' },
        'registration-token': { type: 'string' },
        'device-signal': { type: 'string' },
        store: { type: 'string' },
        'database-url': { type: 'string' },
        'find-capacity': { type: 'boolean' },
        slo: { type: 'string' },
        'max-error-rate': { type: 'string' },
        ...SHAPE_FLAG_OPTIONS,
        'time-series': { type: 'boolean' },
        'server-pid': { type: 'string' },
        'metrics-url': { type: 'string' },
        'metrics-token': { type: 'string' },
        out: { type: 'string' },
        shard: { type: 'string' },
        'start-at': { type: 'string' },
        'webhook-host': { type: 'string' },
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
  let shard: Shard | undefined;
  let startAt: number | undefined;
  try {
    if (values.shard !== undefined) shard = parseShard(values.shard);
    if (values['start-at'] !== undefined) startAt = parseStartAt(values['start-at']);
  } catch (err) {
    if (!(err instanceof ShardError)) throw err;
    console.error(`load: ${err.kind}: ${err.message}`);
    return 2;
  }
  let shape: ScheduleSpec | undefined;
  try {
    shape = scheduleFromFlags(values);
    if (shape) buildSchedule(shape); // refuses a bad or over-long schedule before anything starts
  } catch (err) {
    if (!(err instanceof ScheduleError)) throw err;
    console.error(`load: ${err.kind}: ${err.message}`);
    return 2;
  }
  if (values.scenario) {
    if (shard || startAt !== undefined) {
      const name = values.scenario;
      if (!Object.hasOwn(SCENARIO_SHARDS, name)) {
        console.error(`load: ${name} does not run as shards (${Object.keys(SCENARIO_SHARDS).join(' and ')} do; docs/load.md "Sharded scenarios")`);
        return 2;
      }
      if (startAt === undefined) {
        console.error('load: a sharded scenario needs --start-at <epoch ms>: each shard prepares its part for a different time, then all start at T0');
        return 2;
      }
      if (values['find-capacity'] || values.store !== undefined || values['metrics-url'] !== undefined) {
        console.error('load: --find-capacity, --store and --metrics-url do not apply to a sharded scenario (its server is the --target)');
        return 2;
      }
      if (!shape && (values.rate === undefined || values.duration === undefined)) {
        console.error('load: a sharded scenario needs its schedule: --rate r --duration s, or a load shape (--shape, --stages, --arrivals)');
        return 2;
      }
      const profile = values.profile ?? 'quick';
      const backend = values.backend ?? 'node';
      if (!isProfile(profile) || (backend !== 'node' && backend !== 'noble')) {
        console.error(`load: unknown profile ${profile} or backend ${backend}`);
        return 2;
      }
      const connections = values.connections === undefined ? undefined : Number(values.connections);
      if (connections !== undefined && !(Number.isInteger(connections) && connections > 0)) {
        console.error(`--connections must be a positive integer, got ${values.connections}`);
        return 2;
      }
      let schedule: ArrivalSchedule;
      try {
        schedule = buildSchedule(shape ?? scheduleFromFlags({ shape: 'constant', rate: values.rate!, duration: values.duration! })!);
      } catch (err) {
        if (!(err instanceof ScheduleError)) throw err;
        console.error(`load: ${err.kind}: ${err.message}`);
        return 2;
      }
      return runScenarioShard({
        name,
        profile,
        backend,
        shard: shard ?? WHOLE_RUN,
        startAt,
        schedule,
        ...(connections !== undefined ? { connections } : {}),
        ...(values['webhook-host'] ? { webhookHost: values['webhook-host'] } : {}),
        allowRemote: values['allow-remote'] ?? false,
        ...(values.out ? { out: values.out } : {}),
        json: values.json ?? false,
      });
    }
    if (shape && !SHAPE_SCENARIOS.has(values.scenario)) {
      console.error(`load shapes apply to ${[...SHAPE_SCENARIOS].join(', ')}, not ${values.scenario}`);
      return 2;
    }
    let capacity: CapacityOptions | undefined;
    if (values['find-capacity']) {
      const maxErrorRate = values['max-error-rate'] === undefined ? DEFAULT_CAPACITY_OPTIONS.maxErrorRate : Number(values['max-error-rate']);
      if (!(maxErrorRate >= 0 && maxErrorRate <= 1)) {
        console.error(`--max-error-rate must be a fraction 0..1, got ${values['max-error-rate']}`);
        return 2;
      }
      try {
        capacity = { slo: values.slo === undefined ? DEFAULT_CAPACITY_OPTIONS.slo : parseSlo(values.slo), maxErrorRate };
      } catch (err) {
        if (!(err instanceof CapacitySloError)) throw err;
        console.error(err.message);
        return 2;
      }
    } else if (values.slo !== undefined || values['max-error-rate'] !== undefined) {
      console.error('--slo and --max-error-rate need --find-capacity');
      return 2;
    }
    return runScenario({
      name: values.scenario,
      profile: values.profile ?? 'quick',
      backend: values.backend ?? 'node',
      store: values.store ?? 'memory',
      ...(values['database-url'] ? { databaseUrl: values['database-url'] } : {}),
      ...(capacity ? { capacity } : {}),
      ...(shape ? { openSchedule: shape } : {}),
      ...(values['metrics-url'] ? { metricsUrl: values['metrics-url'] } : {}),
      ...(values.out ? { out: values.out } : {}),
    });
  }
  if (!values.url || (!shape && (!values.rate || !values.duration))) {
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
    const serverPid = values['server-pid'] === undefined ? undefined : Number(values['server-pid']);
    if (serverPid !== undefined && !(Number.isInteger(serverPid) && serverPid > 0)) {
      console.error(`--server-pid must be a process id, got ${values['server-pid']}`);
      return 2;
    }
    const telemetry =
      serverPid !== undefined || values['metrics-url']
        ? {
            ...(serverPid !== undefined ? { pid: serverPid } : {}),
            ...(values['metrics-url'] ? { metricsUrl: values['metrics-url'], ...(values['metrics-token'] ? { metricsToken: values['metrics-token'] } : {}) } : {}),
          }
        : undefined;
    const run = await runOpenLoop({
      url: values.url,
      ...(shape ? { schedule: buildSchedule(shape) } : { ratePerSecond: Number(values.rate), durationSeconds: Number(values.duration) }),
      // A result file carries the series (its errors by code, and per-second histograms a merge adds up).
      ...(values['time-series'] || values.out ? { timeSeries: true } : {}),
      ...(shard ? { shard } : {}),
      ...(startAt !== undefined ? { startAtEpochMs: startAt } : {}),
      ...(telemetry ? { serverTelemetry: telemetry } : {}),
      ...(values.connections ? { connections: Number(values.connections) } : {}),
      ...(values.method ? { method: values.method.toUpperCase() } : {}),
      ...(values.body !== undefined ? { body: values.body } : {}),
      headers,
      ...(values['timeout-ms'] ? { timeoutMs: Number(values['timeout-ms']) } : {}),
      allowRemote: values['allow-remote'] ?? false,
      ...(values['expect-status'] ? { expectStatus: parseExpectedStatuses(values['expect-status']) } : {}),
    });
    const latency = latencyDistribution(run.histogram);
    run.histogram.destroy();
    const r = run.report;
    if (values.out) {
      const file: LoadResultFile = {
        ...r,
        errors_by_code: errorsByCode(run.timeSeries),
        latency,
        ...(run.timeSeries ? { time_series: run.timeSeries } : {}),
        environment: await captureEnvironment({ backends: [] }),
      };
      writeFileSync(values.out, `${JSON.stringify(file, null, 2)}\n`);
    }
    printOpenLoopRun(r, run.timeSeries, values.json ?? false);
    return 0;
  } catch (err) {
    if (err instanceof LoadDriverError || err instanceof ShardError) {
      console.error(`load: ${err.kind}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main();
