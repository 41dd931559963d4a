/**
 * Child-process entry for the load scenarios: starts the reference server on loopback (port 0)
 * with the in-memory store and a virtual clock, so the load generator and the server never
 * share an event loop. Prints one line, `SIGLOAD_SERVER <json>` with url and tokens, then
 * serves until SIGTERM/SIGINT or stdin closes.
 *
 * argv[2]: JSON of ServerChildConfig (optional).
 */
import { randomBytes } from 'node:crypto';
import { startReferenceServer } from '../../src/server/reference-server.js';
import { loadGeneratorRegistrationLimits } from '../../src/server/registration-limits.js';
import { VirtualClock } from '../../src/server/clock.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { getBackend, type BackendName } from '../../src/crypto/index.js';

export interface ServerChildConfig {
  backend?: BackendName;
  /** Pair-rate burst; the scenarios raise it because a virtual clock never refills buckets. */
  pairBurst?: number;
  /** Spam guard: cold contacts that never stop a business. */
  minColdUsers?: number;
  /** Spam guard: share of registered users that counts as messaging everyone. */
  shareOfUsers?: number;
  /** Spam guard: smallest audience for the report ratio. */
  minAudience?: number;
  webhookQueueCapacity?: number;
}

const config: ServerChildConfig = process.argv[2] ? (JSON.parse(process.argv[2]) as ServerChildConfig) : {};
const clock = new VirtualClock(Date.now());
const store = new MemoryStore({ now: () => clock.now(), webhook_queue_capacity: config.webhookQueueCapacity ?? 1_000_000 });
const server = await startReferenceServer({
  store,
  clock,
  port: 0,
  host: '127.0.0.1',
  adminToken: randomBytes(18).toString('base64url'),
  registrationToken: randomBytes(18).toString('base64url'),
  backend: getBackend(config.backend ?? 'node'),
  limits: { pairBurst: config.pairBurst ?? 1_000_000 },
  spamGuard: {
    ...(config.minColdUsers !== undefined ? { minColdUsers: config.minColdUsers } : {}),
    ...(config.shareOfUsers !== undefined ? { shareOfUsers: config.shareOfUsers } : {}),
    ...(config.minAudience !== undefined ? { minAudience: config.minAudience } : {}),
  },
  retention: false,
  // The scenarios register thousands of devices from loopback with the one registration token.
  registrationLimits: loadGeneratorRegistrationLimits,
  closeStore: true,
});
process.stdout.write(`SIGLOAD_SERVER ${JSON.stringify({ url: server.url, adminToken: server.adminToken, registrationToken: server.registrationToken })}\n`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
