/**
 * Starts a reference server for a suite: virtual clock, the factory's store, a webhook receiver.
 */
import { VirtualClock } from '../../src/server/clock.js';
import { startReferenceServer, type ReferenceServer, type ReferenceServerOptions } from '../../src/server/reference-server.js';
import { loadGeneratorRegistrationLimits } from '../../src/server/registration-limits.js';
import type { Store } from '../../src/store/store.js';
import { makeTestStore } from './store-factory.js';
import { WebhookReceiver } from './webhook-receiver.js';

export interface TestServer {
  readonly server: ReferenceServer;
  readonly clock: VirtualClock;
  readonly store: Store;
  readonly receiver: WebhookReceiver;
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<ReferenceServerOptions> = {}): Promise<TestServer> {
  const clock = new VirtualClock();
  const store = await makeTestStore({ now: () => clock.now() });
  const receiver = new WebhookReceiver();
  await receiver.start();
  const server = await startReferenceServer({
    store,
    clock,
    adminToken: 'admin-token',
    registrationToken: 'registration-token',
    retention: false,
    // Suites register hundreds of devices from loopback: the per-source and per-token
    // registration limits are raised here and tested with their own settings (abuse-reports.test.ts).
    registrationLimits: loadGeneratorRegistrationLimits,
    ...options,
  });
  return {
    server,
    clock,
    store,
    receiver,
    async close() {
      await server.close();
      await receiver.close();
      await store.close();
    },
  };
}
