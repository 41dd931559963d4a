/**
 * Child-process entry for the load scenarios: starts the reference server on loopback (port 0)
 * with the in-memory store (or PostgreSQL with `store: "postgres"` and `databaseUrl`) and a virtual clock, so the load generator and the server never
 * share an event loop. Prints one line, `SIGLOAD_SERVER <json>` with url and tokens, then
 * serves until SIGTERM/SIGINT or stdin closes.
 *
 * argv[2]: JSON of ServerChildConfig (optional).
 */
import { randomBytes } from 'node:crypto';
import { startReferenceServer } from '../../server/reference-server.js';
import { VirtualClock } from '../../server/clock.js';
import { MemoryStore } from '../../store/memory/index.js';
import { getBackend, type BackendName } from '../../crypto/index.js';
import { loadGeneratorRegistrationLimits } from '../../server/registration-limits.js';
import { PostgresStore } from '../../store/postgres/index.js';
import type { Store } from '../../store/store.js';

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
  /** Default memory. */
  store?: 'memory' | 'postgres';
  /** PostgreSQL URL for `store: "postgres"`. */
  databaseUrl?: string;
  /** Where limits, spam guard and virtual clock live (docs/server.md `--limits`). @default shared with postgres, process with memory */
  limitScope?: 'shared' | 'process';
  /**
   * Under a profiler that gives the child no stdin and stops it with SIGINT (clinic heapprofiler):
   * do not exit when stdin ends, and leave SIGINT to the profiler, which writes its profile and
   * exits the process. Default false.
   */
  profilerOwnsExit?: boolean;
}

/** Defaults of `ServerChildConfig` (the spam-guard fields default to the server's own). */
export const DEFAULT_SERVER_CHILD_CONFIG = {
  backend: 'node',
  pairBurst: 1_000_000,
  webhookQueueCapacity: 1_000_000,
} as const;

const config: ServerChildConfig = process.argv[2] ? (JSON.parse(process.argv[2]) as ServerChildConfig) : {};
const clock = new VirtualClock(Date.now());
const webhookQueueCapacity = config.webhookQueueCapacity ?? DEFAULT_SERVER_CHILD_CONFIG.webhookQueueCapacity;
const store: Store =
  config.store === 'postgres'
    ? await PostgresStore.open({ database_url: config.databaseUrl ?? '', now_ms: () => clock.now(), webhook_queue_capacity: webhookQueueCapacity })
    : new MemoryStore({ now: () => clock.now(), webhook_queue_capacity: webhookQueueCapacity });
const server = await startReferenceServer({
  store,
  clock,
  port: 0,
  host: '127.0.0.1',
  // Hex, not base64url: a token that starts with '-' cannot follow `--admin-token` on a command line.
  adminToken: randomBytes(18).toString('hex'),
  registrationToken: randomBytes(18).toString('hex'),
  backend: getBackend(config.backend ?? DEFAULT_SERVER_CHILD_CONFIG.backend),
  ...(config.limitScope !== undefined ? { limitScope: config.limitScope } : {}),
  limits: { pairBurst: config.pairBurst ?? DEFAULT_SERVER_CHILD_CONFIG.pairBurst },
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
if (config.profilerOwnsExit !== true) {
  process.on('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
}
