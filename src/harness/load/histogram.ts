/**
 * Latency histograms for load runs: HDR histograms (hdr-histogram-js) of microsecond values,
 * summarised in milliseconds. One histogram per measured phase; every latency figure a load
 * scenario reports comes from one of these.
 */
import * as hdr from 'hdr-histogram-js';
import type { LatencyDistribution } from '../result/result.js';

export type LatencyHistogram = hdr.Histogram;

/** Latency percentiles in milliseconds, the shape `npm run load -- --json` prints. */
export interface LatencyPercentilesMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** A fresh histogram for microsecond latencies (1 µs .. 1 h, 3 significant digits). */
export function createLatencyHistogram(): LatencyHistogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/** Records one latency given in milliseconds (fractional allowed); values are stored as µs. */
export function recordLatencyMs(histogram: LatencyHistogram, latencyMs: number): void {
  const micros = Math.max(1, Math.round(latencyMs * 1000));
  histogram.recordValue(micros);
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function latencyPercentilesMs(histogram: LatencyHistogram): LatencyPercentilesMs {
  if (histogram.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const at = (q: number): number => round3(histogram.getValueAtPercentile(q) / 1000);
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: round3(histogram.maxValue / 1000) };
}

/** The histogram as result JSON carries it (`hdr_base64`): compressed base64, '' when empty. */
export function encodeLatencyHistogram(histogram: LatencyHistogram | undefined): string {
  return histogram === undefined || histogram.totalCount === 0 ? '' : hdr.encodeIntoCompressedBase64(histogram);
}

/** An `hdr_base64` back as a histogram; undefined for ''. Throws on text that is not one. */
export function decodeLatencyHistogram(encoded: string): LatencyHistogram | undefined {
  return encoded === '' ? undefined : hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** The result-JSON form: percentiles plus the compressed histogram itself. */
export function latencyDistribution(histogram: LatencyHistogram): LatencyDistribution {
  return { unit: 'ms', ...latencyPercentilesMs(histogram), hdr_base64: encodeLatencyHistogram(histogram) };
}

/** One distribution over several repetitions' histograms (the histograms are left as they are). */
export function mergedLatencyDistribution(histograms: readonly LatencyHistogram[]): LatencyDistribution {
  const merged = createLatencyHistogram();
  for (const h of histograms) merged.add(h);
  const distribution = latencyDistribution(merged);
  merged.destroy();
  return distribution;
}

/** Count per recorded bucket (the bucket's highest equivalent value, µs → count): two histograms are equal when these are. */
export function bucketCounts(histogram: LatencyHistogram): Map<number, number> {
  const out = new Map<number, number>();
  const iterator = (histogram as hdr.JsHistogram).recordedValuesIterator;
  iterator.reset();
  while (iterator.hasNext()) {
    const v = iterator.next();
    out.set(v.valueIteratedTo, v.countAtValueIteratedTo);
  }
  return out;
}
