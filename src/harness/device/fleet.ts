/**
 * The device fleet: many simulated user devices spread over piscina worker threads
 * (entry workers/device-fleet.ts, tasks in workers/device-fleet-tasks.ts). A device's
 * identity, prekeys and sessions live in one worker for the fleet's life, so each shard is its own single-thread Piscina pool and every task for a
 * device goes to its shard (piscina has no task affinity of its own).
 *
 * The workers talk HTTP to the server themselves; the main thread only hands out batches and
 * merges answers. `make-inbound` returns fresh ciphertext requests for the load drivers to send
 * (the server refuses replays, so every request carries a new message).
 */
import { Piscina } from 'piscina';
import type { BackendName } from '../../crypto/backend.js';

/** `--device-signal`: our Signal core (on `backend`) or libsignal-client 0.90.0. */
export type DeviceSignal = 'ours' | 'libsignal';

export interface FleetDeviceId {
  wa_id: string;
  device_id: number;
}

/** One inbound request the drivers send: `POST /transport/v1/messages` with this device token and body. */
export interface InboundRequest {
  token: string;
  body: string;
}

interface Base {
  url: string;
  devices: FleetDeviceId[];
}

export type DeviceFleetTask =
  | (Base & { kind: 'register'; registrationToken: string; signal: DeviceSignal; backend: BackendName; oneTimePreKeys: number })
  | (Base & { kind: 'open-sessions'; business: string })
  | (Base & { kind: 'make-inbound'; business: string; perDevice: number; textPrefix: string })
  | (Base & { kind: 'send-inbound'; business: string; textPrefix: string })
  | (Base & { kind: 'drain'; receipt?: 'delivered' | 'read'; keepTexts?: boolean; waitMs?: number })
  | (Base & { kind: 'report'; business: string });

export type DeviceFleetAnswer =
  | { kind: 'register'; registered: number; failed: number; errors: string[] }
  | { kind: 'open-sessions'; opened: number; failed: number; errors: string[] }
  | { kind: 'make-inbound'; requests: InboundRequest[] }
  | { kind: 'send-inbound'; accepted: number; refused: number; errors: string[] }
  | ({ kind: 'drain' } & DrainTotals)
  | { kind: 'report'; reported: number; errors: string[] };

export interface DeviceFleetOptions {
  /** Server origin the workers call. */
  url: string;
  registrationToken: string;
  /** Signal implementation of the devices. @default 'ours' */
  signal?: DeviceSignal;
  /** Crypto backend for `ours`. @default 'node' */
  backend?: BackendName;
  /** Worker threads (shards). @default 2 */
  workers?: number;
  /** One-time prekeys uploaded per device. @default 4 */
  oneTimePreKeys?: number;
}

/** Defaults of `DeviceFleetOptions` (documented per field there). */
export const DEFAULT_DEVICE_FLEET_OPTIONS = {
  signal: 'ours',
  backend: 'node',
  workers: 2,
  oneTimePreKeys: 4,
} as const;

/** What a drain of inboxes found (one shard's answer, or the fleet's sum). */
export interface DrainTotals {
  received: number;
  decrypted: number;
  failed: number;
  receiptsSent: number;
  texts: string[];
  errors: string[];
  fromBusiness: Record<string, number>;
}

/** `wa_id`s for user i: 12 digits, stable per run prefix. */
export function waIdFor(prefix: number, index: number): string {
  return `${String(prefix).padStart(4, '0')}${String(index).padStart(8, '0')}`.slice(0, 15);
}

export class DeviceFleet {
  private readonly shards: Piscina[];
  private readonly members: FleetDeviceId[][];
  private readonly shardOf = new Map<string, number>();
  readonly signal: DeviceSignal;
  readonly backend: BackendName;

  constructor(private readonly options: DeviceFleetOptions) {
    const workers = Math.max(1, options.workers ?? DEFAULT_DEVICE_FLEET_OPTIONS.workers);
    this.signal = options.signal ?? DEFAULT_DEVICE_FLEET_OPTIONS.signal;
    this.backend = options.backend ?? DEFAULT_DEVICE_FLEET_OPTIONS.backend;
    const filename = new URL('../../../workers/device-fleet.js', import.meta.url).href;
    this.shards = Array.from({ length: workers }, () => new Piscina({ filename, minThreads: 1, maxThreads: 1, idleTimeout: Infinity, concurrentTasksPerWorker: 1 }));
    this.members = this.shards.map(() => []);
  }

  get workerThreads(): number {
    return this.shards.length;
  }

  /** Devices grouped per shard, optionally restricted to `subset`. */
  private byShard(subset?: readonly FleetDeviceId[]): FleetDeviceId[][] {
    if (!subset) return this.members;
    const out: FleetDeviceId[][] = this.shards.map(() => []);
    for (const id of subset) {
      const shard = this.shardOf.get(`${id.wa_id}.${id.device_id}`);
      if (shard === undefined) throw new Error(`device ${id.wa_id}.${id.device_id} is not in the fleet`);
      out[shard]!.push(id);
    }
    return out;
  }

  private async each<K extends DeviceFleetAnswer['kind']>(
    kind: K,
    build: (devices: FleetDeviceId[]) => DeviceFleetTask,
    subset?: readonly FleetDeviceId[],
  ): Promise<Array<Extract<DeviceFleetAnswer, { kind: K }>>> {
    const groups = this.byShard(subset);
    const answers = await Promise.all(
      groups.map((devices, shard) => (devices.length === 0 ? undefined : (this.shards[shard]!.run(build(devices)) as Promise<DeviceFleetAnswer>))),
    );
    return answers.filter((a): a is Extract<DeviceFleetAnswer, { kind: K }> => a !== undefined && a.kind === kind);
  }

  /** Registers devices (keys made in the workers). Throws when any registration failed. */
  async register(devices: readonly FleetDeviceId[]): Promise<void> {
    const groups: FleetDeviceId[][] = this.shards.map(() => []);
    devices.forEach((id, i) => {
      const shard = (this.shardOf.size + i) % this.shards.length;
      groups[shard]!.push(id);
    });
    const answers = await Promise.all(
      groups.map((group, shard) =>
        group.length === 0
          ? undefined
          : (this.shards[shard]!.run({
              kind: 'register',
              url: this.options.url,
              devices: group,
              registrationToken: this.options.registrationToken,
              signal: this.signal,
              backend: this.backend,
              oneTimePreKeys: this.options.oneTimePreKeys ?? DEFAULT_DEVICE_FLEET_OPTIONS.oneTimePreKeys,
            } satisfies DeviceFleetTask) as Promise<Extract<DeviceFleetAnswer, { kind: 'register' }>>),
      ),
    );
    const errors = answers.flatMap((a) => a?.errors ?? []);
    groups.forEach((group, shard) => {
      for (const id of group) {
        this.shardOf.set(`${id.wa_id}.${id.device_id}`, shard);
        this.members[shard]!.push(id);
      }
    });
    if (errors.length > 0) throw new Error(`device registration failed: ${errors.join('; ')}`);
  }

  /** Each device fetches the business's bundle and starts a session (PQXDH, device side). */
  async openSessions(business: string, subset?: readonly FleetDeviceId[]): Promise<void> {
    const answers = await this.each('open-sessions', (devices) => ({ kind: 'open-sessions', url: this.options.url, devices, business }), subset);
    const errors = answers.flatMap((a) => a.errors);
    if (errors.length > 0) throw new Error(`opening sessions failed: ${errors.join('; ')}`);
  }

  /** Fresh inbound requests: `perDevice` per device, interleaved across devices. */
  async makeInbound(business: string, perDevice: number, textPrefix: string, subset?: readonly FleetDeviceId[]): Promise<InboundRequest[]> {
    const answers = await this.each('make-inbound', (devices) => ({ kind: 'make-inbound', url: this.options.url, devices, business, perDevice, textPrefix }), subset);
    // Interleave shards so consecutive requests come from different devices.
    const out: InboundRequest[] = [];
    const lists = answers.map((a) => a.requests);
    for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
    return out;
  }

  /** Each device sends one message to the business right away (setup: opens service windows). */
  async sendInbound(business: string, textPrefix: string, subset?: readonly FleetDeviceId[]): Promise<{ accepted: number; refused: number; errors: string[] }> {
    const answers = await this.each('send-inbound', (devices) => ({ kind: 'send-inbound', url: this.options.url, devices, business, textPrefix }), subset);
    return {
      accepted: answers.reduce((s, a) => s + a.accepted, 0),
      refused: answers.reduce((s, a) => s + a.refused, 0),
      errors: answers.flatMap((a) => a.errors),
    };
  }

  /** Devices read their inboxes, decrypt everything, and send receipts. */
  async drain(options: { receipt?: 'delivered' | 'read'; keepTexts?: boolean; waitMs?: number } = {}, subset?: readonly FleetDeviceId[]): Promise<DrainTotals> {
    const answers = await this.each('drain', (devices) => ({ kind: 'drain', url: this.options.url, devices, ...options }), subset);
    const fromBusiness: Record<string, number> = {};
    for (const a of answers) for (const [k, v] of Object.entries(a.fromBusiness)) fromBusiness[k] = (fromBusiness[k] ?? 0) + v;
    return {
      received: answers.reduce((s, a) => s + a.received, 0),
      decrypted: answers.reduce((s, a) => s + a.decrypted, 0),
      failed: answers.reduce((s, a) => s + a.failed, 0),
      receiptsSent: answers.reduce((s, a) => s + a.receiptsSent, 0),
      texts: answers.flatMap((a) => a.texts),
      errors: answers.flatMap((a) => a.errors),
      fromBusiness,
    };
  }

  async report(business: string, subset: readonly FleetDeviceId[]): Promise<number> {
    const answers = await this.each('report', (devices) => ({ kind: 'report', url: this.options.url, devices, business }), subset);
    return answers.reduce((s, a) => s + a.reported, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.destroy()));
  }
}
