/**
 * piscina worker entry point (loaded as compiled JS: dist/workers/device-crypto.js): simulated
 * user devices doing Signal work in batches; the work itself is in device-crypto-batch.ts.
 *
 * Why the indirection: piscina 5 first tries `require(filename)` and only then `import()`. The
 * crypto layer's module graph has top-level await (the node backend picks its providers at load
 * time), which `require()` of ESM cannot run (ERR_REQUIRE_ASYNC_MODULE); on Node 20 the half-done
 * require then breaks the following import ("Unexpected status of a module that is imported
 * again after being required") or leaves the thread waiting. This entry has no static imports,
 * so `require()` loads it cleanly, and the first task imports the real graph with `import()`.
 */
export type { DeviceCryptoResult, DeviceCryptoTask, DeviceCryptoTaskKind } from './device-crypto-batch.js';
import type { DeviceCryptoResult, DeviceCryptoTask } from './device-crypto-batch.js';

type Batch = typeof import('./device-crypto-batch.js');
let batch: Promise<Batch> | undefined;

export default async function deviceCrypto(task: DeviceCryptoTask): Promise<DeviceCryptoResult> {
  batch ??= import('./device-crypto-batch.js');
  return (await batch).runDeviceCryptoTask(task);
}
