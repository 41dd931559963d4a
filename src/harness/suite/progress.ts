/**
 * Progress of a bench run: on a terminal one live line (suite, its %, overall %, time left),
 * redrawn with `\r`; elsewhere plain lines, one per suite start/end and per quarter of a suite.
 *
 * Time left = the remaining estimate scaled by how the run has kept to its estimates so far
 * (elapsed ÷ estimated-done), so a slow machine gets a longer, truer ETA as the run goes on.
 */
export interface ProgressOptions {
  /** Where to draw. @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Live line when true. @default stream.isTTY */
  live?: boolean;
  /** Minimum time between redraws of the live line, ms. @default 100 */
  redrawIntervalMs?: number;
}

/** Defaults of `ProgressOptions` that do not depend on the stream (documented per field there). */
export const DEFAULT_PROGRESS_OPTIONS = {
  redrawIntervalMs: 100,
} as const;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class ProgressDisplay {
  private readonly stream: NodeJS.WriteStream;
  private readonly live: boolean;
  private readonly redrawIntervalMs: number;
  private estimates: number[] = [];
  private index = -1;
  private suiteId = '';
  private fraction = 0;
  private label = '';
  private runStart = 0;
  private lastDraw = 0;
  private lastQuarter = 0;
  private lineShown = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.live = options.live ?? Boolean(this.stream.isTTY);
    this.redrawIntervalMs = options.redrawIntervalMs ?? DEFAULT_PROGRESS_OPTIONS.redrawIntervalMs;
  }

  /** Starts the run with each suite's estimate in seconds. */
  begin(estimatesSeconds: number[]): void {
    this.estimates = estimatesSeconds.map((e) => (Number.isFinite(e) && e > 0 ? e : 1));
    this.runStart = performance.now();
  }

  suiteStart(index: number, suiteId: string): void {
    this.index = index;
    this.suiteId = suiteId;
    this.fraction = 0;
    this.label = '';
    this.lastQuarter = 0;
    if (!this.live) this.line(`[${index + 1}/${this.estimates.length}] ${suiteId}: started (estimate ${formatDuration(this.estimates[index] ?? 0)}, ${this.status()})`);
    else this.draw(true);
  }

  update(fraction: number, label: string): void {
    this.fraction = Math.min(1, Math.max(0, fraction));
    this.label = label;
    if (this.live) this.draw(false);
    else {
      const quarter = Math.floor(this.fraction * 4);
      if (quarter > this.lastQuarter && quarter < 4) {
        this.lastQuarter = quarter;
        this.line(`[${this.index + 1}/${this.estimates.length}] ${this.suiteId}: ${Math.round(this.fraction * 100)}% ${label} (${this.status()})`);
      }
    }
  }

  suiteEnd(outcome: string, seconds: number): void {
    this.fraction = 1;
    this.line(`[${this.index + 1}/${this.estimates.length}] ${this.suiteId}: ${outcome} in ${formatDuration(seconds)}`);
  }

  /** A plain line above the live line. */
  line(text: string): void {
    if (this.live && this.lineShown) this.stream.write('\r\x1b[K');
    this.stream.write(text + '\n');
    this.lineShown = false;
    if (this.live && this.index >= 0 && this.fraction < 1) this.draw(true);
  }

  end(): void {
    if (this.live && this.lineShown) this.stream.write('\r\x1b[K');
    this.lineShown = false;
  }

  /** Overall fraction done, by estimated seconds. */
  overallFraction(): number {
    const total = this.estimates.reduce((a, b) => a + b, 0);
    if (total === 0 || this.index < 0) return 0;
    const done = this.estimates.slice(0, this.index).reduce((a, b) => a + b, 0) + (this.estimates[this.index] ?? 0) * this.fraction;
    return Math.min(1, done / total);
  }

  /** Seconds left, scaled by how the run has tracked its estimates. */
  secondsLeft(): number {
    const total = this.estimates.reduce((a, b) => a + b, 0);
    const doneFraction = this.overallFraction();
    const remaining = total * (1 - doneFraction);
    const elapsed = (performance.now() - this.runStart) / 1000;
    const estimatedDone = total * doneFraction;
    const pace = estimatedDone > 2 ? elapsed / estimatedDone : 1;
    return remaining * pace;
  }

  private status(): string {
    return `overall ${Math.round(this.overallFraction() * 100)}%, about ${formatDuration(this.secondsLeft())} left`;
  }

  private draw(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastDraw < this.redrawIntervalMs) return;
    this.lastDraw = now;
    const width = (this.stream.columns ?? 100) - 1;
    const text = `[${this.index + 1}/${this.estimates.length}] ${this.suiteId} ${Math.round(this.fraction * 100)}% ${this.label} | ${this.status()}`;
    this.stream.write('\r\x1b[K' + (text.length > width ? text.slice(0, width) : text));
    this.lineShown = true;
  }
}
