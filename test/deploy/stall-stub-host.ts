/**
 * The stall stub (src/harness/load/stall-stub.ts) as a process on a test host:
 * `node dist/test/deploy/stall-stub-host.js <address> <stall ms> <period ms>` prints
 * `stall stub listening on <url>` and serves until SIGTERM.
 */
import { startStallStub } from '../../src/harness/load/stall-stub.js';

const [host = '127.0.0.1', stall = '200', period = '1000'] = process.argv.slice(2);
const stub = await startStallStub(Number(stall), Number(period), host);
process.stdout.write(`stall stub listening on ${stub.url}\n`);
process.once('SIGTERM', () => void stub.close());
