/**
 * Throwaway PostgreSQL from the command line (see src/store/postgres-throwaway.ts).
 *
 *   node dist/scripts/pg-throwaway.js                 start, print the URL, stop on Ctrl-C / SIGTERM
 *   node dist/scripts/pg-throwaway.js -- <cmd> [args] start, run <cmd> with SIGLOAD_TEST_DATABASE_URL,
 *                                                     SIGLOAD_BENCH_DATABASE_URL and DATABASE_URL set,
 *                                                     stop, exit with <cmd>'s status
 */
import { spawn } from 'node:child_process';
import { startThrowawayPostgres } from '../src/store/postgres-throwaway.js';

const separator = process.argv.indexOf('--');
const command = separator >= 0 ? process.argv.slice(separator + 1) : [];
const pg = await startThrowawayPostgres();
const finish = (status: number) => {
  pg.stop();
  process.exit(status);
};
process.on('SIGINT', () => finish(130));
process.on('SIGTERM', () => finish(143));

if (command.length === 0) {
  console.log(pg.url);
  console.error('throwaway PostgreSQL running; Ctrl-C stops it and deletes its data');
  setInterval(() => {}, 1 << 30);
} else {
  const env = { ...process.env, SIGLOAD_TEST_DATABASE_URL: pg.url, SIGLOAD_BENCH_DATABASE_URL: pg.url, DATABASE_URL: pg.url };
  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
  child.on('exit', (code, signal) => finish(code ?? (signal ? 1 : 0)));
  child.on('error', (error) => {
    console.error(error.message);
    finish(1);
  });
}
