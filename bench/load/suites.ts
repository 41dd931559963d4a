/**
 * The load suites (one per scenario, plus the baseline), registered in bench/suites.ts as
 * `...loadSuites`. Each runs its scenario at the profile's size (src/harness/load/sizes.ts)
 * with the profile's repetitions (ctx.repetitions: one sample per repetition for every figure)
 * and hands figures, anchors and checks to the suite context.
 *
 * Pointing them at another server and choosing the devices' Signal implementation:
 *   npm run bench -- --filter load/ --target <url> --admin-token <t> --registration-token <t>
 *                    [--device-signal ours|libsignal] [--backend node|noble]
 * (ctx.load); each unset flag falls back to SIGLOAD_TARGET, SIGLOAD_ADMIN_TOKEN,
 * SIGLOAD_REGISTRATION_TOKEN, SIGLOAD_DEVICE_SIGNAL. `npm run load -- --scenario …` takes the same flags.
 */
import { parseArgs } from 'node:util';
import type { Suite, SuiteContext, SuiteContextStatic } from '../../src/harness/suite/suite.js';
import type { BackendName } from '../../src/crypto/backend.js';
import type { DeviceSignal } from '../../src/harness/device/fleet.js';
import type { ExternalTarget } from '../../src/harness/load/target.js';
import type { LoadTargetOptions } from '../../src/harness/suite/options.js';
import type { LoadScenarioOptions, LoadScenarioResult } from '../../src/harness/scenarios/stage.js';
import { LOAD_SIZES, type LoadSizes } from '../../src/harness/load/sizes.js';
import { runBaselineScenario } from '../../src/harness/scenarios/baseline.js';
import { runMassMessagingScenario } from '../../src/harness/scenarios/mass-messaging.js';
import { runInboundFloodScenario } from '../../src/harness/scenarios/inbound-flood.js';
import { runSpamPatternScenario } from '../../src/harness/scenarios/spam-pattern.js';
import { runRetentionUnderLoadScenario } from '../../src/harness/scenarios/retention-under-load.js';
import { DEFAULT_CAPACITY_OPTIONS } from '../../src/harness/scenarios/capacity-at-slo.js';
import { sloLabel } from '../../src/harness/load/capacity-search.js';

export interface LoadTargetSettings {
  target?: ExternalTarget;
  deviceSignal: DeviceSignal;
}

/**
 * Reads --target/--admin-token/--registration-token/--device-signal from `given` (the bench
 * options, ctx.load) or argv, else SIGLOAD_* env. Each field falls back on its own.
 */
export function loadTargetSettings(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env, given: LoadTargetOptions = {}): LoadTargetSettings {
  const { values } = parseArgs({
    args: [...argv],
    strict: false,
    options: { target: { type: 'string' }, 'admin-token': { type: 'string' }, 'registration-token': { type: 'string' }, 'device-signal': { type: 'string' } },
  });
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const url = str(given.target) ?? str(values.target) ?? str(env['SIGLOAD_TARGET']);
  const signal = str(given.deviceSignal) ?? str(values['device-signal']) ?? str(env['SIGLOAD_DEVICE_SIGNAL']) ?? 'ours';
  if (signal !== 'ours' && signal !== 'libsignal') throw new Error(`--device-signal must be ours or libsignal, got ${signal}`);
  if (!url) return { deviceSignal: signal };
  const adminToken = str(given.adminToken) ?? str(values['admin-token']) ?? str(env['SIGLOAD_ADMIN_TOKEN']);
  const registrationToken = str(given.registrationToken) ?? str(values['registration-token']) ?? str(env['SIGLOAD_REGISTRATION_TOKEN']);
  if (!adminToken || !registrationToken) throw new Error('--target needs --admin-token and --registration-token (or SIGLOAD_ADMIN_TOKEN / SIGLOAD_REGISTRATION_TOKEN)');
  return { target: { url, adminToken, registrationToken }, deviceSignal: signal };
}

type ScenarioRunner = (options: LoadScenarioOptions) => Promise<LoadScenarioResult>;

interface LoadSuiteSpec {
  name: string;
  describe: string;
  run: ScenarioRunner;
  /** Benchmark ids the scenario produces. */
  ids: string[];
  /** Rough wall time at these sizes (drives the ETA), s; measured on 2 shared cores for smoke. */
  estimate: (sizes: LoadSizes) => number;
  /** Also find the capacity at p99 ≤ 50 ms (load/capacity-at-slo.ts). */
  capacity?: boolean;
}

/** Ids of the capacity phase of a scenario (load/capacity-at-slo.ts). */
function capacityIds(scope: string, per: 'send' | 'inbound'): string[] {
  return [`capacity-at-${sloLabel(DEFAULT_CAPACITY_OPTIONS.slo)}`, 'p99-at-70pct-capacity', 'bare-http-p99-at-70pct-capacity', `server-cpu-per-${per}`, 'bare-http-cpu-per-request'].map((x) => `${scope}/${x}`);
}

/** Upper bound of the capacity phase's wall time, s (steps plus the 70 % windows, with pauses). */
function capacityEstimate(z: LoadSizes): number {
  if (!z.benchCapacity) return 0;
  const c = z.capacity;
  const reps = Math.min(c.repetitions, z.repetitions);
  const window = c.warmUpSeconds + c.measureSeconds + 0.5;
  return (c.firstSteps + (reps - 1) * c.laterSteps) * (window + 0.6) + 2 * reps * window + 2;
}

/** Repetitions of every load figure: the profile's load count (sizes.ts), never more than the run's. */
function loadRepetitions(ctx: Pick<SuiteContextStatic, 'profile' | 'repetitions'>): number {
  return Math.min(ctx.repetitions, LOAD_SIZES[ctx.profile].repetitions);
}

function deviceBackend(ctx: Pick<SuiteContextStatic, 'backends'>): BackendName {
  return ctx.backends.includes('node') ? 'node' : (ctx.backends[0] ?? 'node');
}

/** Hands one scenario result to the suite context. */
export function reportScenario(ctx: SuiteContext, suiteId: string, result: LoadScenarioResult): void {
  for (const f of result.figures) {
    if (!ctx.wants(f.id)) continue;
    ctx.record({ ...f, suite: suiteId });
  }
  for (const a of result.anchors) ctx.anchor(a);
  for (const c of result.checks) ctx.check(c);
}

function loadSuite(spec: LoadSuiteSpec): Suite {
  const id = `load/${spec.name}`;
  return {
    id,
    describe: spec.describe,
    benchmarkIds: () => spec.ids,
    estimateSeconds: (ctx) => Math.round(spec.estimate({ ...LOAD_SIZES[ctx.profile], repetitions: loadRepetitions(ctx) })),
    async run(ctx) {
      if (!spec.ids.some((p) => ctx.wants(p))) return;
      const settings = loadTargetSettings(process.argv.slice(2), process.env, ctx.load ?? {});
      ctx.progress(0, spec.name);
      const result = await spec.run({
        profile: ctx.profile,
        sizes: { repetitions: loadRepetitions(ctx) },
        deviceSignal: settings.deviceSignal,
        backend: deviceBackend(ctx),
        ...(settings.target && spec.name !== 'baseline' ? { target: settings.target } : {}),
        ...(spec.capacity && LOAD_SIZES[ctx.profile].benchCapacity ? { capacity: DEFAULT_CAPACITY_OPTIONS } : {}),
        log: (line) => ctx.log(line),
      });
      if (spec.name !== 'baseline') ctx.note({ target: result.target });
      reportScenario(ctx, id, result);
      ctx.progress(1, spec.name);
    },
  };
}

export const loadSuites: readonly Suite[] = [
  loadSuite({
    name: 'baseline',
    describe: 'bare node:http JSON handler: closed-model req/s and open-model latency (the reference for server anchors)',
    run: runBaselineScenario,
    ids: ['load/baseline/bare-http/requests', 'load/baseline/bare-http/open-latency-p99'],
    estimate: (z) => 1 + z.repetitions * (z.closedSeconds + z.openSeconds),
  }),
  loadSuite({
    name: 'mass-messaging',
    describe: 'business → N users × d devices: first contact (PQXDH), receipts, follow-ups (bare handler windows beside them), capacity at p99 ≤ 50 ms; anchors server-send, server-p99-at-70pct-capacity, server-cpu-per-send vs bare http',
    run: runMassMessagingScenario,
    ids: [...['first-contact-sends', 'follow-up-sends', 'paired-bare-http'].map((x) => `load/mass-messaging/${x}`), ...capacityIds('load/mass-messaging', 'send')],
    estimate: (z) => 4 + 0.1 * z.massMessaging.users * z.massMessaging.devicesPerUser + z.repetitions * (2 * z.closedSeconds + 0.5) + capacityEstimate(z),
    capacity: true,
  }),
  loadSuite({
    name: 'inbound-flood',
    describe: 'M devices → one business with fresh ciphertexts; decrypted and forwarded per second, capacity at p99 ≤ 50 ms; anchors server-inbound, server-cpu-per-inbound vs bare http',
    run: runInboundFloodScenario,
    ids: ['load/inbound-flood/decrypted-and-forwarded', 'load/inbound-flood/paired-bare-http', ...capacityIds('load/inbound-flood', 'inbound')],
    estimate: (z) => 2 + (z.inboundFlood.devices * z.inboundFlood.messagesPerDevice) / 300 + z.repetitions * (0.5 + z.closedSeconds) + capacityEstimate(z) * 1.5,
    capacity: true,
  }),
  loadSuite({
    name: 'spam-pattern',
    describe: 'abusive business vs legitimate ones: abuser messages through, time to stop, legitimate refusals and latency',
    run: runSpamPatternScenario,
    ids: ['legit-throughput/alone', 'legit-throughput/with-abuser', 'legit-latency-p99/alone', 'legit-latency-p99/with-abuser', 'abuser-messages-through', 'time-to-stop', 'legit-refused'].map((x) => `load/spam-pattern/${x}`),
    estimate: (z) => 2 + z.spamPattern.users / 50 + z.repetitions * (2 * z.openSeconds + 0.5),
  }),
  loadSuite({
    name: 'retention-under-load',
    describe: 'expired backlog swept under steady open-model load: throughput and p99 before vs during the sweep',
    run: runRetentionUnderLoadScenario,
    ids: ['throughput/before-sweep', 'throughput/during-sweep', 'latency-p99/before-sweep', 'latency-p99/during-sweep'].map((x) => `load/retention-under-load/${x}`),
    estimate: (z) => 1 + z.repetitions * (z.retention.backlog / 400 + Math.max(2, 2 * z.openSeconds) + 0.5),
  }),
];
