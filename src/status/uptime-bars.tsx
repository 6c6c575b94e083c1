import { type DayLevel, percent, sumDays, type UptimeDay, uptime } from './uptime.js';

/* The 90-day bars of one component, as server-rendered SVG: one bar per day, each with its words. */

export const LEVEL_FILL: Record<DayLevel, string> = {
  none: '#adb5bd',
  maintenance: '#4c6ef5',
  operational: '#2b8a3e',
  degraded: '#e8a200',
  partial: '#e8590c',
  major: '#c92a2a',
};

export const LEVEL_LABEL: Record<DayLevel, string> = {
  none: 'No data',
  maintenance: 'Maintenance only',
  operational: 'No downtime',
  degraded: 'Degraded',
  partial: 'Partial outage',
  major: 'Major outage',
};

const BAR = 6;
const GAP = 2;
const HEIGHT = 34;

export function UptimeBars({ name, days }: { name: string; days: UptimeDay[] }) {
  const total = uptime(sumDays(days.map((d) => d.counts)));
  const width = days.length * (BAR + GAP) - GAP;
  const summary = total === null ? 'no data' : `${percent(total)} uptime`;
  return (
    <figure class="uptime">
      <svg
        class="uptime-bars"
        viewBox={`0 0 ${width} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="group"
        aria-label={`${name}: ${summary} over the last ${days.length} days, one bar per day`}
        xmlns="http://www.w3.org/2000/svg"
      >
        {days.map((d, i) => {
          // No data is drawn short and grey, so it never reads as a full bar of uptime.
          const h = d.level === 'none' ? HEIGHT * 0.4 : HEIGHT;
          return (
            // biome-ignore lint/a11y/noInteractiveElementToNoninteractiveRole: not interactive; img reads the label
            <rect
              x={i * (BAR + GAP)}
              y={HEIGHT - h}
              width={BAR}
              height={h}
              rx={1}
              fill={LEVEL_FILL[d.level]}
              class={`uptime-day uptime-${d.level}`}
              data-day={d.day}
              role="img"
              aria-label={d.label}
            >
              <title>{d.label}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption>
        <span>{days.length} days ago</span>
        <span>{total === null ? 'No data' : `${percent(total)} uptime`}</span>
        <span>Today</span>
      </figcaption>
    </figure>
  );
}

export function UptimeLegend() {
  const levels: DayLevel[] = ['operational', 'degraded', 'partial', 'major', 'maintenance', 'none'];
  return (
    <ul class="uptime-legend" aria-label="What the bar colours mean">
      {levels.map((l) => (
        <li>
          <svg width="12" height="12" aria-hidden="true" viewBox="0 0 12 12">
            <rect width="12" height="12" rx="2" fill={LEVEL_FILL[l]} />
          </svg>{' '}
          {LEVEL_LABEL[l]}
        </li>
      ))}
    </ul>
  );
}
