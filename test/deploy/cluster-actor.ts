/**
 * What the cluster test does from a generator host: run inside that host's network namespace
 * (`ip netns exec <gen> node dist/test/deploy/cluster-actor.js '<json>'`), it talks to the
 * servers over the test network and prints one JSON answer on stdout.
 *
 * Tasks (`task` field of the JSON argument):
 * - `wait-ready {urls, timeoutMs}`: until every `<url>/readyz` answers 200.
 * - `create-business {url, adminToken, settings}`: the created business.
 * - `send-templates {url, business, firstUser, count, concurrency, canary}`: sends one template
 *   to each of `count` users; answers `{accepted, refused: {code: n}, errors}`.
 * - `clock {url, adminToken, advanceMs?}`: POST /admin/v1/clock when advanceMs is given, then
 *   GET /admin/v1/clock; answers `{status, now_ms}` of the GET.
 * - `compliance {url, adminToken, canary, scope}`: the compliance checks (canary, regions,
 *   retention after 31 days) through the operator face.
 */
import { performance } from 'node:perf_hooks';
import { ContractClient, call, type BusinessSettings, type CreatedBusiness } from '../../src/harness/load/contract.js';
import { checkCompliance } from '../../src/harness/scenarios/compliance.js';

export type ClusterTask =
  | { task: 'wait-ready'; urls: string[]; timeoutMs: number }
  | { task: 'create-business'; url: string; adminToken: string; settings: BusinessSettings }
  | { task: 'send-templates'; url: string; business: CreatedBusiness; firstUser: number; count: number; concurrency: number; canary: string }
  | { task: 'clock'; url: string; adminToken: string; advanceMs?: number }
  | { task: 'compliance'; url: string; adminToken: string; canary: string; scope: string };

export interface SendOutcome {
  accepted: number;
  refused: Record<string, number>;
  errors: number;
}

const target = (url: string, adminToken: string) => new ContractClient({ url, adminToken, registrationToken: '' });

async function waitReady(urls: string[], timeoutMs: number): Promise<{ ready: string[] }> {
  const deadline = performance.now() + timeoutMs;
  for (const url of urls) {
    for (;;) {
      const answer = await call(`${url}/readyz`, { method: 'GET' }).catch(() => undefined);
      if (answer?.status === 200) break;
      if (performance.now() > deadline) throw new Error(`${url}/readyz not 200 within ${timeoutMs} ms (last: ${answer?.status ?? 'no answer'})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { ready: urls };
}

async function sendTemplates(task: Extract<ClusterTask, { task: 'send-templates' }>): Promise<SendOutcome> {
  const client = target(task.url, '');
  const outcome: SendOutcome = { accepted: 0, refused: {}, errors: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < task.count) {
      const user = String(task.firstUser + next++);
      const answer = await client
        .sendMessage(task.business, {
          to: user,
          type: 'template',
          template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: task.canary }] }] },
        })
        .catch(() => undefined);
      if (answer === undefined) outcome.errors++;
      else if (answer.status === 200) outcome.accepted++;
      else {
        let code = `http-${answer.status}`;
        try {
          code = String((JSON.parse(answer.text) as { error: { code: number } }).error.code);
        } catch {
          /* not a Graph error: keep the status */
        }
        outcome.refused[code] = (outcome.refused[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: task.concurrency }, worker));
  return outcome;
}

async function clock(task: Extract<ClusterTask, { task: 'clock' }>): Promise<{ status: number; now_ms?: number }> {
  if (task.advanceMs !== undefined) await target(task.url, task.adminToken).advanceClock(task.advanceMs);
  const answer = await call(`${task.url}/admin/v1/clock`, { method: 'GET', token: task.adminToken });
  if (answer.status !== 200) return { status: answer.status };
  return { status: answer.status, now_ms: (JSON.parse(answer.text) as { now_ms: number }).now_ms };
}

async function perform(task: ClusterTask): Promise<unknown> {
  switch (task.task) {
    case 'wait-ready':
      return waitReady(task.urls, task.timeoutMs);
    case 'create-business':
      return target(task.url, task.adminToken).createBusiness(task.settings);
    case 'send-templates':
      return sendTemplates(task);
    case 'clock':
      return clock(task);
    case 'compliance':
      return checkCompliance(target(task.url, task.adminToken), { scope: task.scope, canary: task.canary, regional: [] });
  }
}

perform(JSON.parse(process.argv[2] ?? '{}') as ClusterTask).then(
  (answer) => process.stdout.write(`${JSON.stringify(answer)}\n`),
  (error: unknown) => {
    process.stderr.write(`cluster-actor: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
