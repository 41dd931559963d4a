/**
 * npm run profile -- <scenario> [--tool cpu-prof|heap-prof|doctor|flame|bubbleprof|heapprofiler]
 *                    [--duration 10] [--connections 10] [--requests n] [--backend node|noble]
 *                    [--size smoke|quick|ci|full] [--out-dir results/profiles] [--clinic <path>]
 *
 * Starts the reference server (bench/load/server-child.js, loopback, port 0) under a profiler,
 * drives it with the scenario's load — a fixed request through autocannon (business-send,
 * metrics), or one of the load scenarios with this server as its target (mass-messaging,
 * inbound-flood, spam-pattern, retention-under-load; sizes from --size) — stops it, and
 * prints where the profile is.
 *
 *  cpu-prof, heap-prof   node's own profilers (`--cpu-prof`, `--heap-prof`), every supported Node:
 *                        .cpuprofile / .heapprofile, open in Chrome DevTools or speedscope.
 *  doctor, flame, bubbleprof, heapprofiler
 *                        clinic.js 13 — optional, not installed by `npm ci` (≈690 packages,
 *                        154 MB, unmaintained since 2024). Found at `--clinic <path>` or
 *                        $SIGLOAD_CLINIC (an install folder, its bin.js, or a `clinic`
 *                        executable), else in this checkout's node_modules, else as `clinic` on
 *                        PATH; a throwaway install: `mkdir /tmp/clinic && cd /tmp/clinic &&
 *                        npm install clinic@13`, then `--clinic /tmp/clinic`. Runs unattended
 *                        (NO_INSIGHT=1, --open=false). doctor does not produce a report on
 *                        Node ≥ 21.7 (clinicjs/node-clinic#480): use Node 20 for it.
 *
 * Exit codes: 0 profile written, 1 the run failed, 2 bad input, 3 optional tool not installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from '../src/harness/cli-errors.js';
import { runClosedLoop } from '../src/harness/load/closed-loop-driver.js';
import { ContractClient, type ServerTarget } from '../src/harness/load/contract.js';
import { SERVER_NODE_FLAGS, awaitServerAddress } from '../src/harness/load/target.js';
import type { Profile } from '../src/harness/result/result.js';
import type { LoadScenarioOptions, LoadScenarioResult } from '../src/harness/scenarios/stage.js';
import { runInboundFloodScenario } from '../src/harness/scenarios/inbound-flood.js';
import { runMassMessagingScenario } from '../src/harness/scenarios/mass-messaging.js';
import { runRetentionUnderLoadScenario } from '../src/harness/scenarios/retention-under-load.js';
import { runSpamPatternScenario } from '../src/harness/scenarios/spam-pattern.js';

export type ProfileTool = 'cpu-prof' | 'heap-prof' | 'doctor' | 'flame' | 'bubbleprof' | 'heapprofiler';
export const PROFILE_TOOLS: readonly ProfileTool[] = ['cpu-prof', 'heap-prof', 'doctor', 'flame', 'bubbleprof', 'heapprofiler'];
const CLINIC_TOOLS: readonly ProfileTool[] = ['doctor', 'flame', 'bubbleprof', 'heapprofiler'];

/** What one request of a scenario looks like, after its setup against a fresh server. */
interface ScenarioLoad {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Non-2xx answers are part of this scenario (not a failure of the run). */
  expectsNon2xx: boolean;
}

/** Either a fixed request driven by autocannon here, or one of the load scenarios pointed at the profiled server. */
type ProfileScenario =
  | { kind: 'request'; description: string; setup(target: ServerTarget): Promise<ScenarioLoad> }
  | { kind: 'load'; description: string; run(options: LoadScenarioOptions): Promise<LoadScenarioResult> };

/** The scenarios `npm run profile` knows: each names the server path it loads. */
export const PROFILE_SCENARIOS: Record<string, ProfileScenario> = {
  'business-send': {
    kind: 'request',
    description: 'POST /v23.0/{phone_number_id}/messages: template messages from one business (auth, validation, limits, spam guard, store, at-rest encryption)',
    async setup(target) {
      const client = new ContractClient(target);
      const business = await client.createBusiness({ display_phone_number: '15550100999', webhook_url: '', messaging_limit: 'TIER_UNLIMITED', throughput_mps: 100_000 });
      return {
        method: 'POST',
        path: `/v23.0/${business.phone_number_id}/messages`,
        headers: { authorization: `Bearer ${business.access_token}`, 'content-type': 'application/json' },
        // A template may be sent outside the 24-hour customer-service window (cloud-api.md), so no device has to write first.
        body: JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: '15550123456', type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } } }),
        expectsNon2xx: false,
      };
    },
  },
  metrics: {
    kind: 'request',
    description: 'GET /metrics (Prometheus exposition; the cheapest request, a floor for the HTTP stack)',
    async setup() {
      return { method: 'GET', path: '/metrics', headers: {}, expectsNon2xx: false };
    },
  },
  // The load scenarios (src/harness/scenario-*.ts) with the profiled server as their --target;
  // their sizes come from --size (the bench profile's load sizes), not --duration/--connections.
  'mass-messaging': { kind: 'load', description: 'load scenario: business → users × devices (first contact, receipts, follow-ups)', run: runMassMessagingScenario },
  'inbound-flood': { kind: 'load', description: 'load scenario: devices → one business, fresh ciphertexts decrypted and forwarded', run: runInboundFloodScenario },
  'spam-pattern': { kind: 'load', description: 'load scenario: an abusive business next to legitimate ones', run: runSpamPatternScenario },
  'retention-under-load': { kind: 'load', description: 'load scenario: expired backlog swept under steady open-model load', run: runRetentionUnderLoadScenario },
};

class ToolMissingError extends Error {}

export const USAGE = `usage: npm run profile -- <scenario> [--tool ${PROFILE_TOOLS.join('|')}] [--duration s] [--connections n] [--requests n] [--backend node|noble] [--size smoke|quick|ci|full] [--out-dir dir] [--clinic <path>]
tools: cpu-prof, heap-prof  node's own profilers (no install)
       doctor, flame, bubbleprof, heapprofiler  clinic.js 13 (optional): --clinic <install folder | bin.js | clinic executable>,
       or $SIGLOAD_CLINIC, or clinic in node_modules, or clinic on PATH. clinic doctor writes no report on Node >= 21.7
       (clinicjs/node-clinic#480): run doctor on Node 20.
scenarios:
${Object.entries(PROFILE_SCENARIOS)
  .map(([name, s]) => `  ${name.padEnd(14)} ${s.description}`)
  .join('\n')}
exit codes: 0 profile written, 1 run failed, 2 bad input, 3 optional tool (clinic) not installed`;

const SERVER_CHILD = fileURLToPath(new URL('../src/harness/load/server-child.js', import.meta.url));

export const CLINIC_INSTALL_HINT =
  'clinic is not installed. It is optional, not a dependency: clinic 13 is unmaintained since 2024, pulls about 690 packages (154 MB), ' +
  'and its doctor produces no report on Node >= 21.7. Install it in a folder of its own and point at it:\n' +
  '  mkdir /tmp/clinic && (cd /tmp/clinic && npm install clinic@13)\n  npm run profile -- <scenario> --tool flame --clinic /tmp/clinic   (or SIGLOAD_CLINIC=/tmp/clinic, or clinic on PATH)\n' +
  '(in a checkout whose node_modules is its own, `npm install --no-save clinic@13` works too), ' +
  'or use --tool cpu-prof / --tool heap-prof (node\'s own profilers, no install).';

/** How to start clinic: node + its bin.js (the same node as this process), or an executable. */
export interface ClinicCommand {
  command: string;
  args: string[];
  /** Where it was found, for the log. */
  from: string;
}

/** clinic's bin.js in an install folder (one holding node_modules/clinic, or clinic's own package folder). */
function clinicBinIn(dir: string): string | undefined {
  for (const pkg of [join(dir, 'node_modules', 'clinic'), dir]) {
    try {
      if ((JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { name?: string }).name === 'clinic' && existsSync(join(pkg, 'bin.js'))) return join(pkg, 'bin.js');
    } catch {
      // not clinic's package
    }
  }
  return undefined;
}

/** A path given by --clinic or SIGLOAD_CLINIC: an install folder, a bin.js, or an executable (node_modules/.bin/clinic). */
function clinicAt(path: string, from: string): ClinicCommand | undefined {
  if (!existsSync(path)) return undefined;
  const real = realpathSync(path);
  if (statSync(real).isDirectory()) {
    const bin = clinicBinIn(real);
    return bin ? { command: process.execPath, args: [bin], from } : undefined;
  }
  // A .bin/clinic symlink resolves to clinic's bin.js: run it with this node, as clinic's children are.
  return real.endsWith('.js') ? { command: process.execPath, args: [real], from } : { command: real, args: [], from };
}

/**
 * Where clinic is: `explicit` (--clinic), $SIGLOAD_CLINIC, this checkout's node_modules, or
 * `clinic` on PATH; undefined when nowhere.
 */
export function findClinic(explicit?: string): ClinicCommand | undefined {
  if (explicit !== undefined) return clinicAt(resolve(explicit), '--clinic');
  const fromEnv = process.env['SIGLOAD_CLINIC'];
  if (fromEnv) return clinicAt(resolve(fromEnv), 'SIGLOAD_CLINIC');
  try {
    const bin = join(createRequire(import.meta.url).resolve('clinic/package.json'), '..', 'bin.js');
    return { command: process.execPath, args: [bin], from: 'node_modules' };
  } catch {
    // not in this checkout
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const found = clinicAt(join(dir, 'clinic'), 'PATH');
    if (found) return found;
  }
  return undefined;
}

/** True when clinic can be found (findClinic). */
export function clinicAvailable(explicit?: string): boolean {
  return findClinic(explicit) !== undefined;
}

function profileFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /\.(cpuprofile|heapprofile|html)$/.test(f)) : [];
}

export async function main(argv: string[]): Promise<number> {
  let child: ChildProcess | undefined;
  /** The child leads its own process group (clinic heapprofiler): signals go to the group. */
  let group = false;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        tool: { type: 'string', default: 'cpu-prof' },
        duration: { type: 'string', default: '10' },
        connections: { type: 'string', default: '10' },
        requests: { type: 'string' },
        backend: { type: 'string', default: 'node' },
        size: { type: 'string', default: 'smoke' },
        'out-dir': { type: 'string', default: 'results/profiles' },
        clinic: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`expected one scenario, got ${positionals.length}`);
    const name = positionals[0]!;
    const scenario = PROFILE_SCENARIOS[name];
    if (!scenario) throw new UsageError(`unknown scenario ${JSON.stringify(name)}; known: ${Object.keys(PROFILE_SCENARIOS).join(', ')}`);
    const tool = values.tool as ProfileTool;
    if (!PROFILE_TOOLS.includes(tool)) throw new UsageError(`unknown --tool ${JSON.stringify(values.tool)}; known: ${PROFILE_TOOLS.join(', ')}`);
    if (values.backend !== 'node' && values.backend !== 'noble') throw new UsageError(`--backend must be node or noble`);
    const size = values.size as Profile;
    if (!['smoke', 'quick', 'ci', 'full'].includes(size)) throw new UsageError(`--size must be smoke, quick, ci or full`);
    const duration = Number(values.duration);
    const connections = Number(values.connections);
    const requests = values.requests === undefined ? undefined : Number(values.requests);
    if (!(duration > 0) || !Number.isInteger(connections) || connections < 1 || (requests !== undefined && !(Number.isInteger(requests) && requests > 0))) {
      throw new UsageError('--duration must be > 0 seconds, --connections and --requests positive integers');
    }
    if (!existsSync(SERVER_CHILD)) throw new UsageError(`${SERVER_CHILD} is missing: run npm run build`);

    const isClinic = CLINIC_TOOLS.includes(tool);
    const clinic = isClinic ? findClinic(values.clinic) : undefined;
    if (isClinic && !clinic) throw new ToolMissingError(values.clinic !== undefined ? `no clinic at --clinic ${values.clinic}\n${CLINIC_INSTALL_HINT}` : CLINIC_INSTALL_HINT);
    if (tool === 'doctor') {
      const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
      if (major > 21 || (major === 21 && minor >= 7)) {
        console.error(`profile: WARNING clinic doctor produces no report on Node >= 21.7 (this is ${process.version}; clinicjs/node-clinic#480). Use flame, bubbleprof or cpu-prof.`);
      }
    }

    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const dir = resolve(values['out-dir'], `${stamp}-${name}-${tool}`);
    mkdirSync(dir, { recursive: true });
    // clinic heapprofiler gives the server no stdin and stops it with SIGINT (Ctrl+C to the
    // process group); its profiler writes the profile and exits the server (server-child.ts).
    const sigintStops = tool === 'heapprofiler';
    group = sigintStops && isClinic;
    const serverConfig = JSON.stringify({ backend: values.backend, ...(sigintStops ? { profilerOwnsExit: true } : {}) });
    if (isClinic) {
      // clinic runs the server as its child and analyses after the server exits (stdin closed).
      console.error(`profile: clinic from ${clinic!.from}: ${[clinic!.command, ...clinic!.args].join(' ')}`);
      child = spawn(clinic!.command, [...clinic!.args, tool, '--open=false', '--dest', dir, '--', process.execPath, ...SERVER_NODE_FLAGS, SERVER_CHILD, serverConfig], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, NO_INSIGHT: '1' },
        // Its own process group, so that a SIGINT reaches clinic and the server as Ctrl+C would.
        detached: sigintStops,
      });
    } else {
      const flags = tool === 'cpu-prof' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : ['--heap-prof', `--heap-prof-dir=${dir}`];
      child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...flags, SERVER_CHILD, serverConfig], { stdio: ['pipe', 'pipe', 'inherit'] });
    }
    const exited = new Promise<number>((r) => child!.once('exit', (code) => r(code ?? 1)));
    const target = await awaitServerAddress(child, isClinic ? `clinic ${tool}` : 'server');
    console.error(
      `profile: ${tool} on ${name}: server ${target.url} (pid ${child.pid}), ` +
        (scenario.kind === 'request' ? `${requests !== undefined ? `${requests} requests` : `${duration} s`} with ${connections} connections` : `${size} sizes`),
    );
    let clean = true;
    let loadHint = '';
    if (scenario.kind === 'request') {
      const load = await scenario.setup(target);
      const run = await runClosedLoop({
        url: `${target.url}${load.path}`,
        connections,
        durationSeconds: duration,
        ...(requests !== undefined ? { maxRequests: requests } : {}),
        method: load.method,
        headers: load.headers,
        ...(load.body !== undefined ? { body: load.body } : {}),
      });
      const r = run.report;
      console.error(
        `profile: ${r.requests.completed} requests, ${r.requests_per_s.toFixed(0)} req/s, p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, ` +
          `${r.requests.non2xx} non-2xx${load.expectsNon2xx ? ' (expected for this scenario)' : ''}, ${r.requests.errors} errors`,
      );
      clean = r.requests.errors === 0 && (load.expectsNon2xx || r.requests.non2xx === 0);
    } else {
      const result = await scenario.run({ profile: size, target, backend: values.backend, log: (line) => console.error(`profile: ${line}`) });
      const failed = result.checks.filter((c) => !c.passed);
      console.error(`profile: scenario ${name} (${size} sizes): ${result.figures.length} figures, ${result.checks.length - failed.length}/${result.checks.length} checks passed`);
      for (const f of result.figures) console.error(`profile:   ${f.id}: ${f.samples.map((x) => Number(x.toPrecision(4))).join(', ')} ${f.unit}`);
      clean = failed.length === 0;
      loadHint = failed.map((c) => `${c.id}: ${c.detail}`).join('; ');
    }
    // Stop: closing stdin makes the server exit cleanly, so node (or clinic) writes the profile;
    // under heapprofiler, SIGINT to clinic's process group.
    if (sigintStops) process.kill(-child.pid!, 'SIGINT');
    else child.stdin!.end();
    const timeoutMs = isClinic ? 300_000 : 30_000;
    const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-1), timeoutMs).unref())]);
    if (code === -1) {
      if (sigintStops) process.kill(-child.pid!, 'SIGTERM');
      else child.kill('SIGTERM');
      throw new Error(`the profiled process did not exit within ${timeoutMs / 1000} s`);
    }
    child = undefined;
    const written = profileFiles(dir);
    if (written.length === 0 && !isClinic) throw new Error(`no profile was written to ${dir} (server exit code ${code})`);
    if (isClinic && !written.some((f) => f.endsWith('.html'))) throw new Error(`clinic ${tool} wrote no HTML report to ${dir} (exit code ${code})`);
    for (const f of written) console.log(join(dir, f));
    if (isClinic) console.log(dir);
    if (!clean) console.error(`profile: the load saw errors or failed checks${loadHint ? ` (${loadHint})` : ''}; the profile is written but the run is not clean`);
    console.error(
      tool === 'cpu-prof'
        ? 'profile: open the .cpuprofile in Chrome DevTools (Performance > Load profile) or https://www.speedscope.app'
        : tool === 'heap-prof'
          ? 'profile: open the .heapprofile in Chrome DevTools (Memory > Load profile)'
          : `profile: clinic wrote its report under ${dir}`,
    );
    return 0;
  } catch (err) {
    if (child && group) process.kill(-child.pid!, 'SIGTERM');
    else if (child) child.kill('SIGTERM');
    const parseError = (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (err instanceof UsageError || parseError) {
      console.error(`profile: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof ToolMissingError) {
      console.error(`profile: ${err.message}`);
      return 3;
    }
    console.error(`profile: ${(err as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
