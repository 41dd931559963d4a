/**
 * Quick measurement for docs/measurements.md (not a test): business sends/s on established sessions
 * against a bare node:http JSON handler, same autocannon settings. The servers run in a child
 * process; autocannon runs here.
 *
 *   node dist/test/server/measure-sends.js [seconds=5] [connections=10] [--webhook] [--rounds=N]
 *
 * `--rounds=N`: N pairs of runs in ABBA order; ratio_rps is the median of the rounds' ratios
 * (bare and ours and every round's ratio are printed; `bare` and `reference` are the last round).
 *
 * `--webhook`: the business has a callback URL (a receiver in this process that checks every
 * signature), so each send also queues a `sent` status and the dispatcher delivers it — what
 * the harness's mass-messaging scenario measures.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../../src/harness/load/target.js';
import { measuredUserId, startSendsFixture } from './sends-fixture.js';
import { WebhookReceiver } from './webhook-receiver.js';
import { cpuSplitMs, threadCpuMs } from '../../src/harness/load/process-cpu.js';
import { median } from '../../src/harness/statistics/stats.js';

const users = 50;
const userId = measuredUserId;

async function serveBare(): Promise<void> {
  const answer = JSON.stringify({ messaging_product: 'whatsapp', contacts: [{ input: '1', wa_id: '1' }], messages: [{ id: 'wamid.x' }] });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      response.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, path: '/v23.0/1/messages', token: 'x' })}\n`);
}

async function serveReference(webhookUrl: string | undefined): Promise<void> {
  process.once('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
  // The receiver lives in the parent; the business's app secret goes back to it on stdout.
  const receiver = webhookUrl === undefined ? undefined : ({ url: webhookUrl, verifyToken: 'verify-me', appSecrets: [] as string[] } as unknown as WebhookReceiver);
  const { server, business } = await startSendsFixture({
    users,
    ...(receiver !== undefined ? { receiver } : {}),
    onBusiness: (created) => {
      if (receiver !== undefined) process.stdout.write(`${JSON.stringify({ appSecret: created.appSecret })}\n`);
    },
  });
  const profileDir = process.env['SIGLOAD_MEASURE_PROFILE_DIR'];
  if (profileDir !== undefined) {
    // Profile the load phase only (setup excluded).
    const { Session } = await import('node:inspector/promises');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    process.removeAllListeners('SIGTERM');
    process.once('SIGTERM', () => {
      void session.post('Profiler.stop').then(({ profile }) => {
        writeFileSync(`${profileDir}/load-phase.cpuprofile`, JSON.stringify(profile));
        process.exit(0);
      });
    });
  }
  process.stdout.write(`${JSON.stringify({ url: server.url, path: `/v23.0/${business.pnid}/messages`, token: business.token, appSecret: business.appSecret })}\n`);
}

async function measure(
  mode: 'bare' | 'reference',
  seconds: number,
  connections: number,
  receiver?: WebhookReceiver,
): Promise<{ rps: number; p50: number; p99: number; non2xx: number; requests: number; server_cpu_us_per_request: number; server_user_us_per_request: number; server_system_us_per_request: number; busiest_threads_us_per_request: number[]; generator_cpu_us_per_request: number }> {
  const args = [fileURLToPath(import.meta.url), `serve-${mode}`, ...(mode === 'reference' && receiver !== undefined ? [receiver.url] : [])];
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      let at: number;
      while ((at = out.indexOf('\n')) !== -1) {
        const first = out.slice(0, at);
        out = out.slice(at + 1);
        const parsed = JSON.parse(first) as { appSecret?: string; url?: string };
        if (parsed.url === undefined) {
          if (parsed.appSecret !== undefined) receiver?.appSecrets.push(parsed.appSecret); // before any POST arrives
          continue;
        }
        resolve(first);
      }
    });
  });
  const target = JSON.parse(line) as { url: string; path: string; token: string; appSecret?: string };
  const autocannonModule = 'autocannon'; // no bundled types; loaded by name
  const { default: autocannon } = (await import(autocannonModule)) as { default: (o: unknown) => Promise<any> };
  let n = 0;
  const splitBefore = cpuSplitMs(`/proc/${child.pid!}/stat`);
  const threadsBefore = threadCpuMs(child.pid!);
  const generatorBefore = process.cpuUsage();
  const result = await autocannon({
    url: target.url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: target.path,
        headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
        setupRequest: (request: Record<string, unknown>) => ({
          ...request,
          body: JSON.stringify({ messaging_product: 'whatsapp', to: userId(n++ % users), type: 'text', text: { body: 'your order shipped' } }),
        }),
      },
    ],
  });
  if (mode === 'reference' && receiver !== undefined) {
    // Every accepted send's `sent` status reaches the receiver before the CPU is read.
    const sent = (result.requests.total as number) - (result.non2xx as number);
    for (let i = 0; i < 3000 && receiver.statuses.length < sent; i++) await new Promise((r) => setTimeout(r, 5));
  }
  const generator = process.cpuUsage(generatorBefore);
  const splitAfter = cpuSplitMs(`/proc/${child.pid!}/stat`);
  const cpuUsed = splitAfter.userMs + splitAfter.systemMs - splitBefore.userMs - splitBefore.systemMs;
  const threadsAfter = threadCpuMs(child.pid!);
  // The busiest threads (event loop first, then the session-crypto thread), µs per request.
  const threads = [...threadsAfter]
    .map(([tid, ms]) => ({ tid, ms: ms - (threadsBefore.get(tid) ?? 0) }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 3)
    .map(({ ms }) => Math.round((ms * 1000) / Math.max(1, result.requests.total as number)));
  child.kill('SIGTERM');
  const requests = result.requests.total as number;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    requests,
    server_cpu_us_per_request: (cpuUsed * 1000) / Math.max(1, requests),
    server_user_us_per_request: ((splitAfter.userMs - splitBefore.userMs) * 1000) / Math.max(1, requests),
    server_system_us_per_request: ((splitAfter.systemMs - splitBefore.systemMs) * 1000) / Math.max(1, requests),
    busiest_threads_us_per_request: threads,
    // This process: autocannon (and the webhook receiver with --webhook).
    generator_cpu_us_per_request: (generator.user + generator.system) / Math.max(1, requests),
  };
}

const mode = process.argv[2];
if (mode === 'serve-bare') await serveBare();
else if (mode === 'serve-reference') await serveReference(process.argv[3]);
else {
  const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const seconds = Number(positional[0] ?? 5);
  const connections = Number(positional[1] ?? 10);
  const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 1);
  const receiver = process.argv.includes('--webhook') ? new WebhookReceiver() : undefined;
  await receiver?.start();
  // Rounds alternate which side goes first (ABBA…), so a drift in the host's speed during a
  // round touches both sides alike; each round's ratio is taken within the round.
  const results: { bare: Awaited<ReturnType<typeof measure>>; reference: Awaited<ReturnType<typeof measure>> }[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      const bare = await measure('bare', seconds, connections);
      results.push({ bare, reference: await measure('reference', seconds, connections, receiver) });
    } else {
      const reference = await measure('reference', seconds, connections, receiver);
      results.push({ bare: await measure('bare', seconds, connections), reference });
    }
  }
  const webhook = receiver === undefined ? undefined : { statuses: receiver.statuses.length, posts: receiver.payloads.length, bad_signatures: receiver.badSignatures };
  await receiver?.close();
  const ratios = results.map((r) => r.reference.rps / r.bare.rps);
  const cpuRatios = results.map((r) => r.bare.server_cpu_us_per_request / r.reference.server_cpu_us_per_request);
  const { bare, reference } = results[results.length - 1]!;
  process.stdout.write(
    `${JSON.stringify(
      {
        seconds,
        connections,
        rounds,
        ...(webhook !== undefined ? { webhook } : {}),
        bare,
        reference,
        ratio_rps: median(ratios),
        ratios_rps: ratios,
        // Robust to other load on the machine: server CPU per request, bare ÷ reference.
        ratio_cpu: median(cpuRatios),
        ratios_cpu: cpuRatios,
      },
      null,
      1,
    )}\n`,
  );
}
