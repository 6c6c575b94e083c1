import type { ComponentChildren } from 'preact';

/** Times are shown in UTC, to the minute (or the second where order matters, as in the audit log). */
export const when = (d: Date, precision: 'minutes' | 'seconds' = 'minutes') =>
  `${d
    .toISOString()
    .replace('T', ' ')
    .slice(0, precision === 'minutes' ? 16 : 19)} UTC`;
export const day = (d: Date) => d.toISOString().slice(0, 10);

export function Time({ at, short, precision }: { at: Date; short?: boolean; precision?: 'minutes' | 'seconds' }) {
  return <time dateTime={at.toISOString()}>{short ? day(at) : when(at, precision)}</time>;
}

/** The outcome of the last action, announced to screen readers. */
export function Notice({ text }: { text?: string }) {
  if (!text) return null;
  return (
    <p class="notice" role="status">
      {text}
    </p>
  );
}

/**
 * A data table that scrolls sideways on a narrow screen. `hiddenColumn` is a last column whose
 * heading only screen readers need (row actions); false leaves it out.
 */
export function Table({
  columns,
  hiddenColumn,
  children,
}: {
  columns: string[];
  hiddenColumn?: string | false;
  children: ComponentChildren;
}) {
  return (
    <div class="overflow-auto">
      <table>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col">{c}</th>
            ))}
            {hiddenColumn && (
              <th scope="col">
                <span class="visually-hidden">{hiddenColumn}</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
