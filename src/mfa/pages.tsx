import type { ComponentChildren } from 'preact';
import { ActionButton, Field, Form, FormMessage, type FormState } from '../platform/views/forms.js';
import { Table, when } from '../platform/views/format.js';
import { safeNext } from '../sessions/index.js';
import type { FactorState } from './factors.js';
import type { Passkey } from './passkeys.js';
import type { SecurityScore } from './score.js';
import type { StepUpFactor } from './service.js';
import { qrPath } from './totp.js';

const withNext = (path: string, next?: string) => (next ? `${path}?next=${encodeURIComponent(next)}` : path);

/**
 * A passkey ceremony: a form the passkey script takes over. It stays hidden without JavaScript
 * (passkeys need the browser's API), and says so.
 */
export function PasskeyForm(props: {
  ceremony: 'register' | 'sign-in' | 'second-factor' | 'step-up';
  csrf: string;
  label: string;
  next?: string;
  children?: ComponentChildren;
}) {
  return (
    <>
      <form
        method="post"
        action="#"
        data-passkey={props.ceremony}
        data-next={safeNext(props.next)}
        aria-label={props.label}
        hidden
        novalidate
      >
        <input type="hidden" name="_csrf" value={props.csrf} />
        {props.children}
        <p role="alert" class="field-error" data-passkey-error hidden />
        <button type="submit">{props.label}</button>
      </form>
      <noscript>
        <p>Passkeys need JavaScript in this browser.</p>
      </noscript>
    </>
  );
}

export function PasswordlessSignIn({ csrf, next }: { csrf: string; next?: string }) {
  return (
    <section aria-labelledby="passkey-signin">
      <h2 id="passkey-signin">Or use a passkey</h2>
      <PasskeyForm ceremony="sign-in" csrf={csrf} label="Sign in with a passkey" next={next} />
    </section>
  );
}

function CodeForm({
  action,
  csrf,
  kind,
  state,
  label,
  hint,
  autofocus,
}: {
  action: string;
  csrf: string;
  kind: 'totp' | 'recovery_code';
  state?: FormState;
  label: string;
  hint: string;
  autofocus?: boolean;
}) {
  return (
    <Form action={action} csrf={csrf} label={label}>
      <input type="hidden" name="kind" value={kind} />
      <Field
        name="code"
        label={kind === 'totp' ? 'Code from your authenticator app' : 'Recovery code'}
        autocomplete="one-time-code"
        hint={hint}
        state={state}
        autofocus={autofocus}
      />
      <button type="submit">{label}</button>
    </Form>
  );
}

export function SecondFactorPage({
  csrf,
  factors,
  state,
  kind,
  next,
}: {
  csrf: string;
  factors: FactorState;
  state?: FormState;
  kind?: string;
  next?: string;
}) {
  const action = withNext('/signin/second-factor', next);
  return (
    <section class="narrow">
      <h1>Confirm it is you</h1>
      <p>Your password was right. Finish signing in with your second factor.</p>
      <FormMessage state={state} />
      {factors.passkeys > 0 && <PasskeyForm ceremony="second-factor" csrf={csrf} label="Use my passkey" next={next} />}
      {factors.totp && (
        <CodeForm
          action={action}
          csrf={csrf}
          kind="totp"
          label="Verify code"
          hint="Six digits; a new one every 30 seconds."
          state={kind !== 'recovery_code' ? state : undefined}
          autofocus
        />
      )}
      {factors.recoveryCodesLeft > 0 && (
        <details open={kind === 'recovery_code'}>
          <summary>Lost your device? Use a recovery code</summary>
          <CodeForm
            action={action}
            csrf={csrf}
            kind="recovery_code"
            label="Use recovery code"
            hint="One of the codes you saved when you set up two-factor sign-in. Each works once."
            state={kind === 'recovery_code' ? state : undefined}
          />
        </details>
      )}
      <ActionButton action="/signout" csrf={csrf} label="Cancel sign-in">
        Cancel
      </ActionButton>
    </section>
  );
}

/** Step-up with something typed: an app code or the password (only ever one of them is offered). */
function SecretForm(props: {
  action: string;
  csrf: string;
  factor: 'totp' | 'password';
  label: string;
  type?: string;
  hint?: string;
  state?: FormState;
}) {
  return (
    <Form
      action={props.action}
      csrf={props.csrf}
      label={`Confirm with ${props.factor === 'totp' ? 'a code' : 'your password'}`}
    >
      <input type="hidden" name="factor" value={props.factor} />
      <Field
        name="secret"
        label={props.label}
        type={props.type}
        autocomplete={props.factor === 'totp' ? 'one-time-code' : 'current-password'}
        hint={props.hint}
        state={props.state}
        autofocus
      />
      <button type="submit">Confirm</button>
    </Form>
  );
}

export function StepUpPage({
  csrf,
  factors,
  state,
  next,
}: {
  csrf: string;
  factors: StepUpFactor[];
  state?: FormState;
  next: string;
}) {
  return (
    <section class="narrow">
      <h1>Confirm it is you</h1>
      <p>This action is sensitive, so it needs a fresh sign-in (within the last 10 minutes).</p>
      <FormMessage state={state} />
      {factors.includes('passkey') && (
        <PasskeyForm ceremony="step-up" csrf={csrf} label="Confirm with my passkey" next={next} />
      )}
      {factors.includes('totp') && (
        <SecretForm
          action={withNext('/account/step-up', next)}
          csrf={csrf}
          factor="totp"
          label="Code from your authenticator app"
          hint="Six digits; a new one every 30 seconds."
          state={state}
        />
      )}
      {factors.includes('password') && (
        <SecretForm
          action={withNext('/account/step-up', next)}
          csrf={csrf}
          factor="password"
          label="Password"
          type="password"
          state={state}
        />
      )}
      <p>
        <a href="/account/security">Cancel</a>
      </p>
    </section>
  );
}

export function TotpSetupPage({
  csrf,
  secret,
  uri,
  state,
  next,
}: {
  csrf: string;
  secret: string;
  uri: string;
  state?: FormState;
  next?: string;
}) {
  const qr = qrPath(uri);
  return (
    <section class="narrow">
      <h1>Set up an authenticator app</h1>
      <ol>
        <li>Open your authenticator app (1Password, Google Authenticator, Aegis, …) and add an account.</li>
        <li>Scan this code, or type the key below.</li>
        <li>Enter the six-digit code the app shows.</li>
      </ol>
      <svg
        class="qr"
        viewBox={`-4 -4 ${qr.size + 8} ${qr.size + 8}`}
        width="220"
        height="220"
        role="img"
        aria-label="QR code of the authenticator key"
        shape-rendering="crispEdges"
      >
        <rect x="-4" y="-4" width={qr.size + 8} height={qr.size + 8} fill="#fff" />
        <path d={qr.d} fill="#000" />
      </svg>
      <p>
        Key for manual entry (time-based, 6 digits, 30 seconds):{' '}
        <code class="secret" data-totp-secret={secret}>
          {secret.replace(/(.{4})/g, '$1 ').trim()}
        </code>
      </p>
      <FormMessage state={state} />
      <Form action={withNext('/account/totp/setup', next)} csrf={csrf} label="Confirm the authenticator app">
        <Field
          name="code"
          label="Code from the app"
          autocomplete="one-time-code"
          hint="Six digits."
          state={state}
          autofocus
        />
        <button type="submit">Turn on</button>
      </Form>
      <p>
        <a href="/account/security">Cancel</a>
      </p>
    </section>
  );
}

/** `first`: two-factor sign-in was just turned on; `replaced`: unused codes of the old set that stopped working. */
export function RecoveryCodesPage({
  codes,
  first,
  replaced,
  next = '/account/security',
}: {
  codes: string[];
  first?: boolean;
  replaced: number;
  next?: string;
}) {
  return (
    <section class="narrow">
      <h1>{first ? 'Two-factor sign-in is on' : 'Your recovery codes'}</h1>
      <p>
        Save these recovery codes somewhere safe (a password manager, or printed). Each one signs you in once if you
        lose your device. <strong>They are shown only now.</strong>
        {replaced > 0 && ' Your previous codes no longer work.'}
      </p>
      <ul class="recovery-codes" aria-label="Recovery codes">
        {codes.map((c) => (
          <li>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <p>
        <a href={next} role="button">
          I saved them
        </a>
      </p>
    </section>
  );
}

export function MfaRequiredPage({
  csrf,
  hasFactor,
  next,
  orgs,
}: {
  csrf: string;
  hasFactor: boolean;
  next: string;
  orgs: string[];
}) {
  const who = orgs.length > 0 ? orgs.map((name) => `“${name}”`).join(', ') : 'An organization you belong to';
  return (
    <section class="narrow">
      <h1>Two-factor sign-in required</h1>
      <p>
        {who} {orgs.length > 1 ? 'require' : 'requires'} two-factor authentication before you can reach{' '}
        {orgs.length > 1 ? 'them' : 'it'}.
      </p>
      {hasFactor ? (
        <>
          <p>You have a second factor, but this session did not use it. Confirm with it to continue.</p>
          <p>
            <a href={withNext('/account/step-up', next)} role="button">
              Confirm with my second factor
            </a>
          </p>
        </>
      ) : (
        <>
          <p>Set up a second factor first; it takes a minute. You will then continue to where you were going.</p>
          <p>
            <a href={withNext('/account/totp/setup', next)} role="button">
              Set up an authenticator app
            </a>
          </p>
          <h2>Or add a passkey</h2>
          <PasskeyForm ceremony="register" csrf={csrf} label="Add a passkey" next={next}>
            <Field
              name="name"
              label="Name this passkey"
              hint="So you can tell your devices apart, e.g. “MacBook Touch ID”."
              autocomplete="off"
            />
          </PasskeyForm>
        </>
      )}
    </section>
  );
}

const SCORE_METER = { min: 0, max: 100, low: 80, high: 95, optimum: 100 };

export function ScoreSection({ score }: { score: SecurityScore }) {
  const points = score.score;
  return (
    <section aria-labelledby="score-heading">
      <h2 id="score-heading">Security score</h2>
      <p class="score">
        <meter {...SCORE_METER} value={points} aria-labelledby="score-heading" /> <strong>{points}</strong> out of 100
      </p>
      {score.steps.length === 0 ? (
        <p>Nothing left to do: two factors and a recent password.</p>
      ) : (
        <ul>
          {score.steps.map((s) => (
            <li>
              <a href={s.href}>{s.text}</a> (+{s.points})
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function TwoFactorSection({
  csrf,
  factors,
  passkeys,
  passkeyState,
}: {
  csrf: string;
  factors: FactorState;
  passkeys: Passkey[];
  passkeyState?: FormState;
}) {
  const twoFactor = factors.totp || factors.passkeys > 0;
  return (
    <>
      <section aria-labelledby="two-factor">
        <h2 id="two-factor">Two-factor sign-in</h2>
        <h3>Authenticator app</h3>
        {factors.totp ? (
          <>
            <p>On: signing in with a password also asks for a code from your app.</p>
            <ActionButton
              action="/account/totp/disable"
              csrf={csrf}
              label="Turn off the authenticator app"
              confirm="Turn off codes from your authenticator app?"
            >
              Turn off
            </ActionButton>
          </>
        ) : (
          <p>
            Off. <a href="/account/totp/setup">Set up an authenticator app</a>
          </p>
        )}
        <h3>Recovery codes</h3>
        {twoFactor ? (
          <>
            {factors.recoveryCodesLeft > 0 ? (
              <p>{factors.recoveryCodesLeft} of 10 unused. Each signs you in once if you lose your device.</p>
            ) : (
              <p class="field-error">
                No unused recovery codes: make a set now, so that losing your device does not lock you out.
              </p>
            )}
            <ActionButton
              action="/account/recovery-codes"
              csrf={csrf}
              label="Make new recovery codes"
              confirm="Make new recovery codes? The old ones stop working."
              variant="secondary"
            >
              Make new codes
            </ActionButton>
          </>
        ) : (
          <p>You get ten when you set up a second factor.</p>
        )}
      </section>

      <section aria-labelledby="passkeys">
        <h2 id="passkeys">Passkeys</h2>
        <p>Sign in with your fingerprint, face or device PIN instead of a password. Add one per device.</p>
        {passkeys.length === 0 ? (
          <p>No passkeys yet.</p>
        ) : (
          <Table columns={['Name', 'Added', 'Last used']} hiddenColumn="Actions">
            {passkeys.map((p) => (
              <tr>
                <td>
                  <Form action={`/account/passkeys/${p.id}/rename`} csrf={csrf} label={`Rename passkey ${p.name}`}>
                    <fieldset>
                      <input
                        name="name"
                        aria-label={`Name of passkey ${p.name}`}
                        value={p.name}
                        maxLength={60}
                        required
                      />
                      <button type="submit" class="secondary outline">
                        Rename
                      </button>
                    </fieldset>
                  </Form>
                </td>
                <td>{when(p.createdAt)}</td>
                <td>{p.lastUsedAt ? when(p.lastUsedAt) : 'never'}</td>
                <td>
                  <ActionButton
                    action={`/account/passkeys/${p.id}/delete`}
                    csrf={csrf}
                    label={`Remove passkey ${p.name}`}
                    confirm={`Remove the passkey “${p.name}”?`}
                  >
                    Remove
                  </ActionButton>
                </td>
              </tr>
            ))}
          </Table>
        )}
        <FormMessage state={passkeyState} />
        <PasskeyForm ceremony="register" csrf={csrf} label="Add a passkey" next="/account/security?done=passkey">
          <Field
            name="name"
            label="Name this passkey"
            hint="So you can tell your devices apart, e.g. “MacBook Touch ID”."
            autocomplete="off"
            state={passkeyState}
          />
        </PasskeyForm>
      </section>
    </>
  );
}
