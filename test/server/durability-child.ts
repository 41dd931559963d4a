/**
 * A reference server on the PostgreSQL store in its own process, for the durability (kill -9)
 * and multi-process suites. Configured by environment:
 *   SIGLOAD_CHILD_DATABASE_URL  the database (required)
 *   SIGLOAD_CHILD_PORT          port on 127.0.0.1 (required; fixed so a restart keeps the URL)
 *   SIGLOAD_CHILD_MASTER_KEY    64 hex chars: the US region master key (at-rest data must
 *                               open after a restart, so it cannot be random)
 *   SIGLOAD_CHILD_VIRTUAL_CLOCK=1   run on a virtual clock (shared through the database with shared limits)
 *   SIGLOAD_CHILD_LIMITS        shared | process (default: the server's, shared on PostgreSQL)
 *   SIGLOAD_CHILD_MIN_COLD_USERS    the spam guard's minColdUsers (default the server's)
 * Prints one line `{"ready":true,"url":…}` on stdout when it listens.
 */
import { VirtualClock } from '../../src/server/clock.js';
import { startReferenceServer } from '../../src/server/reference-server.js';
import { PostgresStore } from '../../src/store/postgres/index.js';

const url = process.env['SIGLOAD_CHILD_DATABASE_URL'];
const port = Number(process.env['SIGLOAD_CHILD_PORT']);
const masterKey = process.env['SIGLOAD_CHILD_MASTER_KEY'] ?? '';
if (!url || !Number.isInteger(port) || !/^[0-9a-f]{64}$/.test(masterKey)) {
  console.error('durability-child: SIGLOAD_CHILD_DATABASE_URL, SIGLOAD_CHILD_PORT, SIGLOAD_CHILD_MASTER_KEY are required');
  process.exit(2);
}
const limits = process.env['SIGLOAD_CHILD_LIMITS'];
const minColdUsers = process.env['SIGLOAD_CHILD_MIN_COLD_USERS'];
const clock = process.env['SIGLOAD_CHILD_VIRTUAL_CLOCK'] === '1' ? new VirtualClock() : undefined;
const store = await PostgresStore.open({ database_url: url, pool_size: 8, ...(clock !== undefined ? { now_ms: () => clock.now() } : {}) });
const server = await startReferenceServer({
  store,
  ...(clock !== undefined ? { clock } : {}),
  ...(limits === 'shared' || limits === 'process' ? { limitScope: limits } : {}),
  ...(minColdUsers !== undefined ? { spamGuard: { minColdUsers: Number(minColdUsers) } } : {}),
  port,
  host: '127.0.0.1',
  adminToken: 'admin-token',
  registrationToken: 'registration-token',
  masterKeys: { US: new Uint8Array(Buffer.from(masterKey, 'hex')) },
  retention: false,
  // Short lease: pieces claimed by a killed process are resent soon after a restart.
  webhooks: { lease_ms: 3_000, poll_ms: 200 },
});
process.stdout.write(`${JSON.stringify({ ready: true, url: server.url })}\n`);
const stop = () => {
  server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
