/**
 * Hosts made of Linux network namespaces, for tests that need several machines on one: each host
 * is a namespace with its own loopback and one interface (eth0) on a private /24, all joined by a
 * bridge that lives in a namespace of its own, so nothing is added to the machine's own network
 * and no packet leaves these addresses. Needs root and `ip` (iproute2).
 *
 * `destroy()` ends the processes started on the hosts and deletes every namespace (which deletes
 * their interfaces); it is also registered for process exit, so a failing or interrupted test
 * leaves nothing behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { KindedError } from '../../src/kinded-error.js';

export class NetworkHostsError extends KindedError<'unavailable' | 'command-failed' | 'child-failed'> {}

export interface NetworkHostsOptions {
  /** Host name → last octet of its address. */
  hosts: Record<string, number>;
  /** Third octet of 10.203.x.0/24. Default: from the process id (parallel runs do not collide). */
  subnet?: number;
}

export interface ChildOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Why this machine cannot make namespaces, or undefined when it can. */
export function namespacesUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return '`ip` (iproute2) is not installed';
  const probe = `slprobe${process.pid % 100_000}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.status !== 0) return `ip netns add failed: ${added.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  return undefined;
}

function ip(args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new NetworkHostsError('command-failed', `ip ${args.join(' ')}: ${result.stderr.trim()}`);
}

export class NetworkHosts {
  readonly subnet: string;
  private readonly tag: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = (): void => this.destroySync();

  private constructor(private readonly options: NetworkHostsOptions) {
    const third = options.subnet ?? 10 + (process.pid % 240);
    this.subnet = `10.203.${third}`;
    this.tag = `sl${process.pid % 100_000}`;
  }

  static create(options: NetworkHostsOptions): NetworkHosts {
    const hosts = new NetworkHosts(options);
    process.once('exit', hosts.onExit);
    try {
      hosts.build();
    } catch (error) {
      hosts.destroySync();
      throw error;
    }
    return hosts;
  }

  /** The namespace of a host (for `ip netns exec`). */
  namespace(host: string): string {
    if (!(host in this.options.hosts)) throw new NetworkHostsError('command-failed', `no host ${host}`);
    return `${this.tag}-${host}`;
  }

  address(host: string): string {
    const octet = this.options.hosts[host];
    if (octet === undefined) throw new NetworkHostsError('command-failed', `no host ${host}`);
    return `${this.subnet}.${octet}`;
  }

  get network(): string {
    return `${this.subnet}.0/24`;
  }

  /** Argument vector prefix that runs a command on a host. */
  launcher(host: string): string[] {
    return ['ip', 'netns', 'exec', this.namespace(host)];
  }

  private build(): void {
    const bridgeSpace = `${this.tag}-switch`;
    ip(['netns', 'add', bridgeSpace]);
    this.namespaces.push(bridgeSpace);
    ip(['-n', bridgeSpace, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', bridgeSpace, 'link', 'set', 'br0', 'up']);
    for (const [index, host] of Object.keys(this.options.hosts).entries()) {
      const space = this.namespace(host);
      ip(['netns', 'add', space]);
      this.namespaces.push(space);
      const port = `p${index}`;
      ip(['link', 'add', port, 'netns', bridgeSpace, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', space]);
      ip(['-n', bridgeSpace, 'link', 'set', port, 'master', 'br0', 'up']);
      ip(['-n', space, 'addr', 'add', `${this.address(host)}/24`, 'dev', 'eth0']);
      ip(['-n', space, 'link', 'set', 'eth0', 'up']);
      ip(['-n', space, 'link', 'set', 'lo', 'up']);
    }
  }

  /** Starts a long-running process on a host; `destroy` ends it if it is still running. */
  start(host: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn(this.launcher(host)[0]!, [...this.launcher(host).slice(1), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs a command on a host to its end (killed after `timeoutMs`); resolves with its output. */
  run(host: string, argv: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<ChildOutcome> {
    const child = this.start(host, argv, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) => {
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Waits until a started process prints a line matching `pattern`; rejects if it exits first. */
  static waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => finish(new NetworkHostsError('child-failed', `no line matching ${pattern} within ${timeoutMs} ms; output: ${seen.slice(-800)}`)), timeoutMs);
      const onData = (chunk: Buffer): void => {
        seen += chunk.toString('utf8');
        const match = pattern.exec(seen);
        if (match) finish(match);
      };
      const onExit = (code: number | null): void => finish(new NetworkHostsError('child-failed', `exited (${code}) before printing ${pattern}; output: ${seen.slice(-800)}`));
      const finish = (outcome: RegExpExecArray | Error): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
  }

  /** Ends the started processes (SIGTERM, then SIGKILL after `graceMs`) and deletes the namespaces. */
  async destroy(graceMs = 3_000): Promise<void> {
    const running = [...this.children];
    await Promise.all(
      running.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    this.destroySync();
  }

  private destroySync(): void {
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
    for (const space of this.namespaces.splice(0).reverse()) spawnSync('ip', ['netns', 'del', space], { stdio: 'ignore' });
    process.off('exit', this.onExit);
  }
}
