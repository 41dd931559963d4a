/**
 * `npm start`: runs the reference server (docs/server.md "Running it").
 *
 * Flags (each has an environment equivalent; flags win):
 *   --host <addr>                SIGLOAD_HOST                default 127.0.0.1 (an IPv4 or IPv6 address)
 *   --port <n>                   SIGLOAD_PORT                default 8080 (0 = any free port)
 *   --admin-token <t>            SIGLOAD_ADMIN_TOKEN         default random, printed
 *   --registration-token <t>     SIGLOAD_REGISTRATION_TOKEN  default random, printed
 *   --virtual-clock              SIGLOAD_VIRTUAL_CLOCK=1     server clock moves only by POST /admin/v1/clock
 *   --store memory|postgres      SIGLOAD_STORE               default memory
 *   --database-url <url>         SIGLOAD_DATABASE_URL        (or DATABASE_URL) for --store postgres
 *   --limits shared|process      SIGLOAD_LIMITS              default shared with postgres, process with memory
 *   --crypto node|noble          SIGLOAD_CRYPTO              default node
 *   --crypto-thread on|off       SIGLOAD_CRYPTO_THREAD       default on with more than one core
 *   --throttle-status <code>=<http>  SIGLOAD_THROTTLE_STATUS  e.g. 131056=400 (comma-separated in env)
 *   --no-verify-callbacks        SIGLOAD_VERIFY_CALLBACKS=0  skip the hub.challenge GET on business creation
 *   --master-keys <file>         SIGLOAD_MASTER_KEYS_FILE    region master keys (JSON {"US":"<64 hex>",…});
 *                                                            postgres default .sigload/master-keys.json, created 0600
 *   --registrations-per-source <burst>/<per-minute>  SIGLOAD_REGISTRATIONS_PER_SOURCE  default 20/60
 *   --registrations-per-token <burst>/<per-minute>   SIGLOAD_REGISTRATIONS_PER_TOKEN   default 200/600
 *   --max-connections <n>        SIGLOAD_MAX_CONNECTIONS     default 4096 (or the descriptor limit less 64)
 *   --shutdown-grace-ms <n>      SIGLOAD_SHUTDOWN_GRACE_MS   default 5000
 *   --help
 *
 * SIGTERM / SIGINT: stop accepting, finish in-flight requests, stop the dispatcher and the
 * retention schedule, close the store, exit 0.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { getBackend } from '../src/crypto/index.js';
import type { BackendName } from '../src/crypto/backend.js';
import { SystemClock, VirtualClock, type TimerClock } from '../src/server/clock.js';
import type { ThrottleKind } from '../src/server/graph-error.js';
import { startReferenceServer } from '../src/server/reference-server.js';
import type { RegistrationLimitsOptions } from '../src/server/registration-limits.js';
import type { LimitScope } from '../src/server/send-gate.js';
import type { ResourceLimits } from '../src/server/resource-limits.js';
import { MemoryStore } from '../src/store/memory/index.js';
import { UsageError } from '../src/harness/cli-errors.js';
import { REGIONS, isRegion, type Region, type Store } from '../src/store/store.js';

const usage = `Usage: npm start -- [options]

Runs the sigload reference server (transport, business and operator faces).

Options (environment equivalents in brackets):
  --host <addr>                   address to listen on, IPv4 or IPv6 (0.0.0.0 or :: for every
                                  interface) [SIGLOAD_HOST] (default 127.0.0.1)
  --port <n>                      port to listen on, 0 for any [SIGLOAD_PORT] (default 8080)
  --admin-token <token>           operator face bearer token [SIGLOAD_ADMIN_TOKEN] (default: random, printed)
  --registration-token <token>    device registration bearer token [SIGLOAD_REGISTRATION_TOKEN] (default: random, printed)
  --virtual-clock                 run on a virtual clock moved by POST /admin/v1/clock [SIGLOAD_VIRTUAL_CLOCK=1]
  --store memory|postgres         storage [SIGLOAD_STORE] (default memory)
  --database-url <url>            PostgreSQL URL for --store postgres [SIGLOAD_DATABASE_URL, DATABASE_URL]
  --limits shared|process         where the send limits, the spam guard and the virtual clock live:
                                  shared through the database by every server process on it, or in
                                  this process [SIGLOAD_LIMITS] (default shared with --store postgres;
                                  the memory store allows only process)
  --crypto node|noble             crypto backend [SIGLOAD_CRYPTO] (default node)
  --crypto-thread on|off          encrypt and seal sends on established sessions on a second thread
                                  [SIGLOAD_CRYPTO_THREAD] (default on when the machine has more than one core)
  --throttle-status <code>=<http> HTTP status of a throttling code: 130429, 131056 or 131048
                                  (repeatable) [SIGLOAD_THROTTLE_STATUS="131056=400,130429=429"] (default 429 each)
  --no-verify-callbacks           skip the hub.challenge GET when a business is created [SIGLOAD_VERIFY_CALLBACKS=0]
  --master-keys <file>            region master keys, JSON {"US":"<64 hex chars>", "DE": …} [SIGLOAD_MASTER_KEYS_FILE]
                                  (memory store: random per start when absent; postgres store: default
                                  .sigload/master-keys.json, created with mode 0600 on first start, so a
                                  restarted server can open what it stored)
  --registrations-per-source <burst>/<per-minute>
                                  device registrations one source address may make at once, and per
                                  minute after that [SIGLOAD_REGISTRATIONS_PER_SOURCE] (default 20/60)
  --registrations-per-token <burst>/<per-minute>
                                  the same for the registration token [SIGLOAD_REGISTRATIONS_PER_TOKEN]
                                  (default 200/600); refused registrations get 429 with code 133016
  --max-connections <n>           open client connections in total; one more gets 503 (code 2)
                                  [SIGLOAD_MAX_CONNECTIONS] (default 4096, or the descriptor limit less 64)
  --shutdown-grace-ms <n>         on SIGTERM, how long in-flight requests and webhook deliveries may
                                  still run [SIGLOAD_SHUTDOWN_GRACE_MS] (default 5000)
  --help                          this text
`;

interface Settings {
  host: string;
  port: number;
  adminToken: string | undefined;
  registrationToken: string | undefined;
  virtualClock: boolean;
  store: 'memory' | 'postgres';
  databaseUrl: string | undefined;
  /** undefined: shared with postgres, process with memory. */
  limits: LimitScope | undefined;
  crypto: BackendName;
  /** undefined: the server's default (on with more than one core). */
  cryptoThread: boolean | undefined;
  throttle: Partial<Record<ThrottleKind, number>>;
  verifyCallbacks: boolean;
  masterKeysFile: string | undefined;
  registrationLimits: RegistrationLimitsOptions;
  resourceLimits: Partial<ResourceLimits>;
}

/** `<burst>/<per-minute>`, both positive integers. */
function parseRate(flag: string, text: string): { burst: number; perMinute: number } {
  const match = /^([0-9]{1,9})\/([0-9]{1,9})$/.exec(text.trim());
  if (match === null || Number(match[1]) < 1 || Number(match[2]) < 1) throw new UsageError(`${flag} wants <burst>/<per-minute>, positive integers, got "${text}"`);
  return { burst: Number(match[1]), perMinute: Number(match[2]) };
}

function parseCount(flag: string, text: string): number {
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} must be a positive integer, got "${text}"`);
  return Number(text);
}

const throttleCodes: Record<string, ThrottleKind> = { '130429': 'throughput', '131056': 'pair-rate', '131048': 'spam-rate' };

function parseThrottle(spec: string, into: Partial<Record<ThrottleKind, number>>): void {
  const match = /^([0-9]+)=([0-9]{3})$/.exec(spec.trim());
  const kind = match === null ? undefined : throttleCodes[match[1]!];
  if (match === null || kind === undefined) throw new UsageError(`--throttle-status wants <code>=<http> with code 130429, 131056 or 131048, got "${spec}"`);
  const status = Number(match[2]);
  if (status < 400 || status > 599) throw new UsageError(`--throttle-status: HTTP status must be 400..599, got ${status}`);
  into[kind] = status;
}

function parseHost(text: string): string {
  if (isIP(text) === 0) throw new UsageError(`--host must be an IPv4 or IPv6 address, got "${text}"`);
  return text;
}

function parseLimits(text: string): LimitScope {
  if (text !== 'shared' && text !== 'process') throw new UsageError(`--limits must be shared or process, got "${text}"`);
  return text;
}

function parsePort(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port must be 0..65535, got "${text}"`);
  return Number(text);
}

export function parseSettings(argv: readonly string[], env: NodeJS.ProcessEnv): Settings | 'help' {
  const settings: Settings = {
    host: env['SIGLOAD_HOST'] !== undefined ? parseHost(env['SIGLOAD_HOST']) : '127.0.0.1',
    port: env['SIGLOAD_PORT'] !== undefined ? parsePort(env['SIGLOAD_PORT']) : 8080,
    adminToken: env['SIGLOAD_ADMIN_TOKEN'],
    registrationToken: env['SIGLOAD_REGISTRATION_TOKEN'],
    virtualClock: env['SIGLOAD_VIRTUAL_CLOCK'] === '1' || env['SIGLOAD_VIRTUAL_CLOCK'] === 'true',
    store: 'memory',
    databaseUrl: env['SIGLOAD_DATABASE_URL'] ?? env['DATABASE_URL'],
    limits: env['SIGLOAD_LIMITS'] !== undefined ? parseLimits(env['SIGLOAD_LIMITS']) : undefined,
    crypto: 'node',
    cryptoThread: undefined,
    throttle: {},
    verifyCallbacks: !(env['SIGLOAD_VERIFY_CALLBACKS'] === '0' || env['SIGLOAD_VERIFY_CALLBACKS'] === 'false'),
    masterKeysFile: env['SIGLOAD_MASTER_KEYS_FILE'],
    registrationLimits: {},
    resourceLimits: {},
  };
  const setSourceRate = (text: string): void => {
    const rate = parseRate('--registrations-per-source', text);
    settings.registrationLimits = { ...settings.registrationLimits, sourceBurst: rate.burst, sourcePerMinute: rate.perMinute };
  };
  const setTokenRate = (text: string): void => {
    const rate = parseRate('--registrations-per-token', text);
    settings.registrationLimits = { ...settings.registrationLimits, tokenBurst: rate.burst, tokenPerMinute: rate.perMinute };
  };
  const setConnections = (text: string): void => {
    settings.resourceLimits = { ...settings.resourceLimits, connections: parseCount('--max-connections', text) };
  };
  const setGrace = (text: string): void => {
    settings.resourceLimits = { ...settings.resourceLimits, shutdownGraceMs: parseCount('--shutdown-grace-ms', text) };
  };
  if (env['SIGLOAD_REGISTRATIONS_PER_SOURCE'] !== undefined) setSourceRate(env['SIGLOAD_REGISTRATIONS_PER_SOURCE']);
  if (env['SIGLOAD_REGISTRATIONS_PER_TOKEN'] !== undefined) setTokenRate(env['SIGLOAD_REGISTRATIONS_PER_TOKEN']);
  if (env['SIGLOAD_MAX_CONNECTIONS'] !== undefined) setConnections(env['SIGLOAD_MAX_CONNECTIONS']);
  if (env['SIGLOAD_SHUTDOWN_GRACE_MS'] !== undefined) setGrace(env['SIGLOAD_SHUTDOWN_GRACE_MS']);
  const storeText = env['SIGLOAD_STORE'];
  const cryptoText = env['SIGLOAD_CRYPTO'];
  const setStore = (text: string): void => {
    if (text !== 'memory' && text !== 'postgres') throw new UsageError(`--store must be memory or postgres, got "${text}"`);
    settings.store = text;
  };
  const setCrypto = (text: string): void => {
    if (text !== 'node' && text !== 'noble') throw new UsageError(`--crypto must be node or noble, got "${text}"`);
    settings.crypto = text;
  };
  const setCryptoThread = (text: string): void => {
    if (text !== 'on' && text !== 'off') throw new UsageError(`--crypto-thread must be on or off, got "${text}"`);
    settings.cryptoThread = text === 'on';
  };
  if (env['SIGLOAD_CRYPTO_THREAD'] !== undefined) setCryptoThread(env['SIGLOAD_CRYPTO_THREAD']);
  if (storeText !== undefined) setStore(storeText);
  if (cryptoText !== undefined) setCrypto(cryptoText);
  for (const spec of (env['SIGLOAD_THROTTLE_STATUS'] ?? '').split(',').filter((s) => s.trim() !== '')) parseThrottle(spec, settings.throttle);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--host':
        settings.host = parseHost(value());
        break;
      case '--port':
        settings.port = parsePort(value());
        break;
      case '--limits':
        settings.limits = parseLimits(value());
        break;
      case '--admin-token':
        settings.adminToken = value();
        break;
      case '--registration-token':
        settings.registrationToken = value();
        break;
      case '--virtual-clock':
        settings.virtualClock = true;
        break;
      case '--store':
        setStore(value());
        break;
      case '--database-url':
        settings.databaseUrl = value();
        break;
      case '--crypto':
        setCrypto(value());
        break;
      case '--crypto-thread':
        setCryptoThread(value());
        break;
      case '--throttle-status':
        parseThrottle(value(), settings.throttle);
        break;
      case '--no-verify-callbacks':
        settings.verifyCallbacks = false;
        break;
      case '--master-keys':
        settings.masterKeysFile = value();
        break;
      case '--registrations-per-source':
        setSourceRate(value());
        break;
      case '--registrations-per-token':
        setTokenRate(value());
        break;
      case '--max-connections':
        setConnections(value());
        break;
      case '--shutdown-grace-ms':
        setGrace(value());
        break;
      default:
        throw new UsageError(`unknown option "${arg}" (see --help)`);
    }
  }
  for (const [name, token] of [['--admin-token', settings.adminToken], ['--registration-token', settings.registrationToken]] as const) {
    if (token !== undefined && token.length < 8) throw new UsageError(`${name} must be at least 8 characters`);
  }
  if (settings.store === 'postgres' && (settings.databaseUrl === undefined || settings.databaseUrl === '')) {
    throw new UsageError('--store postgres needs --database-url (or SIGLOAD_DATABASE_URL / DATABASE_URL)');
  }
  if (settings.limits === 'shared' && settings.store === 'memory') {
    throw new UsageError('--limits shared needs --store postgres (the memory store lives in one process; use --limits process)');
  }
  if (settings.masterKeysFile === undefined && settings.store === 'postgres') settings.masterKeysFile = DEFAULT_MASTER_KEYS_FILE;
  return settings;
}

const DEFAULT_MASTER_KEYS_FILE = '.sigload/master-keys.json';

/**
 * Region master keys from a JSON file of 64-hex-character keys. A missing file is created with
 * a fresh key per region (mode 0600): data at rest in PostgreSQL outlives the process, so the
 * keys that wrap it must too. Keep the file away from the database's backups.
 */
export function loadMasterKeys(file: string): Partial<Record<Region, Uint8Array>> {
  if (!existsSync(file)) {
    const fresh = Object.fromEntries(REGIONS.map((region) => [region, randomBytes(32).toString('hex')]));
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    process.stderr.write(`sigload server: created region master keys in ${file}\n`);
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    process.stderr.write(`sigload server: warning: ${file} is readable by group or others (mode ${mode.toString(8)}); the region master keys unlock everything at rest: chmod 600 it\n`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--master-keys ${file}: not readable JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--master-keys ${file}: expected an object of region → hex key`);
  const keys: Partial<Record<Region, Uint8Array>> = {};
  for (const [region, hex] of Object.entries(parsed)) {
    if (!isRegion(region)) throw new UsageError(`--master-keys ${file}: unknown region "${region}"`);
    if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) throw new UsageError(`--master-keys ${file}: the key for ${region} must be 64 hex characters`);
    keys[region] = Uint8Array.from(Buffer.from(hex, 'hex'));
  }
  return keys;
}

async function openStore(settings: Settings, clock: TimerClock): Promise<Store> {
  if (settings.store === 'memory') return new MemoryStore({ now: () => clock.now() });
  let postgres: { openPostgresStore?: (options: { database_url: string; now_ms?: () => number }) => Promise<Store> };
  try {
    postgres = (await import('../src/store/postgres/index.js')) as typeof postgres;
  } catch (error) {
    throw new Error(`the PostgreSQL store is not available in this build: ${(error as Error).message}`);
  }
  if (typeof postgres.openPostgresStore !== 'function') throw new Error('the PostgreSQL store is not available in this build (no openPostgresStore)');
  try {
    return await postgres.openPostgresStore({ database_url: settings.databaseUrl!, now_ms: () => clock.now() });
  } catch (error) {
    throw new Error(`cannot open the PostgreSQL store at ${redact(settings.databaseUrl!)}: ${(error as Error).message}`);
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

async function main(): Promise<number> {
  let settings: Settings | 'help';
  try {
    settings = parseSettings(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`sigload server: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (settings === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  let masterKeys: Partial<Record<Region, Uint8Array>> | undefined;
  try {
    masterKeys = settings.masterKeysFile === undefined ? undefined : loadMasterKeys(settings.masterKeysFile);
  } catch (error) {
    process.stderr.write(`sigload server: ${(error as Error).message}\n`);
    return 2;
  }
  const clock: TimerClock = settings.virtualClock ? new VirtualClock(Date.now()) : new SystemClock();
  let store: Store;
  try {
    store = await openStore(settings, clock);
  } catch (error) {
    process.stderr.write(`sigload server: ${(error as Error).message}\n`);
    return 1;
  }
  // Hex, not base64url: a token that starts with '-' cannot follow `--admin-token` on a command line.
  const adminToken = settings.adminToken ?? randomBytes(24).toString('hex');
  const registrationToken = settings.registrationToken ?? randomBytes(24).toString('hex');
  let server;
  try {
    server = await startReferenceServer({
      store,
      clock,
      port: settings.port,
      host: settings.host,
      ...(settings.limits !== undefined ? { limitScope: settings.limits } : {}),
      adminToken,
      registrationToken,
      backend: getBackend(settings.crypto),
      ...(settings.cryptoThread !== undefined ? { sessionCryptoThread: settings.cryptoThread } : {}),
      throttleHttpStatus: settings.throttle,
      verifyCallbacks: settings.verifyCallbacks,
      closeStore: true,
      registrationLimits: settings.registrationLimits,
      resourceLimits: settings.resourceLimits,
      ...(masterKeys !== undefined ? { masterKeys } : {}),
    });
  } catch (error) {
    await store.close().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    const address = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
    process.stderr.write(`sigload server: cannot listen on ${address}:${settings.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : code === 'EADDRNOTAVAIL' ? 'the address is not one of this host' : (error as Error).message}\n`);
    return 1;
  }
  // Handlers first, then the listening line: a supervisor may send SIGTERM the moment it reads it.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      process.stdout.write(`sigload server: ${signal}, finishing in-flight work\n`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  process.stdout.write(
    [
      `sigload reference server listening on ${server.url}`,
      `  store: ${settings.store}, limits: ${settings.limits ?? (settings.store === 'postgres' ? 'shared' : 'process')}, crypto: ${settings.crypto}${settings.cryptoThread === false ? ' (no crypto thread)' : ''}, clock: ${settings.virtualClock ? 'virtual' : 'system'}`,
      `  admin token: ${settings.adminToken === undefined ? adminToken : '(as given)'}`,
      `  registration token: ${settings.registrationToken === undefined ? registrationToken : '(as given)'}`,
      '',
    ].join('\n'),
  );
  await stopped;
  await server.close();
  process.stdout.write('sigload server: stopped\n');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`sigload server: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
