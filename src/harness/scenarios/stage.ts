/**
 * The stage every load scenario plays on: the server under test (a child process, or
 * `--target`), the webhook receiver that plays the businesses, the device fleet, and a contract
 * client. Also the scenario's canary (a random marker put in every plaintext, which must never
 * be found at rest) and what a scenario hands back (benchmarks, anchors, checks).
 */
import { randomBytes } from 'node:crypto';
import type { BackendName } from '../../crypto/backend.js';
import type { Anchor, BenchmarkResult, Check, Profile } from '../result/result.js';
import { ContractClient, type CreatedBusiness } from '../load/contract.js';
import { startServerTarget, type ExternalTarget, type RunningTarget } from '../load/target.js';
import { startWebhookReceiver, type WebhookReceiver } from '../load/webhook-receiver.js';
import { DeviceFleet, waIdFor, type DeviceSignal, type FleetDeviceId } from '../device/fleet.js';
import { LOAD_SIZES, type LoadSizes } from '../load/sizes.js';
import type { ServerChildConfig } from '../load/server-child.js';
import type { ScheduleSpec } from '../load/schedule.js';
import type { ServerTelemetrySource } from '../load/server-telemetry.js';
import type { CapacityOptions } from '../load/capacity-search.js';

export interface LoadScenarioOptions {
  profile: Profile;
  /** Another team's server (the harness then starts none). */
  target?: ExternalTarget;
  /** Signal implementation of the simulated devices. @default 'ours' */
  deviceSignal?: DeviceSignal;
  /** Crypto backend of our devices (and of the child server). @default 'node' */
  backend?: BackendName;
  /** Overrides of the profile's sizes (tests). */
  sizes?: Partial<LoadSizes>;
  /**
   * A load shape for the scenario's main open-model phase (mass-messaging's follow-ups), which
   * then runs once on this schedule instead of its repetitions at the baseline-derived rate.
   */
  openSchedule?: ScheduleSpec;
  /** `/metrics` of a `--target` server, for the time series' server gauges (its admin token is sent). */
  metricsUrl?: string;
  /** Store of the server the harness starts: memory (default) or PostgreSQL at `databaseUrl`. */
  store?: 'memory' | 'postgres';
  databaseUrl?: string;
  /** Find the capacity at this SLO too (load/capacity-at-slo.ts); the bench suites always do, at p99 ≤ 50 ms. */
  capacity?: CapacityOptions;
  /** Where the scenario's progress lines go. @default nowhere */
  log?: (line: string) => void;
  /**
   * Address the webhook receiver listens on and puts in every business's callback URL: one the
   * server can reach (needed when the `target` runs on another host). @default '127.0.0.1'
   */
  webhookHost?: string;
}

/** How a stage names its entities (every generator of a sharded run must name them alike). */
export interface StagePopulation {
  /**
   * Leading digits of every wa_id and business phone number of the run (1–7 digits). @default a
   * random 4-digit number: runs against one long-lived server do not collide (mostly)
   */
  runPrefix?: number;
}

/** Defaults of `LoadScenarioOptions` (documented per field there). */
export const DEFAULT_LOAD_SCENARIO_OPTIONS = {
  deviceSignal: 'ours',
  backend: 'node',
  log: (_line: string): void => {},
} as const;

/** A benchmark as a scenario reports it (the suite adds `suite` and the runner the summary). */
export type LoadFigure = Omit<BenchmarkResult, 'suite' | 'summary'>;

export interface LoadScenarioResult {
  figures: LoadFigure[];
  anchors: Anchor[];
  checks: Check[];
  target: { url: string; started_by_harness: boolean };
}

export interface BusinessOptions {
  region?: string;
  messaging_limit?: string;
  throughput_mps?: number;
}

export interface StagedBusiness extends CreatedBusiness {
  label: string;
  region: string;
}

export class ScenarioStage {
  readonly canary = `CANARY-${randomBytes(8).toString('hex')}`;
  private userCounter = 0;
  private businessCounter = 0;
  /** Where the open-model phases read the server's CPU, memory and gauges (time series). */
  telemetry: ServerTelemetrySource | undefined;

  private constructor(
    readonly sizes: LoadSizes,
    readonly server: RunningTarget,
    readonly client: ContractClient,
    readonly webhooks: WebhookReceiver,
    readonly fleet: DeviceFleet,
    readonly log: (line: string) => void,
    readonly runPrefix: number,
  ) {}

  static async open(options: LoadScenarioOptions, serverConfig: ServerChildConfig = {}, population: StagePopulation = {}): Promise<ScenarioStage> {
    const sizes = { ...LOAD_SIZES[options.profile], ...options.sizes };
    const backend = options.backend ?? DEFAULT_LOAD_SCENARIO_OPTIONS.backend;
    const store = options.store === 'postgres' ? { store: 'postgres' as const, databaseUrl: options.databaseUrl ?? '' } : {};
    const server = await startServerTarget(options.target, { backend, ...store, ...serverConfig });
    let webhooks: WebhookReceiver | undefined;
    try {
      webhooks = await startWebhookReceiver({ keepTexts: true, ...(options.webhookHost ? { host: options.webhookHost } : {}) });
      const fleet = new DeviceFleet({
        url: server.target.url,
        registrationToken: server.target.registrationToken,
        signal: options.deviceSignal ?? DEFAULT_LOAD_SCENARIO_OPTIONS.deviceSignal,
        backend,
        workers: sizes.fleetWorkers,
      });
      const runPrefix = population.runPrefix ?? 1000 + Math.floor(Math.random() * 8999);
      const stage = new ScenarioStage(sizes, server, new ContractClient(server.target), webhooks, fleet, options.log ?? DEFAULT_LOAD_SCENARIO_OPTIONS.log, runPrefix);
      // sigload's own server: /proc of the child and its /metrics; a --target: /metrics when given.
      const metricsUrl = server.startedByHarness ? `${server.target.url}/metrics` : options.metricsUrl;
      if (server.pid !== undefined || metricsUrl !== undefined) {
        stage.telemetry = { ...(server.pid !== undefined ? { pid: server.pid } : {}), ...(metricsUrl ? { metricsUrl, metricsToken: server.target.adminToken } : {}) };
      }
      return stage;
    } catch (err) {
      await webhooks?.close();
      await server.stop();
      throw err;
    }
  }

  get targetInfo(): { url: string; started_by_harness: boolean } {
    return { url: this.server.target.url, started_by_harness: this.server.startedByHarness };
  }

  /** Creates a business whose webhook is this stage's receiver (high throughput unless set). */
  business(options: BusinessOptions = {}): Promise<StagedBusiness> {
    return this.businessAt(++this.businessCounter, options);
  }

  /**
   * Creates the run's business number `n` (≥ 1; its phone number and label derive from the run
   * prefix and n, so generators sharing a prefix never create the same one twice).
   */
  async businessAt(n: number, options: BusinessOptions = {}): Promise<StagedBusiness> {
    const label = `b${n}`;
    const created = await this.client.createBusiness({
      display_phone_number: `1555${String(this.runPrefix)}${String(n).padStart(3, '0')}`,
      webhook_url: this.webhooks.urlFor(label),
      verify_token: this.webhooks.verifyToken,
      throughput_mps: options.throughput_mps ?? 100_000,
      ...(options.region && options.region !== 'US' ? { region: options.region } : {}),
      ...(options.messaging_limit ? { messaging_limit: options.messaging_limit } : {}),
    });
    this.webhooks.setAppSecret(label, created.app_secret);
    return { ...created, label, region: options.region ?? 'US' };
  }

  /** Registers `users` new users with `devicesPerUser` devices each; returns wa_ids and device ids. */
  users(users: number, devicesPerUser: number): Promise<{ waIds: string[]; devices: FleetDeviceId[] }> {
    const numbers = Array.from({ length: users }, () => ++this.userCounter);
    return this.usersAt(numbers, devicesPerUser);
  }

  /** The wa_id of the run's user number `n` (≥ 1). */
  waIdAt(n: number): string {
    return waIdFor(this.runPrefix, n);
  }

  /** Registers the run's users numbered `numbers` (each ≥ 1), `devicesPerUser` devices each. */
  async usersAt(numbers: readonly number[], devicesPerUser: number): Promise<{ waIds: string[]; devices: FleetDeviceId[] }> {
    const waIds: string[] = [];
    const devices: FleetDeviceId[] = [];
    for (const n of numbers) {
      const waId = this.waIdAt(n);
      waIds.push(waId);
      for (let d = 1; d <= devicesPerUser; d++) devices.push({ wa_id: waId, device_id: d });
    }
    await this.fleet.register(devices);
    return { waIds, devices };
  }

  /** Where a business sends (its /messages URL) and the headers of its sends. */
  sendEndpoint(business: StagedBusiness): { url: string; headers: Record<string, string> } {
    return {
      url: `${this.server.target.url}/v23.0/${business.phone_number_id}/messages`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${business.access_token}` },
    };
  }

  /** Every webhook the receiver got so far carried a valid signature and a well-formed payload. */
  signaturesCheck(scope: string): Check {
    const total = this.webhooks.total();
    return { id: `${scope}/webhook-signatures`, passed: total.badSignatures === 0 && total.malformed === 0, detail: `${total.badSignatures} bad signatures, ${total.malformed} malformed payloads` };
  }

  /** A template message body (allowed outside the service window) carrying the canary. */
  template(to: string, note: string): Record<string, unknown> {
    return {
      to,
      type: 'template',
      template: { name: 'sigload_notice', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: `${this.canary} ${note}` }] }] },
    };
  }

  /** A free-form text body carrying the canary. */
  text(to: string, note: string): Record<string, unknown> {
    return { to, type: 'text', text: { body: `${this.canary} ${note}` } };
  }

  /**
   * Waits until `predicate` holds for what the webhook receiver got. The server retries a
   * failed webhook POST with backoff on its own clock; on a virtual clock that time only moves
   * when advanced, so while waiting the stage moves it by a minute every 250 ms (no-op when
   * the server has no virtual clock). Resolves false on timeout.
   */
  async settleWebhooks(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let virtual = true;
    while (!predicate()) {
      if (Date.now() >= deadline) return false;
      await this.webhooks.waitFor(predicate, 250).catch(() => {});
      if (!predicate() && virtual) virtual = (await this.client.advanceClock(60_000)) !== undefined;
    }
    return true;
  }

  async close(): Promise<void> {
    await this.fleet.close().catch(() => {});
    await this.webhooks.close().catch(() => {});
    await this.server.stop();
  }
}

/** Graph error code of a refused send, if its body is the Graph envelope. */
export function graphErrorCode(body: string): number | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The wamids of a business's accepted sends, and the `onResponse` callback that collects them. */
export function wamidCollector(): { wamids: Set<string>; collect: (status: number, body: string) => void } {
  const wamids = new Set<string>();
  return {
    wamids,
    collect: (status, body) => {
      if (status !== 200) return;
      const id = sentWamid(body);
      if (id) wamids.add(id);
    },
  };
}

/** wamid from a business-send answer. */
export function sentWamid(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { messages?: Array<{ id?: string }> }).messages?.[0]?.id;
  } catch {
    return undefined;
  }
}
