/**
 * A scenario phase on a load shape (`npm run load -- --scenario … --shape|--stages …`): one
 * open-model run on an arrival schedule (schedule.ts), reported as one latency figure that carries
 * the run's per-second time series (time-series.ts) and, in its params, the first and last
 * minute's p99 and server RSS (the soak's drift). One run, so one sample: a shape is a single
 * long window, not repetitions.
 */
import { runOpenLoop, type OpenLoopOptions } from './open-loop-driver.js';
import { latencyDistribution } from './histogram.js';
import type { LoadFigure } from '../scenarios/stage.js';
import type { ArrivalSchedule } from './schedule.js';
import type { ServerTelemetrySource } from './server-telemetry.js';
import { seriesWindows } from './time-series.js';

export interface ShapedRunOptions {
  /** Figure id, e.g. `load/mass-messaging/follow-up-shaped-latency-p99`. */
  id: string;
  schedule: ArrivalSchedule;
  /** The request side of the run (URL, connections, method, headers, bodies, callbacks). */
  request: Omit<OpenLoopOptions, 'schedule' | 'ratePerSecond' | 'durationSeconds' | 'maxRequests' | 'timeSeries' | 'serverTelemetry' | 'keepSamples'>;
  telemetry?: ServerTelemetrySource;
  params?: Record<string, string | number | boolean>;
  log?: (line: string) => void;
}

const MB = 1024 * 1024;

export async function runShapedFigure(options: ShapedRunOptions): Promise<LoadFigure> {
  const { schedule } = options;
  const run = await runOpenLoop({ ...options.request, schedule, timeSeries: true, ...(options.telemetry ? { serverTelemetry: options.telemetry } : {}) });
  const latency = latencyDistribution(run.histogram);
  run.histogram.destroy();
  const series = run.timeSeries!;
  const minutes = seriesWindows(series, 60);
  const first = minutes[0];
  const last = minutes[minutes.length - 1];
  const r = run.report;
  options.log?.(
    `${options.id}: ${r.requests.sent} requests over ${r.duration_s} s (${schedule.spec.arrivals}), p99 ${latency.p99} ms; ` +
      minutes.map((m) => `[${m.start_s}s p99 ${m.p99_ms} ms${m.rss_bytes !== null ? `, RSS ${(m.rss_bytes / MB).toFixed(1)} MB` : ''}]`).join(' '),
  );
  return {
    id: options.id,
    unit: 'ms',
    better: 'lower',
    params: {
      ...options.params,
      schedule: JSON.stringify(schedule.spec),
      requests: r.requests.sent,
      mean_rate_per_s: r.offered_rate_per_s,
      achieved_rate_per_s: r.completed_rate_per_s,
      duration_s: r.duration_s,
      connections: r.connections,
      ...(first ? { first_minute_p99_ms: first.p99_ms } : {}),
      ...(last ? { last_minute_p99_ms: last.p99_ms } : {}),
      ...(first?.rss_bytes != null ? { first_minute_rss_bytes: first.rss_bytes } : {}),
      ...(last?.rss_bytes != null ? { last_minute_rss_bytes: last.rss_bytes } : {}),
    },
    samples: [latency.p99],
    latency,
    time_series: series,
    quality: r.quality,
  };
}
