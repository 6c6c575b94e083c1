/*
 * X3: the acknowledgement deadline, counted in business days, in UTC. Saturdays and Sundays are not
 * business days; public holidays are not known (a deadline over a holiday falls on it). A report that
 * arrives on a weekend is counted from the start of the next Monday (00:00 UTC).
 */

const DAY_MS = 24 * 60 * 60 * 1000;

const isWeekend = (d: Date) => d.getUTCDay() === 0 || d.getUTCDay() === 6;

/** `from` moved on by `days` business days, keeping its time of day: Friday 15:00 + 2 → Tuesday 15:00 UTC. */
export function addBusinessDays(from: Date, days: number): Date {
  if (!Number.isInteger(days) || days < 0) throw new Error('addBusinessDays: days must be a whole number ≥ 0');
  let at = new Date(from.getTime());
  if (isWeekend(at)) {
    while (isWeekend(at)) at = new Date(at.getTime() + DAY_MS);
    at = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  }
  let left = days;
  while (left > 0) {
    at = new Date(at.getTime() + DAY_MS);
    if (!isWeekend(at)) left--;
  }
  return at;
}
