/**
 * A throwaway PostgreSQL server for tests, CI and benchmarks.
 *
 * `startThrowawayPostgres()` runs `initdb` into a fresh temporary folder (as a non-root user:
 * initdb refuses root), starts `postgres` listening on 127.0.0.1 on a free port with its unix
 * socket inside that folder, waits until it accepts connections, and returns its URL. `stop()`
 * runs `pg_ctl stop -m fast` and removes the folder. A small watchdog (`sh` polling the parent's
 * pid once a second) stops the server and removes the folder if the process that started it dies
 * without calling `stop()` (kill -9, a crash), so no server outlives its test run.
 *
 * fsync stays on (the durability tests kill -9 the *application* server, and the database must
 * behave like a real one). Authentication is `trust`, which is acceptable only because the server
 * listens on loopback and lives for one run.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KindedError } from '../kinded-error.js';

export interface ThrowawayPostgresOptions {
  /** Folder with initdb, pg_ctl, postgres. Default: newest /usr/lib/postgresql/<v>/bin, else PATH. */
  binDir?: string;
  /** Non-root system user that owns the cluster when we run as root. Default "postgres" (created with useradd if missing). */
  osUser?: string;
  /** Extra `-c name=value` server settings. Default: none beyond the fixed ones below. */
  settings?: Record<string, string | number>;
  /** How long to wait for the server to accept connections. Default 30000. */
  startTimeoutMs?: number;
  /** Address to listen on and to put in the URL. Default 127.0.0.1. */
  host?: string;
  /** Clients from this IPv4 network (CIDR) may connect without a password. Default: loopback only. */
  trustedNetwork?: string;
  /**
   * Argument vector that runs the server's start command elsewhere, e.g.
   * `['ip', 'netns', 'exec', 'db']` to start it inside a network namespace. The port is then
   * not probed for (another namespace has ports of its own): 5432 is used. Default: none.
   */
  launcher?: readonly string[];
}

export interface ThrowawayPostgres {
  /** postgres://postgres@<host>:<port>/postgres */
  url: string;
  port: number;
  dataDir: string;
  stop(): void;
}

export class ThrowawayPostgresError extends KindedError<'binaries-missing' | 'initdb-failed' | 'start-failed'> {}

/** Finds initdb/pg_ctl/postgres: the newest /usr/lib/postgresql/<v>/bin, else whatever is on PATH. */
export function findPostgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0]!, 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  if (which.status === 0 && path) return path.slice(0, path.lastIndexOf('/'));
  return undefined;
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function userIds(osUser: string): { uid: number; gid: number } {
  let line = spawnSync('getent', ['passwd', osUser], { encoding: 'utf8' }).stdout.trim();
  if (!line) {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', osUser], { stdio: 'ignore' });
    line = spawnSync('getent', ['passwd', osUser], { encoding: 'utf8' }).stdout.trim();
  }
  const fields = line.split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

export async function startThrowawayPostgres(options: ThrowawayPostgresOptions = {}): Promise<ThrowawayPostgres> {
  const binDir = options.binDir ?? findPostgresBinDir();
  if (!binDir || !existsSync(join(binDir, 'initdb'))) {
    throw new ThrowawayPostgresError(
      'binaries-missing',
      'PostgreSQL binaries (initdb, pg_ctl, postgres) not found: install them (apt-get install postgresql) ' +
        'or set SIGLOAD_TEST_DATABASE_URL to an existing database',
    );
  }
  const asRoot = process.getuid?.() === 0;
  const osUser = options.osUser ?? 'postgres';
  const ids = asRoot ? userIds(osUser) : undefined;
  const home = mkdtempSync(join(tmpdir(), 'sigload-pg-'));
  const dataDir = join(home, 'data');
  if (ids) chownSync(home, ids.uid, ids.gid);
  // Run a PostgreSQL binary as the cluster's owner (runuser when we are root).
  const asOwner = (file: string, args: string[]): [string, string[]] =>
    ids ? ['runuser', ['-u', osUser, '--', join(binDir, file), ...args]] : [join(binDir, file), args];

  const cleanup = () => rmSync(home, { recursive: true, force: true });
  const [initCmd, initArgs] = asOwner('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', cwd: home });
  if (init.status !== 0) {
    cleanup();
    throw new ThrowawayPostgresError('initdb-failed', `initdb failed: ${init.stderr || init.stdout}`);
  }

  const host = options.host ?? '127.0.0.1';
  if (options.trustedNetwork !== undefined) {
    if (!/^[0-9]{1,3}(\.[0-9]{1,3}){3}\/[0-9]{1,2}$/.test(options.trustedNetwork)) {
      cleanup();
      throw new ThrowawayPostgresError('start-failed', `trustedNetwork must be an IPv4 CIDR, got "${options.trustedNetwork}"`);
    }
    appendFileSync(join(dataDir, 'pg_hba.conf'), `host all all ${options.trustedNetwork} trust\n`);
  }
  const settings: Record<string, string | number> = {
    listen_addresses: host,
    unix_socket_directories: home,
    fsync: 'on',
    max_connections: 200,
    shared_buffers: '128MB',
    max_wal_size: '2GB',
    ...options.settings,
  };
  const logFile = join(home, 'postgres.log');
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.launcher === undefined ? await freeLoopbackPort() : 5432 + attempt;
    const serverArgs = Object.entries({ ...settings, port })
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ');
    const [ownerCmd, ownerArgs] = asOwner('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', serverArgs, '-w', '-t', String(Math.ceil((options.startTimeoutMs ?? 30_000) / 1000)), 'start']);
    // Only the start runs through the launcher: stopping signals the postmaster by its pid file,
    // which works from anywhere, also after the launcher's environment (a namespace) is gone.
    const [ctlCmd, ctlArgs] = options.launcher === undefined || options.launcher.length === 0 ? [ownerCmd, ownerArgs] : [options.launcher[0]!, [...options.launcher.slice(1), ownerCmd, ...ownerArgs]];
    const started = spawnSync(ctlCmd, ctlArgs, { encoding: 'utf8', cwd: home });
    if (started.status === 0) {
      const [stopCmd, stopArgs] = asOwner('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      const watchdog = spawn(
        'sh',
        ['-c', 'home=$1; shift; while kill -0 "$0" 2>/dev/null && [ -d "$home" ]; do sleep 1; done; [ -d "$home" ] && { "$@" >/dev/null 2>&1; rm -rf "$home"; }; exit 0', String(process.pid), home, stopCmd, ...stopArgs],
        { detached: true, stdio: 'ignore' },
      );
      watchdog.unref();
      let stopped = false;
      return {
        url: `postgres://postgres@${host}:${port}/postgres`,
        port,
        dataDir,
        stop() {
          if (stopped) return;
          stopped = true;
          spawnSync(stopCmd, stopArgs, { stdio: 'ignore', cwd: home });
          cleanup();
          if (watchdog.pid) {
            try {
              process.kill(watchdog.pid);
            } catch {
              /* already gone: it saw the folder disappear */
            }
          }
        },
      };
    }
    lastError = started.stderr || (existsSync(logFile) ? readFileSync(logFile, 'utf8') : started.stdout);
    if (!/could not bind|address already in use/i.test(lastError)) break;
  }
  cleanup();
  throw new ThrowawayPostgresError('start-failed', `postgres did not start: ${lastError}`);
}
