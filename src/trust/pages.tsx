import type { OperatorPage, TrustCheck } from '../feature.js';
import { OperatorShell, type DeploymentSettings } from '../operator/index.js';
import { ActionButton } from '../platform/views/forms.js';
import type { ComponentChildren } from 'preact';
import { Notice, Time } from '../platform/views/format.js';
import type { StatusChange } from './repository.js';
import type { ControlEntry, TrustReport } from './report.js';

const WORDS: Record<string, string> = {
  passing: 'Passing',
  failing: 'Failing',
  not_configured: 'Not configured',
  not_built: 'Not built',
  pending: 'Not checked yet',
};
/** A wide table that scrolls sideways, reachable by keyboard (a focusable, named region). */
function WideTable({ label, columns, children }: { label: string; columns: string[]; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard
    <div class="overflow-auto" role="region" aria-label={label} tabIndex={0}>
      <table>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

const word = (status: string) => WORDS[status] ?? status;
const at = (iso: string | null) => (iso ? <Time at={new Date(iso)} /> : 'never');

function Contact({ settings }: { settings: DeploymentSettings }) {
  const c = settings.securityContact;
  if (!c) return <p>No security contact is set for this deployment yet.</p>;
  const href = c.startsWith('https://') ? c : `mailto:${c}`;
  return (
    <p>
      Report a security problem to <a href={href}>{c}</a>.
    </p>
  );
}

function Policy({ settings }: { settings: DeploymentSettings }) {
  // Saved only as https:// (the console checks it); a value from before that check stays plain text (R3).
  if (settings.policyUrl)
    return (
      <p>
        Disclosure policy:{' '}
        {settings.policyUrl.startsWith('https://') ? (
          <a href={settings.policyUrl}>{settings.policyUrl}</a>
        ) : (
          settings.policyUrl
        )}
      </p>
    );
  if (!settings.policyText) return null;
  return (
    <section aria-labelledby="policy">
      <h2 id="policy">Disclosure policy</h2>
      {settings.policyText.split(/\n{2,}/).map((para) => (
        <p class="policy-text">{para}</p>
      ))}
    </section>
  );
}

function ControlItem({ control }: { control: ControlEntry }) {
  return (
    <article id={control.id} class={`trust-control trust-${control.status}`} aria-labelledby={`${control.id}-h`}>
      <h3 id={`${control.id}-h`}>
        {control.id} <span class="visually-hidden">:</span> {control.title}
      </h3>
      <p>
        Status: <strong data-status={control.status}>{word(control.status)}</strong>
      </p>
      {control.checks.length > 0 && (
        <ul>
          {control.checks.map((c) => (
            <li data-check={c.id}>
              <strong>{word(c.status)}</strong> — {c.title}.
              <br />
              <span class="trust-detail">{c.detail}</span>
              <br />
              <small>
                Last ran {at(c.checkedAt)}; last changed {at(c.changedAt)}.
              </small>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

/** Controls no check names, listed compactly: each with its ID, title and the plain fact. */
function NotBuilt({ controls }: { controls: ControlEntry[] }) {
  if (controls.length === 0) return null;
  return (
    <ul class="trust-not-built">
      {controls.map((c) => (
        <li id={c.id}>
          <strong>{c.id}</strong> {c.title} — <strong data-status="not_built">Not built</strong> (no live check names
          it)
        </li>
      ))}
    </ul>
  );
}

export function TrustPage({ report, settings }: { report: TrustReport; settings: DeploymentSettings }) {
  const s = report.summary;
  return (
    <>
      <h1>{settings.productName} trust page</h1>
      <p>
        Every control of Rampart's catalogue, with the status the checks of this running deployment give it (
        {report.instance}). Nothing here is written by hand: a control with no live check says so.
      </p>
      <Contact settings={settings} />
      <p id="trust-summary">
        {s.controls} controls: {s.passing} passing, {s.failing} failing, {s.not_configured} not configured,{' '}
        {s.not_built} not built{s.pending > 0 ? `, ${s.pending} not checked yet` : ''}. Report made{' '}
        <Time at={new Date(report.generatedAt)} />.
      </p>
      <p>
        Machine-readable: <a href="/trust.json">signed report (JSON)</a>, <a href="/trust/key">its public key</a>.
      </p>
      <p>
        Check the report with <code>rampart trust verify</code>. Questionnaire answers:{' '}
        <a href="/trust/caiq.csv">CAIQ v4 (CSV)</a>, <a href="/trust/caiq.json">CAIQ v4 (JSON)</a>.
      </p>
      {report.groups.map((g) => (
        <section aria-labelledby={`group-${g.letter}`}>
          <h2 id={`group-${g.letter}`}>
            {g.letter} — {g.name}
          </h2>
          {g.controls
            .filter((c) => c.status !== 'not_built')
            .map((c) => (
              <ControlItem control={c} />
            ))}
          <NotBuilt controls={g.controls.filter((c) => c.status === 'not_built')} />
        </section>
      ))}
      <Policy settings={settings} />
    </>
  );
}

export function OperatorTrustPage(props: {
  pages: readonly OperatorPage[];
  report: TrustReport;
  changes: readonly StatusChange[];
  stray: readonly TrustCheck[];
  csrf: string;
  notice?: string;
}) {
  const checks = props.report.groups.flatMap((g) =>
    g.controls.flatMap((c) => c.checks.map((k) => ({ control: c.id, ...k }))),
  );
  return (
    <OperatorShell pages={props.pages} current="/operator/trust" heading="Trust checks">
      <Notice text={props.notice} />
      <p>
        The checks run every 15 minutes on each instance; the public page at <a href="/trust">/trust</a> shows their
        latest results. Run them now after changing something.
      </p>
      <ActionButton action="/operator/trust/run" csrf={props.csrf} label="Run the trust checks" variant="secondary">
        Run checks now
      </ActionButton>
      {props.stray.length > 0 && (
        <p role="alert">
          These checks name controls the catalogue does not list, so the public page cannot show them:{' '}
          {props.stray.map((c) => `${c.id} (${c.control})`).join(', ')}.
        </p>
      )}
      <h2>Checks</h2>
      <WideTable label="Checks" columns={['Control', 'Check', 'Status', 'Detail', 'Last ran', 'Last changed']}>
        {checks.map((c) => (
          <tr data-check={c.id}>
            <td>
              <a href={`/trust#${c.control}`}>{c.control}</a>
            </td>
            <td>{c.title}</td>
            <td>
              <strong>{word(c.status)}</strong>
            </td>
            <td>{c.detail}</td>
            <td>{at(c.checkedAt)}</td>
            <td>{at(c.changedAt)}</td>
          </tr>
        ))}
      </WideTable>
      <h2>Status changes</h2>
      {props.changes.length === 0 ? (
        <p>No check has changed its status yet.</p>
      ) : (
        <WideTable label="Status changes" columns={['When', 'Control', 'Check', 'From', 'To', 'Detail']}>
          {props.changes.map((c) => (
            <tr>
              <td>
                <Time at={c.changedAt} precision="seconds" />
              </td>
              <td>{c.control}</td>
              <td>{c.checkId}</td>
              <td>{c.previousStatus ? word(c.previousStatus) : 'first run'}</td>
              <td>
                <strong>{word(c.status)}</strong>
              </td>
              <td>{c.detail}</td>
            </tr>
          ))}
        </WideTable>
      )}
    </OperatorShell>
  );
}
