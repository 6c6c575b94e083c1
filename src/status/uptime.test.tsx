import { render } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import { minuteCounts } from './service.js';
import { type DayCounts, EMPTY_DAY, percent, sumDays, UPTIME_FORMULA, uptime, uptimeDays } from './uptime.js';
import { UptimeBars } from './uptime-bars.js';

const day = (c: Partial<DayCounts>): DayCounts => ({ ...EMPTY_DAY, ...c });

describe('uptime formula', () => {
  it('[X2] uptime = 1 − (major + 0.3 × partial) / (observed − maintenance), exactly', () => {
    expect(uptime(day({ observed: 1440 }))).toBe(1);
    expect(uptime(day({ observed: 1440, major: 144 }))).toBeCloseTo(0.9, 12);
    // 100 partial minutes weigh 30; 240 maintenance minutes leave the denominator: 1 − 30/1200.
    expect(uptime(day({ observed: 1440, partial: 100, maintenance: 240 }))).toBeCloseTo(1 - 30 / 1200, 12);
    expect(uptime(day({ observed: 1000, major: 10, partial: 20, degraded: 500 }))).toBeCloseTo(1 - 16 / 1000, 12);
    expect(UPTIME_FORMULA).toContain('0.3 × partial');
  });

  it('[X2] degraded minutes count as up; a day of maintenance only or no minutes has no value', () => {
    expect(uptime(day({ observed: 600, degraded: 600 }))).toBe(1);
    expect(uptime(day({ observed: 300, maintenance: 300 }))).toBeNull();
    expect(uptime(EMPTY_DAY)).toBeNull();
  });

  it('[X2] a percentage is floored: one down minute is never shown as 100.00%', () => {
    expect(percent(uptime(day({ observed: 43200, major: 1 }))!)).toBe('99.99%');
    expect(percent(1)).toBe('100.00%');
  });

  it('[X2] a recorded minute counts once into observed and once into its state', () => {
    expect(minuteCounts('partial_outage')).toEqual({ observed: 1, degraded: 0, partial: 1, major: 0, maintenance: 0 });
    expect(sumDays([minuteCounts('major_outage'), minuteCounts('operational')])).toEqual(
      day({ observed: 2, major: 1 }),
    );
  });
});

describe('uptime days', () => {
  const now = new Date('2026-12-03T12:00:00Z');

  it('[X2] 90 days, oldest first, ending today; days before the component existed are no data', () => {
    const rows = new Map([
      ['2026-11-20', day({ observed: 1440 })], // before the component: ignored
      ['2026-12-02', day({ observed: 1440, major: 60 })],
      ['2026-12-03', day({ observed: 720 })],
    ]);
    const days = uptimeDays(rows, now, new Date('2026-12-01T08:00:00Z'));
    expect(days).toHaveLength(90);
    expect(days.at(-1)!.day).toBe('2026-12-03');
    expect(days[0]!.day).toBe('2026-09-05');
    const byDay = new Map(days.map((d) => [d.day, d]));
    expect(byDay.get('2026-11-20')).toMatchObject({ uptime: null, level: 'none' });
    expect(byDay.get('2026-12-01')).toMatchObject({ uptime: null, level: 'none' }); // existed, nothing observed
    expect(byDay.get('2026-12-02')).toMatchObject({ level: 'major' });
    expect(byDay.get('2026-12-02')!.uptime).toBeCloseTo(1 - 60 / 1440, 12);
    expect(byDay.get('2026-12-03')).toMatchObject({ uptime: 1, level: 'operational' });
    expect(days.filter((d) => d.uptime !== null)).toHaveLength(2);
  });

  it('[X2] a maintenance-only day is no data, marked as maintenance, and does not lift or lower the total', () => {
    const rows = new Map([
      ['2026-12-02', day({ observed: 1440, maintenance: 1440 })],
      ['2026-12-03', day({ observed: 100, major: 1 })],
    ]);
    const days = uptimeDays(rows, now, new Date('2026-01-01T00:00:00Z'));
    expect(days.at(-2)).toMatchObject({ uptime: null, level: 'maintenance' });
    expect(days.at(-2)!.label).toBe('2026-12-02: no data (1440 minutes of maintenance only)');
    expect(uptime(sumDays(days.map((d) => d.counts)))).toBeCloseTo(0.99, 12);
  });
});

describe('uptime bars', () => {
  it('[X2] the SVG has one bar per day, each with its words; no-data bars are short and say "no data"', () => {
    const now = new Date('2026-12-03T12:00:00Z');
    const rows = new Map([['2026-12-03', day({ observed: 1000, partial: 100 })]]);
    const html = render(
      <UptimeBars name="API & <Web>" days={uptimeDays(rows, now, new Date('2026-12-02T00:00:00Z'))} />,
    );
    expect(html.match(/<rect /g)).toHaveLength(90);
    expect(html.match(/<title>/g)).toHaveLength(90);
    expect(html).toContain('aria-label="API &amp; &lt;Web>: 97.00% uptime over the last 90 days, one bar per day"');
    expect(html).toContain('<title>2026-12-03: 97.00% uptime (1000 minutes observed, 100 partial outage)</title>');
    expect(html).toContain('<title>2026-12-02: no data (not observed)</title>');
    expect(html.match(/class="uptime-day uptime-none"/g)).toHaveLength(89);
    const noData = /<rect[^>]*y="([\d.]+)"[^>]*height="([\d.]+)"[^>]*uptime-none/.exec(html)!;
    expect(Number(noData[2])).toBeLessThan(34);
    expect(html).not.toContain('style=');
  });
});
