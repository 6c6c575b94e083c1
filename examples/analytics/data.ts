import { createHash } from 'node:crypto';

/** Made-up but stable numbers for an organization: the same org always sees the same dashboard. */
function seeded(seed: string): () => number {
  let counter = 0;
  return () => {
    const h = createHash('sha256').update(`${seed}:${counter++}`).digest();
    return h.readUInt32BE(0) / 0xffffffff;
  };
}

export interface DayCount {
  label: string;
  visits: number;
}

export interface Dashboard {
  visitors: number;
  signups: number;
  conversion: number;
  week: DayCount[];
  /** Weekly active users over twelve weeks, for the line chart. */
  active: number[];
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function dashboardFor(orgId: string): Dashboard {
  const r = seeded(orgId);
  const week = DAYS.map((label) => ({ label, visits: Math.round(400 + r() * 1600) }));
  const visitors = week.reduce((sum, d) => sum + d.visits, 0);
  const signups = Math.round(visitors * (0.02 + r() * 0.04));
  let level = 300 + r() * 400;
  const active = Array.from({ length: 12 }, () => {
    level = Math.max(50, level + (r() - 0.4) * 120);
    return Math.round(level);
  });
  return { visitors, signups, conversion: signups / visitors, week, active };
}

export interface Invoice {
  number: string;
  period: string;
  amountCents: number;
  status: 'paid' | 'due';
}

export function invoicesFor(orgId: string): Invoice[] {
  const r = seeded(`billing:${orgId}`);
  const months = ['2026-09', '2026-10', '2026-11'];
  return months.map((period, i) => ({
    number: `INV-${period.replace('-', '')}-${orgId.slice(0, 4).toUpperCase()}`,
    period,
    amountCents: Math.round(4900 + r() * 20000),
    status: i === months.length - 1 ? 'due' : 'paid',
  }));
}

export const money = (cents: number) => `$${(cents / 100).toFixed(2)}`;

/** RFC 4180 CSV of the invoices. */
export function invoicesCsv(invoices: Invoice[]): string {
  const rows = invoices.map((i) => [i.number, i.period, (i.amountCents / 100).toFixed(2), i.status].join(','));
  return `number,period,amount_usd,status\r\n${rows.join('\r\n')}\r\n`;
}
