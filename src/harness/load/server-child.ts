/**
 * Child-process entry for the load scenarios: starts the reference server on loopback (port 0)
 * with the in-memory store and a virtual clock, so the load generator and the server never
 * share an event loop. Prints one line, `SIGLOAD_SERVER <json>` with url and tokens, then
 * serves until SIGTERM/SIGINT or stdin closes.
 *
 * argv[2]: JSON of ServerChildConfig (optional).
 */
import { randomBytes } from 'node:crypto';
import { startReferenceServer } from '../../server/reference-server.js';
import { VirtualClock } from '../../server/clock.js';
import { MemoryStore } from '../../store/memory.js';
import { getBackend, type BackendName } from '../../crypto/index.js';

export interface ServerChildConfig {
  /** Crypto backend of the server. @default 'node' */
  backend?: BackendName;
  /** Pair-rate burst; the scenarios raise it because a virtual clock never refills buckets. @default 1000000 */
  pairBurst?: number;
  /** Spam guard: cold contacts that never stop a business. */
  minColdUsers?: number;
  /** Spam guard: share of registered users that counts as messaging everyone. */
  shareOfUsers?: number;
  /** Spam guard: smallest audience for the report ratio. */
  minAudience?: number;
  /** Webhook queue capacity per business. @default 1000000 */
  webhookQueueCapacity?: number;
}

/** Defaults of `ServerChildConfig` (the spam-guard fields default to the server's own). */
export const DEFAULT_SERVER_CHILD_CONFIG = {
  backend: 'node',
  pairBurst: 1_000_000,
  webhookQueueCapacity: 1_000_000,
} as const;

const config: ServerChildConfig = process.argv[2] ? (JSON.parse(process.argv[2]) as ServerChildConfig) : {};
const clock = new VirtualClock(Date.now());
const store = new MemoryStore({ now: () => clock.now(), webhook_queue_capacity: config.webhookQueueCapacity ?? DEFAULT_SERVER_CHILD_CONFIG.webhookQueueCapacity });
const server = await startReferenceServer({
  store,
  clock,
  port: 0,
  host: '127.0.0.1',
  adminToken: randomBytes(18).toString('base64url'),
  registrationToken: randomBytes(18).toString('base64url'),
  backend: getBackend(config.backend ?? DEFAULT_SERVER_CHILD_CONFIG.backend),
  limits: { pairBurst: config.pairBurst ?? DEFAULT_SERVER_CHILD_CONFIG.pairBurst },
  spamGuard: {
    ...(config.minColdUsers !== undefined ? { minColdUsers: config.minColdUsers } : {}),
    ...(config.shareOfUsers !== undefined ? { shareOfUsers: config.shareOfUsers } : {}),
    ...(config.minAudience !== undefined ? { minAudience: config.minAudience } : {}),
  },
  retention: false,
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
