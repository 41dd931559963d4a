/**
 * Quick measurement for docs/measurements.md (not a test): inbound messages decrypted and forwarded
 * per second, the `server-inbound-vs-bare-http` figure. The reference server (memory store)
 * runs in a child process; here: 50 libsignal devices that pre-encrypt fresh messages (the
 * server refuses replays), the webhook receiver (checks every signature), and autocannon with
 * `connections` connections. The figure is messages ÷ time from the first send until the
 * receiver's arrival stamp of the last one (answered_per_s: until the last answer); the server's
 * CPU per message is read from /proc.
 *
 *   node dist/test/server/measure-inbound.js [messagesPerDevice=40] [connections=10]
 *
 * Compare with the bare handler's req/s from measure-sends.js (same connections).
 * SIGLOAD_SERVER_CPU_PROFILE_DIR=<dir> writes the server's CPU profile on exit.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MemoryStore } from '../../src/store/memory/index.js';
import { startReferenceServer, type ReferenceServer } from '../../src/server/reference-server.js';
import { loadGeneratorRegistrationLimits } from '../../src/server/registration-limits.js';
import { TestDevice, createBusiness } from './test-client.js';
import { WebhookReceiver } from './webhook-receiver.js';
import { processCpuMs } from '../../src/harness/load/process-cpu.js';

const devices = 50;
const userId = (i: number): string => String(4_918_000_000 + i);

async function serveReference(): Promise<void> {
  const server = await startReferenceServer({ store: new MemoryStore(), adminToken: 'admin-token', registrationToken: 'registration-token', retention: false, registrationLimits: loadGeneratorRegistrationLimits });
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
}

async function measure(perDevice: number, connections: number): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve-reference'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
  });
  const { url } = JSON.parse(line) as { url: string };
  const server = { url, adminToken: 'admin-token', registrationToken: 'registration-token' } as ReferenceServer;
  const receiver = new WebhookReceiver();
  await receiver.start();
  try {
    const business = await createBusiness(server, receiver, { throughput_mps: 100_000 });
    const bodies: { token: string; body: string }[] = [];
    const fleet: TestDevice[] = [];
    for (let i = 0; i < devices; i++) {
      const device = await TestDevice.register(server, userId(i), 1, 1);
      await device.startSession(business.pnid);
      fleet.push(device);
    }
    for (let k = 0; k < perDevice; k++) {
      for (const device of fleet) {
        const c = await device.encrypt(business.pnid, { type: 'text', text: { body: `inbound ${k}` } });
        bodies.push({ token: device.token, body: JSON.stringify({ to: business.pnid, type: c.type, body: Buffer.from(c.body).toString('base64') }) });
      }
    }
    const autocannonModule = 'autocannon';
    const { default: autocannon } = (await import(autocannonModule)) as { default: (o: unknown) => Promise<any> };
    let next = 0;
    // autocannon resolves on its next 1-second tick after the last answer, so the times are
    // taken from the last answer and the receiver's arrival stamp of the last message instead.
    let lastAnswerAt = 0;
    const cpuBefore = processCpuMs(child.pid!);
    const startedAt = performance.now();
    const result = await autocannon({
      url,
      connections,
      amount: bodies.length,
      requests: [
        {
          method: 'POST',
          path: '/transport/v1/messages',
          setupRequest: (request: Record<string, unknown>) => {
            const b = bodies[next++ % bodies.length]!;
            return { ...request, headers: { authorization: `Bearer ${b.token}`, 'content-type': 'application/json' }, body: b.body };
          },
          onResponse: () => {
            lastAnswerAt = performance.now();
          },
        },
      ],
    });
    const answeredAt = lastAnswerAt > startedAt ? lastAnswerAt : performance.now();
    const waitFrom = performance.now();
    while (receiver.messages.length < bodies.length && performance.now() - waitFrom < 30_000) await new Promise((r) => setTimeout(r, 2));
    const forwardedAt = receiver.lastMessageAtMs > startedAt ? receiver.lastMessageAtMs : performance.now();
    const cpuUsed = processCpuMs(child.pid!) - cpuBefore;
    return {
      messages: bodies.length,
      accepted: result.requests.total - result.non2xx,
      forwarded: receiver.messages.length,
      bad_signatures: receiver.badSignatures,
      webhook_posts: receiver.payloads.length,
      forwarded_per_s: Math.round((receiver.messages.length / ((forwardedAt - startedAt) / 1000)) * 10) / 10,
      answered_per_s: Math.round((bodies.length / ((answeredAt - startedAt) / 1000)) * 10) / 10,
      server_cpu_us_per_message: Math.round((cpuUsed * 1000) / bodies.length),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await receiver.close();
  }
}

if (process.argv[2] === 'serve-reference') await serveReference();
else {
  const perDevice = Number(process.argv[2] ?? 40);
  const connections = Number(process.argv[3] ?? 10);
  process.stdout.write(`${JSON.stringify({ devices, per_device: perDevice, connections, ...(await measure(perDevice, connections)) }, null, 1)}\n`);
}
