/**
 * Command-line options of `npm run bench -- [options]`, checked once here.
 */
import type { BackendName } from '../../crypto/backend.js';
import type { Profile } from '../result/result.js';
import { KindedError } from '../../kinded-error.js';

export const PROFILE_NAMES: readonly Profile[] = ['smoke', 'quick', 'ci', 'full'];
export const BACKEND_NAMES: readonly BackendName[] = ['node', 'noble'];

export interface BenchOptions {
  /** Default 'quick'. */
  profile: Profile;
  /** Benchmark id patterns (substring, or /regex/); an id runs when it matches any. Empty: all. */
  filters: string[];
  /** Default both backends. */
  backends: BackendName[];
  /** Worker counts for the pool suite; default 1..cores. */
  workers: number[];
  /** Write only this file instead of results/runs/<time>-<commit>.json + results/latest.json. */
  out?: string;
  help: boolean;
  list: boolean;
  /** Thresholds file evaluated on the result (src/harness/result/thresholds.ts); exit 3 when one fails. */
  thresholds?: string;
  /**
   * The load suites' server and devices (`--target`, `--admin-token`, `--registration-token`,
   * `--device-signal`). Unset fields fall back to SIGLOAD_TARGET, SIGLOAD_ADMIN_TOKEN,
   * SIGLOAD_REGISTRATION_TOKEN, SIGLOAD_DEVICE_SIGNAL (read by bench/load/suites.ts).
   */
  load?: LoadTargetOptions;
}

/** Where the load suites send traffic and which Signal the simulated devices use. */
export interface LoadTargetOptions {
  /** Base URL of another server speaking reference/transport-api.md; default: a child server. */
  target?: string;
  adminToken?: string;
  registrationToken?: string;
  /** 'ours' (our Signal core on the --backend chosen) or 'libsignal' (libsignal-client). Default 'ours'. */
  deviceSignal?: 'ours' | 'libsignal';
}

export class BenchUsageError extends KindedError<'bad-option'> {
  constructor(message: string) {
    super('bad-option', message);
  }
}

export const BENCH_USAGE = `Usage: npm run bench -- [options]      (or: node dist/scripts/bench.js [options])

Runs the benchmark suites and writes a result file.

Options:
  --profile <name>    smoke | quick | ci | full                         (default: quick)
                        smoke  about 1 minute: every suite once, tiny sizes, 3 repetitions
                        quick  at most 5 minutes, 5 repetitions
                        ci     at most 15 minutes on 2 cores (nightly), 7 repetitions, 10^7 sweeps
                        full   unbounded, 10 repetitions, 10^6 sessions
  --filter <pattern>  only benchmark ids containing <pattern> (or matching /regex/);
                      repeat or comma-separate for several
  --backend <name>    node | noble | all                                (default: all)
  --workers <list>    worker counts for the pool suite, e.g. 1,2 or 1-4  (default: 1..cores)
  --out <file>        write the result there instead of results/runs/<time>-<commit>.json
                      and results/latest.json
  --target <url>      load suites: drive this server instead of starting a child server
                      (fallback env SIGLOAD_TARGET; needs both tokens below)
  --admin-token <t>   load suites: the target's admin token        (fallback SIGLOAD_ADMIN_TOKEN)
  --registration-token <t>
                      load suites: the target's device registration token
                      (fallback SIGLOAD_REGISTRATION_TOKEN)
  --device-signal <s> load suites: ours | libsignal — the simulated devices' Signal: our core
                      on the --backend chosen (node when it is among them), or libsignal-client
                      0.103.0                     (fallback SIGLOAD_DEVICE_SIGNAL; default: ours)
  --thresholds <file> absolute goals checked on the result (JSON, results/thresholds.schema.json;
                      docs/bench.md#thresholds); read and validated before anything runs
  --list              print the benchmark ids that would run, then exit
  --help              print this help, then exit

Exit status: 0 ok; 1 a suite threw or a check failed (the file is still written); 2 bad options
or a bad thresholds file; 3 a threshold failed, or its figure is missing or not clean (when
nothing else failed). 4 is reserved for the regression gate's "inconclusive" verdict.
Test only: SIGLOAD_INJECT_SLOWDOWN=<id-substring>:<fraction> slows matching benchmarks on purpose.`;

function parseWorkers(text: string): number[] {
  const counts = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    const single = /^\d+$/.test(part) ? Number(part) : undefined;
    if (range) {
      const lo = Number(range[1]);
      const hi = Number(range[2]);
      if (lo < 1 || hi < lo || hi > 1024) throw new BenchUsageError(`--workers: bad range '${part}' (expected e.g. 1-4)`);
      for (let n = lo; n <= hi; n++) counts.add(n);
    } else if (single !== undefined && single >= 1 && single <= 1024) {
      counts.add(single);
    } else {
      throw new BenchUsageError(`--workers: '${part}' is not a worker count (expected a list like 1,2 or 1-4, counts 1..1024)`);
    }
  }
  return [...counts].sort((a, b) => a - b);
}

function checkFilter(pattern: string): string {
  if (pattern === '') throw new BenchUsageError('--filter: empty pattern');
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    try {
      new RegExp(pattern.slice(1, -1));
    } catch (err) {
      throw new BenchUsageError(`--filter: bad regular expression ${pattern}: ${(err as Error).message}`);
    }
  }
  return pattern;
}

/** True when `id` matches any filter (or there are none). */
export function matchesFilters(id: string, filters: readonly string[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => (f.length > 2 && f.startsWith('/') && f.endsWith('/') ? new RegExp(f.slice(1, -1)).test(id) : id.includes(f)));
}

/** Parses argv (without node and script); `cores` gives the default --workers 1..cores. */
export function parseBenchArgs(argv: readonly string[], cores: number): BenchOptions {
  const options: BenchOptions = {
    profile: 'quick',
    filters: [],
    backends: [...BACKEND_NAMES],
    workers: Array.from({ length: Math.max(1, cores) }, (_, i) => i + 1),
    help: false,
    list: false,
  };
  const args = [...argv];
  while (args.length > 0) {
    const arg = args.shift()!;
    let name = arg;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      name = arg.slice(0, eq);
      inline = arg.slice(eq + 1);
    }
    const value = (): string => {
      const v = inline ?? args.shift();
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new BenchUsageError(`${name} needs a value (see --help)`);
      return v;
    };
    switch (name) {
      case '--help':
      case '-h':
        options.help = true;
        break;
      case '--list':
        options.list = true;
        break;
      case '--profile': {
        const v = value();
        if (!(PROFILE_NAMES as readonly string[]).includes(v)) {
          throw new BenchUsageError(`--profile: unknown profile '${v}' (expected one of ${PROFILE_NAMES.join(', ')})`);
        }
        options.profile = v as Profile;
        break;
      }
      case '--filter':
        options.filters.push(...value().split(',').map((f) => checkFilter(f.trim())));
        break;
      case '--backend': {
        const v = value();
        if (v === 'all') options.backends = [...BACKEND_NAMES];
        else if ((BACKEND_NAMES as readonly string[]).includes(v)) options.backends = [v as BackendName];
        else throw new BenchUsageError(`--backend: unknown backend '${v}' (expected node, noble or all)`);
        break;
      }
      case '--workers':
        options.workers = parseWorkers(value());
        break;
      case '--out': {
        const v = value();
        if (v.trim() === '') throw new BenchUsageError('--out: empty file name');
        options.out = v;
        break;
      }
      case '--thresholds': {
        const v = value();
        if (v.trim() === '') throw new BenchUsageError('--thresholds: empty file name');
        options.thresholds = v;
        break;
      }
      case '--target': {
        const v = value();
        let url: URL;
        try {
          url = new URL(v);
        } catch {
          throw new BenchUsageError(`--target: '${v}' is not a URL (expected e.g. http://127.0.0.1:9000)`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BenchUsageError(`--target: '${v}' must be an http(s) URL`);
        options.load = { ...options.load, target: v };
        break;
      }
      case '--admin-token': {
        const v = value();
        if (v === '') throw new BenchUsageError('--admin-token: empty token');
        options.load = { ...options.load, adminToken: v };
        break;
      }
      case '--registration-token': {
        const v = value();
        if (v === '') throw new BenchUsageError('--registration-token: empty token');
        options.load = { ...options.load, registrationToken: v };
        break;
      }
      case '--device-signal': {
        const v = value();
        if (v !== 'ours' && v !== 'libsignal') throw new BenchUsageError(`--device-signal: unknown value '${v}' (expected ours or libsignal)`);
        options.load = { ...options.load, deviceSignal: v };
        break;
      }
      case '--shard':
      case '--start-at':
        // The bench compares one machine's figures across commits and starts its own servers.
        throw new BenchUsageError(`${arg}: the bench is not sharded; spread a run over several generators with npm run load -- --scenario mass-messaging|inbound-flood --target <url> --shard I/N --start-at <ms> (docs/load.md "Sharded scenarios")`);
      default:
        throw new BenchUsageError(`unknown option '${arg}' (see --help)`);
    }
  }
  return options;
}
