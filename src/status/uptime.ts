/*
 * X2 uptime: per component and UTC day, from the minutes the status job observed. The formula is
 * published on the page (UPTIME_FORMULA) and tested exactly: degraded minutes count as up, a partial
 * outage minute weighs 0.3, maintenance minutes leave the denominator, and a day with no observed
 * minute outside maintenance has no value at all ("no data", never "up").
 */

export const PARTIAL_WEIGHT = 0.3;
export const UPTIME_DAYS = 90;

export const UPTIME_FORMULA =
  'uptime = 1 − (major outage minutes + 0.3 × partial outage minutes) ÷ (observed minutes − maintenance minutes)';

export interface DayCounts {
  observed: number;
  degraded: number;
  partial: number;
  major: number;
  maintenance: number;
}

export const EMPTY_DAY: DayCounts = { observed: 0, degraded: 0, partial: 0, major: 0, maintenance: 0 };

/** The uptime of some observed minutes as a fraction 0..1, or null when none count (no data). */
export function uptime(c: DayCounts): number | null {
  const counted = c.observed - c.maintenance;
  if (counted <= 0) return null;
  const down = c.major + PARTIAL_WEIGHT * c.partial;
  return Math.min(1, Math.max(0, 1 - down / counted));
}

export const sumDays = (days: readonly DayCounts[]): DayCounts =>
  days.reduce(
    (a, d) => ({
      observed: a.observed + d.observed,
      degraded: a.degraded + d.degraded,
      partial: a.partial + d.partial,
      major: a.major + d.major,
      maintenance: a.maintenance + d.maintenance,
    }),
    EMPTY_DAY,
  );

/** How a day is drawn: its worst observed state, or no data. */
export type DayLevel = 'none' | 'maintenance' | 'operational' | 'degraded' | 'partial' | 'major';

export interface UptimeDay {
  day: string;
  counts: DayCounts;
  uptime: number | null;
  level: DayLevel;
  /** The day's words (the bar's title, for screen readers and hover). */
  label: string;
}

/** Percent with two decimals, never rounded up to 100 when some minute was down. */
export function percent(u: number): string {
  const floored = Math.floor(u * 10000) / 100;
  return `${floored.toFixed(2)}%`;
}

function levelOf(c: DayCounts, u: number | null): DayLevel {
  if (u === null) return c.maintenance > 0 ? 'maintenance' : 'none';
  if (c.major > 0) return 'major';
  if (c.partial > 0) return 'partial';
  if (c.degraded > 0) return 'degraded';
  return 'operational';
}

function labelOf(day: string, c: DayCounts, u: number | null): string {
  if (u === null)
    return c.maintenance > 0
      ? `${day}: no data (${c.maintenance} minutes of maintenance only)`
      : `${day}: no data (not observed)`;
  const parts = [`${c.observed} minutes observed`];
  if (c.major) parts.push(`${c.major} major outage`);
  if (c.partial) parts.push(`${c.partial} partial outage`);
  if (c.degraded) parts.push(`${c.degraded} degraded`);
  if (c.maintenance) parts.push(`${c.maintenance} maintenance`);
  return `${day}: ${percent(u)} uptime (${parts.join(', ')})`;
}

export const dayKey = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The last `days` UTC days up to `now`'s, oldest first. Days before `since` (the component's
 * creation) or without a row are no data.
 */
export function uptimeDays(
  rows: ReadonlyMap<string, DayCounts>,
  now: Date,
  since: Date,
  days = UPTIME_DAYS,
): UptimeDay[] {
  const out: UptimeDay[] = [];
  const first = dayKey(since);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (let i = days - 1; i >= 0; i--) {
    const day = dayKey(new Date(today - i * 86_400_000));
    const counts = day < first ? EMPTY_DAY : (rows.get(day) ?? EMPTY_DAY);
    const u = uptime(counts);
    out.push({ day, counts, uptime: u, level: levelOf(counts, u), label: labelOf(day, counts, u) });
  }
  return out;
}
