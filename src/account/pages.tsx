import Bowser from 'bowser';
import type { StoredEvent } from '../platform/audit/events.js';
import { ActionButton, Field, Form, FormMessage, type FormState } from '../platform/views/forms.js';
import { Notice, Table, when } from '../platform/views/format.js';
import type { FactorState } from '../mfa/index.js';
import { ScoreSection, TwoFactorSection } from '../mfa/index.js';
import type { Passkey } from '../mfa/index.js';
import type { SecurityScore } from '../mfa/index.js';
import type { Session } from '../sessions/index.js';
import { LinkedAccountsSection, type LinkedIdentity } from '../external-signin/index.js';
import { signInHistoryLabels } from './sessions.js';

/**
 * Device labels by User-Agent, least recently used first: a session's User-Agent is parsed once,
 * not on every request that shows the session (`GET /api/v1/me`). Bounded in entries and in the
 * length of the strings it keeps, whatever clients send.
 */
const DEVICE_LABELS = new Map<string, string>();
const MAX_LABELS = 256;
const MAX_CACHED_AGENT = 1024;

export function describeDevice(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device';
  const known = DEVICE_LABELS.get(userAgent);
  if (known !== undefined) {
    DEVICE_LABELS.delete(userAgent);
    DEVICE_LABELS.set(userAgent, known);
    return known;
  }
  const label = parseDevice(userAgent);
  if (userAgent.length <= MAX_CACHED_AGENT) {
    if (DEVICE_LABELS.size >= MAX_LABELS) DEVICE_LABELS.delete(DEVICE_LABELS.keys().next().value as string);
    DEVICE_LABELS.set(userAgent, label);
  }
  return label;
}

function parseDevice(userAgent: string): string {
  const ua = Bowser.parse(userAgent);
  const browser = [ua.browser.name, ua.browser.version?.split('.')[0]].filter(Boolean).join(' ');
  const os = [ua.os.name, ua.os.versionName ?? ua.os.version].filter(Boolean).join(' ');
  return [browser || 'Unknown browser', os].filter(Boolean).join(' on ');
}

const METHOD_LABELS: Record<string, string> = {
  password: 'password',
  magic_link: 'e-mailed link',
  password_reset: 'password reset link',
  passkey: 'passkey',
  external: 'another provider',
};
const FACTOR_LABELS: Record<string, string> = { totp: 'app code', recovery_code: 'recovery code', passkey: 'passkey' };

export interface SecurityPageProps {
  csrf: string;
  email: string;
  current: Session;
  sessions: Session[];
  history: StoredEvent[];
  factors: FactorState;
  passkeys: Passkey[];
  linked: readonly LinkedIdentity[];
  linkable: ReadonlyArray<{ id: string; name: string }>;
  score: SecurityScore;
  passwordState?: FormState;
  emailState?: FormState;
  notice?: string;
}

export function SecurityPage({
  csrf,
  email,
  current,
  sessions,
  history,
  factors,
  passkeys,
  linked,
  linkable,
  score,
  passwordState,
  emailState,
  notice,
}: SecurityPageProps) {
  const others = sessions.filter((s) => s.id !== current.id);
  const historyLabels = signInHistoryLabels();
  return (
    <>
      <hgroup>
        <h1>Account security</h1>
        <p>Signed in as {email}</p>
      </hgroup>
      <Notice text={notice} />

      <ScoreSection score={score} />
      <TwoFactorSection csrf={csrf} factors={factors} passkeys={passkeys} />
      <LinkedAccountsSection csrf={csrf} linked={linked} linkable={linkable} />

      <section aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">Where you are signed in</h2>
        <Table columns={['Device', 'IP address', 'Signed in', 'Last seen']} hiddenColumn="Action">
          {sessions.map((s) => (
            <tr>
              <td>
                {describeDevice(s.userAgent)}
                {s.id === current.id && <span class="this-device"> (this device)</span>}
              </td>
              <td>{s.ip ?? 'unknown'}</td>
              <td>
                {when(s.createdAt)} with {METHOD_LABELS[s.method] ?? s.method}
              </td>
              <td>{when(s.lastSeenAt)}</td>
              <td>
                {s.id !== current.id && (
                  <ActionButton
                    action={`/account/sessions/${s.id}/revoke`}
                    csrf={csrf}
                    label={`Revoke session on ${describeDevice(s.userAgent)}`}
                  >
                    Revoke
                  </ActionButton>
                )}
              </td>
            </tr>
          ))}
        </Table>
        {others.length > 0 && (
          <ActionButton
            action="/account/sessions/revoke-others"
            csrf={csrf}
            label="Sign out all other sessions"
            confirm="Sign out every other device?"
            variant="secondary"
          >
            Sign out all other sessions ({others.length})
          </ActionButton>
        )}
        <ActionButton
          action="/signout-everywhere"
          csrf={csrf}
          label="Sign out everywhere"
          confirm="Sign out on every device, this one included?"
          variant="contrast outline"
        >
          Sign out everywhere
        </ActionButton>
      </section>

      <section id="email" aria-labelledby="email-heading">
        <h2 id="email-heading">Sign-in address</h2>
        <p>
          Your account signs in with <strong>{email}</strong>. To change it, we e-mail a link to the new address; the
          change happens when you open it, and this address is told.
        </p>
        <FormMessage state={emailState} />
        <Form action="/account/email" csrf={csrf} label="Change sign-in address">
          <Field name="email" label="New address" type="email" autocomplete="email" state={emailState} />
          <button type="submit">Send the link</button>
        </Form>
      </section>

      <section id="password" aria-labelledby="password-heading">
        <h2 id="password-heading">Change password</h2>
        <p>Changing it signs out every other session.</p>
        <FormMessage state={passwordState} />
        <Form action="/account/password" csrf={csrf} label="Change password">
          <Field
            name="currentPassword"
            label="Current password"
            type="password"
            autocomplete="current-password"
            state={passwordState}
          />
          <Field
            name="newPassword"
            label="New password"
            type="password"
            autocomplete="new-password"
            hint="At least 12 characters. A few unrelated words work well."
            state={passwordState}
          />
          <button type="submit">Change password</button>
        </Form>
      </section>

      <section aria-labelledby="history-heading">
        <h2 id="history-heading">Sign-in activity, last 30 days</h2>
        {history.length === 0 ? (
          <p>No activity.</p>
        ) : (
          <Table columns={['When', 'What', 'IP address', 'Device']}>
            {history.map((e) => (
              <tr>
                <td>{when(e.occurredAt)}</td>
                <td>
                  {historyLabels.get(e.action) ?? e.action}
                  {typeof e.payload.method === 'string'
                    ? ` (${METHOD_LABELS[e.payload.method] ?? e.payload.method}`
                    : ''}
                  {typeof e.payload.secondFactor === 'string'
                    ? ` and ${FACTOR_LABELS[e.payload.secondFactor] ?? e.payload.secondFactor}`
                    : ''}
                  {typeof e.payload.method === 'string' ? ')' : ''}
                </td>
                <td>{e.ip ?? 'unknown'}</td>
                <td>{describeDevice(e.userAgent)}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </>
  );
}
