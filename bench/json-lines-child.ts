/**
 * A measuring child process that reports as JSON lines on stdout (the instructions suite's
 * callgrind children; the retention suite's children speak the same way): spawns it, relays
 * each parsed line, keeps the tail of stderr, kills it when the run is aborted.
 */
import { spawn } from 'node:child_process';

export interface JsonLinesChildOptions<M> {
  /** Each stdout line that parses as JSON. */
  onMessage(message: M): void;
  /** Each stdout line that does not (printed by something else in the child). */
  onText?(line: string): void;
  /** Kills the child (SIGTERM) when aborted. */
  signal?: AbortSignal;
  /** Environment; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface JsonLinesChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last 4,000 characters of stderr. */
  stderr: string;
}

/** Runs `command args` to its end; rejects only when it cannot be started. */
export function runJsonLinesChild<M>(command: string, args: readonly string[], options: JsonLinesChildOptions<M>): Promise<JsonLinesChildExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let buffered = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() === '') continue;
        let message: M;
        try {
          message = JSON.parse(line) as M;
        } catch {
          options.onText?.(line);
          continue;
        }
        options.onMessage(message);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal, stderr });
    });
  });
}
