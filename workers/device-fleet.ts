/**
 * Piscina entry point of the device fleet (src/harness/device/fleet.ts); the work is in
 * device-fleet-tasks.ts.
 *
 * Why a separate entry: piscina 5 first tries `require(filename)`, and Node ≥ 20.19 then loads
 * ESM with require(esm). The Signal core's graph has top-level await (src/crypto/node.ts
 * picks its providers at load), so require(esm) fails half-way, and piscina's fallback
 * `import()` of the same graph can then hit Node's internal assertion "Unexpected status of a
 * module that is imported again after being required". This entry has no static imports, so
 * require(esm) succeeds, and the real module is loaded by a plain dynamic import.
 */
import type { DeviceFleetAnswer, DeviceFleetTask } from '../src/harness/device/fleet.js';

let tasks: Promise<{ default: (task: DeviceFleetTask) => Promise<DeviceFleetAnswer> }> | undefined;

export default async function deviceFleetEntry(task: DeviceFleetTask): Promise<DeviceFleetAnswer> {
  tasks ??= import('./device-fleet-tasks.js');
  return (await tasks).default(task);
}
