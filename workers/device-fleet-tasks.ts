/**
 * The device fleet's worker tasks (piscina entry: device-fleet.ts): one shard of simulated
 * user devices (see src/harness/device/fleet.ts).
 * Each worker thread holds its devices' identities, prekeys and Signal sessions for the life
 * of the pool, and talks HTTP to the server itself (fetch), so the load generator's main
 * thread stays free. Tasks are plain JSON in and out.
 *
 * A device is either ours (src/harness/device/signal-device.ts on the `node` or `noble` backend) or a
 * libsignal-client 0.90.0 device (src/harness/device/libsignal-peer.ts).
 */
import { getBackend, type BackendName } from '../src/crypto/index.js';
import type { Ciphertext, PreKeyBundle, ProtocolAddress } from '../src/signal/index.js';
import { fromBase64, toBase64 } from '../src/encoding/base64.js';
import type { DeviceFleetTask, DeviceFleetAnswer, DeviceSignal, FleetDeviceId, InboundRequest } from '../src/harness/device/fleet.js';
import { SimulatedDevice } from '../src/harness/device/signal-device.js';
import {
  bundleFromAnswer,
  call,
  deviceRegistration,
  oneTimePreKeysOf,
  type BundleAnswer,
  type CallAnswer,
  type DeviceRegistration,
  type InboxMessage,
} from '../src/harness/load/contract.js';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** What every simulated device can do, whichever Signal implementation backs it. */
interface DeviceSignalEngine {
  registration(waId: string, deviceId: number, oneTimePreKeys: number): Promise<DeviceRegistration>;
  processBundle(address: ProtocolAddress, bundle: PreKeyBundle): Promise<void>;
  encrypt(address: ProtocolAddress, plaintext: Uint8Array): Promise<Ciphertext>;
  decrypt(address: ProtocolAddress, ciphertext: Ciphertext): Promise<Uint8Array>;
}

/** A device on our Signal core (src/harness/device/signal-device.ts), made when it registers. */
class OurDeviceEngine implements DeviceSignalEngine {
  private device!: SimulatedDevice;
  constructor(private readonly backend: BackendName) {}

  async registration(waId: string, deviceId: number, oneTimePreKeys: number): Promise<DeviceRegistration> {
    this.device = new SimulatedDevice(getBackend(this.backend), { name: waId, deviceId, oneTimePreKeys, firstOneTimePreKeyId: 100 });
    return deviceRegistration(waId, this.device.bundle(false), [...this.device.oneTimePreKeys.values()]);
  }
  async processBundle(address: ProtocolAddress, bundle: PreKeyBundle): Promise<void> {
    this.device.processBundle(address, bundle);
  }
  async encrypt(address: ProtocolAddress, plaintext: Uint8Array): Promise<Ciphertext> {
    return this.device.encrypt(address, plaintext);
  }
  async decrypt(address: ProtocolAddress, ciphertext: Ciphertext): Promise<Uint8Array> {
    return this.device.decrypt(address, ciphertext);
  }
}

class LibsignalDeviceEngine implements DeviceSignalEngine {
  // Loaded lazily: libsignal-client is a devDependency, only needed for --device-signal libsignal.
  private device!: import('../src/harness/device/libsignal-peer.js').LibsignalDevice;

  async registration(waId: string, deviceId: number, oneTimePreKeys: number): Promise<DeviceRegistration> {
    const { LibsignalDevice } = await import('../src/harness/device/libsignal-peer.js');
    this.device = await LibsignalDevice.create(waId, deviceId);
    const bundles = Array.from({ length: Math.max(1, oneTimePreKeys) }, () => this.device.bundle({ oneTimePreKey: true }));
    return deviceRegistration(waId, bundles[0]!, oneTimePreKeysOf(bundles));
  }
  processBundle(address: ProtocolAddress, bundle: PreKeyBundle): Promise<void> {
    return this.device.processBundle(address, bundle);
  }
  encrypt(address: ProtocolAddress, plaintext: Uint8Array): Promise<Ciphertext> {
    return this.device.encrypt(address, plaintext);
  }
  decrypt(address: ProtocolAddress, ciphertext: Ciphertext): Promise<Uint8Array> {
    return this.device.decrypt(address, ciphertext);
  }
}

interface FleetDevice {
  id: FleetDeviceId;
  engine: DeviceSignalEngine;
  token: string;
  inboxCursor: string | undefined;
  /** Sent counter per business, for unique plaintexts. */
  sent: Map<string, number>;
}

const devices = new Map<string, FleetDevice>();
const keyOf = (id: FleetDeviceId): string => `${id.wa_id}.${id.device_id}`;

function engineFor(signal: DeviceSignal, backend: BackendName): DeviceSignalEngine {
  return signal === 'libsignal' ? new LibsignalDeviceEngine() : new OurDeviceEngine(backend);
}

function deviceOf(id: FleetDeviceId): FleetDevice {
  const d = devices.get(keyOf(id));
  if (!d) throw new Error(`device ${keyOf(id)} is not in this shard`);
  return d;
}

/**
 * One HTTP call; a transport failure (e.g. a keep-alive socket the server closed) is retried
 * twice and then answered as status 0, so one bad socket never aborts a whole batch.
 */
async function http(url: string, method: string, token: string, body?: unknown): Promise<CallAnswer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await call(url, { method, token, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
    }
  }
  const cause = (lastError as { cause?: { message?: string } } | undefined)?.cause?.message;
  return { status: 0, text: `transport error: ${(lastError as Error).message}${cause ? ` (${cause})` : ''}` };
}

/** Runs `fn` over items with at most `limit` in flight. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

export default async function deviceFleetTask(task: DeviceFleetTask): Promise<DeviceFleetAnswer> {
  switch (task.kind) {
    case 'register': {
      let failed = 0;
      const errors: string[] = [];
      await eachLimited(task.devices, 4, async (id) => {
        const engine = engineFor(task.signal, task.backend);
        const registration = await engine.registration(id.wa_id, id.device_id, task.oneTimePreKeys);
        const res = await http(`${task.url}/transport/v1/devices`, 'POST', task.registrationToken, registration);
        if (res.status !== 201 && res.status !== 200) {
          failed++;
          if (errors.length < 3) errors.push(`register ${keyOf(id)}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
          return;
        }
        const token = (JSON.parse(res.text) as { device_token: string }).device_token;
        devices.set(keyOf(id), { id, engine, token, inboxCursor: undefined, sent: new Map() });
      });
      return { kind: 'register', registered: task.devices.length - failed, failed, errors };
    }
    case 'open-sessions': {
      let failed = 0;
      const errors: string[] = [];
      await eachLimited(task.devices, 8, async (id) => {
        const d = deviceOf(id);
        const res = await http(`${task.url}/transport/v1/businesses/${task.business}/bundle`, 'GET', d.token);
        if (res.status !== 200) {
          failed++;
          if (errors.length < 3) errors.push(`bundle for ${keyOf(id)}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
          return;
        }
        const answer = JSON.parse(res.text) as BundleAnswer;
        await d.engine.processBundle({ name: answer.address.name, deviceId: answer.address.device_id }, bundleFromAnswer(answer));
      });
      return { kind: 'open-sessions', opened: task.devices.length - failed, failed, errors };
    }
    case 'make-inbound': {
      const requests: InboundRequest[] = [];
      const address: ProtocolAddress = { name: task.business, deviceId: 1 };
      for (let round = 0; round < task.perDevice; round++) {
        for (const id of task.devices) {
          const d = deviceOf(id);
          const n = (d.sent.get(task.business) ?? 0) + 1;
          d.sent.set(task.business, n);
          const text = `${task.textPrefix} ${keyOf(id)} #${n}`;
          const ct = await d.engine.encrypt(address, utf8.encode(JSON.stringify({ type: 'text', text: { body: text } })));
          requests.push({ token: d.token, body: JSON.stringify({ to: task.business, type: ct.type, body: toBase64(ct.body) }) });
        }
      }
      return { kind: 'make-inbound', requests };
    }
    case 'send-inbound': {
      // Make and send in one go (setup traffic: opens the service window, not measured).
      let accepted = 0;
      let refused = 0;
      const errors: string[] = [];
      const address: ProtocolAddress = { name: task.business, deviceId: 1 };
      for (const id of task.devices) {
        const d = deviceOf(id);
        const n = (d.sent.get(task.business) ?? 0) + 1;
        d.sent.set(task.business, n);
        let ct: Ciphertext;
        try {
          ct = await d.engine.encrypt(address, utf8.encode(JSON.stringify({ type: 'text', text: { body: `${task.textPrefix} ${keyOf(id)} #${n}` } })));
        } catch (error) {
          // A device with no session (its first message never arrived or did not decrypt) is a
          // finding for the scenario's checks, not a reason to abandon the other devices.
          refused++;
          if (errors.length < 3) errors.push(`inbound from ${keyOf(id)}: cannot encrypt: ${error instanceof Error ? error.message : String(error)}`);
          continue;
        }
        const res = await http(`${task.url}/transport/v1/messages`, 'POST', d.token, { to: task.business, type: ct.type, body: toBase64(ct.body) });
        if (res.status === 202 || res.status === 200) accepted++;
        else {
          refused++;
          if (errors.length < 3) errors.push(`inbound from ${keyOf(id)}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
        }
      }
      return { kind: 'send-inbound', accepted, refused, errors };
    }
    case 'drain': {
      let received = 0;
      let decrypted = 0;
      let failed = 0;
      let receiptsSent = 0;
      const texts: string[] = [];
      const errors: string[] = [];
      const fromBusiness: Record<string, number> = {};
      await eachLimited(task.devices, 8, async (id) => {
        const d = deviceOf(id);
        for (;;) {
          const q = new URLSearchParams({ limit: '1000', wait_ms: String(task.waitMs ?? 0) });
          if (d.inboxCursor !== undefined) q.set('after', d.inboxCursor);
          const res = await http(`${task.url}/transport/v1/inbox?${q}`, 'GET', d.token);
          if (res.status !== 200) {
            failed++;
            if (errors.length < 3) errors.push(`inbox ${keyOf(id)}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
            return;
          }
          const page = JSON.parse(res.text) as { messages: InboxMessage[]; cursor?: string | null };
          if (page.cursor !== undefined && page.cursor !== null) d.inboxCursor = String(page.cursor);
          if (page.messages.length === 0) break;
          const ids: string[] = [];
          for (const m of page.messages) {
            received++;
            try {
              const plain = await d.engine.decrypt({ name: m.from, deviceId: 1 }, { type: m.type, body: fromBase64(m.body) });
              decrypted++;
              ids.push(m.id);
              fromBusiness[m.from] = (fromBusiness[m.from] ?? 0) + 1;
              if (task.keepTexts) texts.push(fromUtf8.decode(plain));
            } catch (err) {
              failed++;
              if (errors.length < 3) errors.push(`decrypt ${m.id} at ${keyOf(id)}: ${(err as Error).message}`);
            }
          }
          if (task.receipt && ids.length > 0) {
            const r = await http(`${task.url}/transport/v1/receipts`, 'POST', d.token, { ids, status: task.receipt });
            if (r.status === 204 || r.status === 200) receiptsSent += ids.length;
            else if (errors.length < 3) errors.push(`receipts ${keyOf(id)}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
          }
          if (page.messages.length < 1000) break;
        }
      });
      return { kind: 'drain', received, decrypted, failed, receiptsSent, texts, errors, fromBusiness };
    }
    case 'report': {
      let reported = 0;
      const errors: string[] = [];
      for (const id of task.devices) {
        const d = deviceOf(id);
        const res = await http(`${task.url}/transport/v1/reports`, 'POST', d.token, { business: task.business, reason: 'spam' });
        if (res.status === 204 || res.status === 200) reported++;
        else if (errors.length < 3) errors.push(`report by ${keyOf(id)}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      }
      return { kind: 'report', reported, errors };
    }
  }
}
