/**
 * The work of the piscina worker workers/device-crypto.ts: simulated user devices doing Signal
 * work in batches against one business identity held by this worker thread.
 *
 * Tasks (plain data in, plain data out; nothing to transfer):
 * - `session-setup`: each of `devices` devices runs a full setup with the business: processes
 *   its bundle (PQXDH initiator), sends the first 160-byte PreKey message, the business decrypts
 *   it (PQXDH responder). One operation per device.
 * - `message-stream`: each device sends `messages` 160-byte messages on its established session
 *   and the business decrypts them. One operation per message.
 * - `warm`: creates the devices and sessions the other tasks use, so timed rounds never pay for
 *   identity generation or first-use JIT.
 * - `noop`: returns at once (per-task overhead of the pool itself).
 *
 * Imported lazily by dist/workers/device-crypto.js (see there why).
 */
import type { BackendName, CryptoBackend } from '../src/crypto/backend.js';
import { getBackend } from '../src/crypto/index.js';
import type { SessionRecord } from '../src/signal/index.js';
import { createDevice, establishSession, plaintextOf, sendAndReceive, setUpSession, type SimulatedDevice } from '../src/harness/device/signal-device.js';

export type DeviceCryptoTaskKind = 'session-setup' | 'message-stream' | 'warm' | 'noop';

export interface DeviceCryptoTask {
  kind: DeviceCryptoTaskKind;
  backend: BackendName;
  /** Devices in this batch (default 1). */
  devices?: number;
  /** Messages per device for `message-stream` (default 1). */
  messages?: number;
}

export interface DeviceCryptoResult {
  /** Session setups or messages completed. */
  operations: number;
  /** Time spent inside the worker on the batch, ms. */
  busyMs: number;
}

interface WorkerState {
  backend: CryptoBackend;
  business: SimulatedDevice;
  devices: SimulatedDevice[];
  sessions: { device: SessionRecord; business: SessionRecord }[];
}

const states = new Map<BackendName, WorkerState>();
const PLAINTEXT = plaintextOf(160);

function stateFor(name: BackendName): WorkerState {
  let state = states.get(name);
  if (!state) {
    const backend = getBackend(name);
    state = { backend, business: createDevice(backend, 1), devices: [], sessions: [] };
    states.set(name, state);
  }
  return state;
}

function ensureDevices(state: WorkerState, count: number): void {
  while (state.devices.length < count) {
    const device = createDevice(state.backend, 1 + (state.devices.length % 16), 0);
    const pair = establishSession(state.backend, device, state.business, PLAINTEXT);
    state.devices.push(device);
    state.sessions.push({ device: pair.initiator, business: pair.responder });
  }
}

function checkCount(value: number | undefined, what: string): number {
  const n = value ?? 1;
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000) throw new RangeError(`device-crypto: bad ${what} ${String(value)}`);
  return n;
}

export function runDeviceCryptoTask(task: DeviceCryptoTask): DeviceCryptoResult {
  const start = performance.now();
  if (task.kind === 'noop') return { operations: 0, busyMs: 0 };
  const devices = checkCount(task.devices, 'devices');
  const messages = checkCount(task.messages, 'messages');
  const state = stateFor(task.backend);
  ensureDevices(state, devices);
  const { backend, business } = state;
  let operations = 0;
  switch (task.kind) {
    case 'warm':
      for (let i = 0; i < devices; i++) setUpSession(backend, state.devices[i]!, business, PLAINTEXT);
      break;
    case 'session-setup':
      for (let i = 0; i < devices; i++) {
        setUpSession(backend, state.devices[i]!, business, PLAINTEXT);
        operations++;
      }
      break;
    case 'message-stream':
      for (let i = 0; i < devices; i++) {
        const device = state.devices[i]!;
        const session = state.sessions[i]!;
        for (let m = 0; m < messages; m++) {
          sendAndReceive(backend, device, session.device, business, session.business, PLAINTEXT);
          operations++;
        }
      }
      break;
    default:
      throw new RangeError(`device-crypto: unknown task kind ${String((task as { kind: unknown }).kind)}`);
  }
  return { operations, busyMs: performance.now() - start };
}
