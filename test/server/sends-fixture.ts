/**
 * The server the send measurements use (test/server/measure-sends.ts over HTTP,
 * test/server/measure-send-path.ts in process): the memory store, no retention timer, pair rate
 * and tiers on the request path but never biting, one business, and `users` users whose
 * devices have each set up a session with it and written once (so the 24-hour window is open
 * and every later send is a Whisper message on an established session).
 */
import { MemoryStore } from '../../src/store/memory/index.js';
import { startReferenceServer, type ReferenceServer } from '../../src/server/reference-server.js';
import { loadGeneratorRegistrationLimits } from '../../src/server/registration-limits.js';
import { TestDevice, createBusiness, type TestBusiness } from './test-client.js';
import type { WebhookReceiver } from './webhook-receiver.js';

export const measuredUserId = (i: number): string => String(4_917_000_000 + i);

/** `onBusiness` runs before any device writes (a receiver elsewhere can learn the app secret first). */
export async function startSendsFixture(options: {
  users: number;
  devicesPerUser?: number;
  receiver?: WebhookReceiver;
  onBusiness?: (business: TestBusiness) => void;
}): Promise<{ server: ReferenceServer; business: TestBusiness }> {
  const server = await startReferenceServer({
    store: new MemoryStore(),
    adminToken: 'admin-token',
    registrationToken: 'registration-token',
    retention: false,
    limits: { pairBurst: 1e9 },
    registrationLimits: loadGeneratorRegistrationLimits,
    // SIGLOAD_MEASURE_CRYPTO_THREAD=off measures the event loop doing every send alone.
    ...(process.env['SIGLOAD_MEASURE_CRYPTO_THREAD'] === 'off' ? { sessionCryptoThread: false } : {}),
  });
  const business = await createBusiness(server, options.receiver, { throughput_mps: 100_000, messaging_limit: 'TIER_UNLIMITED' });
  options.onBusiness?.(business);
  for (let i = 0; i < options.users; i++) {
    for (let d = 1; d <= (options.devicesPerUser ?? 1); d++) {
      const device = await TestDevice.register(server, measuredUserId(i), d, 1);
      await device.startSession(business.pnid);
      const sent = await device.sendText(business.pnid, 'hello');
      if (sent.status !== 202) throw new Error(sent.text);
    }
  }
  return { server, business };
}
