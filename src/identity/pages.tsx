import { Field, Form, FormMessage, type FormState } from '../platform/views/forms.js';
import { PasswordlessSignIn } from '../mfa/index.js';
import type { SignInOption } from './external.js';
import { MIN_PASSWORD_LENGTH } from './password-policy.js';

interface FormPage {
  csrf: string;
  state?: FormState;
}

const passwordHint =
  `At least ${MIN_PASSWORD_LENGTH} characters. A few unrelated words work well; no symbols ` + `required.`;

export function SignUpPage({ csrf, state }: FormPage) {
  return (
    <section class="narrow">
      <h1>Create your account</h1>
      <FormMessage state={state} />
      <Form action="/signup" csrf={csrf} label="Create account">
        <Field name="email" label="E-mail address" type="email" autocomplete="email" state={state} autofocus />
        <Field
          name="password"
          label="Password"
          type="password"
          autocomplete="new-password"
          hint={passwordHint}
          state={state}
        />
        <button type="submit">Create account</button>
      </Form>
      <p>
        Already have an account? <a href="/signin">Sign in</a>
      </p>
    </section>
  );
}

export function CheckEmailPage({ email, csrf, resent }: { email?: string; csrf: string; resent?: boolean }) {
  return (
    <section class="narrow">
      <h1>Check your e-mail</h1>
      <p>
        If {email ? <strong>{email}</strong> : 'that address'} can be used, a message with a confirmation link is on its
        way. The link works once and expires in 24 hours.
      </p>
      {resent && (
        <p class="notice" role="status">
          If a confirmation was due, we sent a new link.
        </p>
      )}
      <h2>No message?</h2>
      <p>Look in your spam folder, or ask for a new link.</p>
      <Form action="/verify-email/resend" csrf={csrf} label="Send the link again">
        <Field name="email" label="E-mail address" type="email" autocomplete="email" value={email} />
        <button type="submit" class="secondary">
          Send the link again
        </button>
      </Form>
    </section>
  );
}

/** A7: the other ways to sign in other features offer ("Continue with …"), one form button each. */
function OtherSignInOptions({
  csrf,
  next,
  options,
}: {
  csrf: string;
  next?: string;
  options: readonly SignInOption[];
}) {
  if (options.length === 0) return null;
  const query = next ? `?next=${encodeURIComponent(next)}` : '';
  return (
    <section aria-labelledby="other-sign-in-heading" class="other-sign-in">
      <h2 id="other-sign-in-heading">Or continue with</h2>
      {options.map((o) => (
        <Form action={`${o.action}${query}`} csrf={csrf} label={`Continue with ${o.label}`}>
          <button type="submit" class="secondary outline">
            Continue with {o.label}
          </button>
        </Form>
      ))}
    </section>
  );
}

export function SignInPage({
  csrf,
  state,
  next,
  options = [],
}: FormPage & { next?: string; options?: readonly SignInOption[] }) {
  return (
    <section class="narrow">
      <h1>Sign in</h1>
      <FormMessage state={state} />
      <Form action={next ? `/signin?next=${encodeURIComponent(next)}` : '/signin'} csrf={csrf} label="Sign in">
        <Field name="email" label="E-mail address" type="email" autocomplete="username" state={state} autofocus />
        <Field name="password" label="Password" type="password" autocomplete="current-password" state={state} />
        <button type="submit">Sign in</button>
      </Form>
      <p>
        <a href="/magic-link">E-mail me a sign-in link instead</a> ·{' '}
        <a href="/forgot-password">Forgot your password?</a>
      </p>
      <PasswordlessSignIn csrf={csrf} next={next} />
      <OtherSignInOptions csrf={csrf} next={next} options={options} />
      <p>
        New here? <a href="/signup">Create an account</a>
      </p>
    </section>
  );
}

/** Links in mail lead to a button, not straight to an action: mail scanners that open links must not use them up. */
export function ConfirmLinkPage({
  heading,
  text,
  action,
  token,
  csrf,
  button,
}: {
  heading: string;
  text: string;
  action: string;
  token: string;
  csrf: string;
  button: string;
}) {
  return (
    <section class="narrow">
      <h1>{heading}</h1>
      <p>{text}</p>
      <Form action={action} csrf={csrf} label={heading}>
        <input type="hidden" name="token" value={token} />
        <button type="submit">{button}</button>
      </Form>
    </section>
  );
}

export function LinkProblemPage({
  message,
  retryHref,
  retryText,
}: {
  message: string;
  retryHref: string;
  retryText: string;
}) {
  return (
    <section class="narrow">
      <h1>This link cannot be used</h1>
      <p role="alert">{message}</p>
      <p>
        <a href={retryHref} role="button">
          {retryText}
        </a>
      </p>
    </section>
  );
}

export function EmailVerifiedPage({ signedIn, changedTo }: { signedIn: boolean; changedTo?: string }) {
  return (
    <section class="narrow">
      <h1>{changedTo ? 'Address changed' : 'E-mail confirmed'}</h1>
      <p class="notice" role="status">
        {changedTo ? `Your account now signs in with ${changedTo}.` : 'Your address is confirmed.'}
      </p>
      <p>{signedIn ? <a href="/account/security">Go to your account</a> : <a href="/signin">Sign in</a>}</p>
    </section>
  );
}

export function RequestLinkPage({
  heading,
  intro,
  action,
  button,
  csrf,
  state,
  sent,
}: FormPage & { heading: string; intro: string; action: string; button: string; sent?: boolean }) {
  return (
    <section class="narrow">
      <h1>{heading}</h1>
      {sent ? (
        <p class="notice" role="status">
          If an account uses that address, a message is on its way. Check your inbox (and spam folder). If you asked in
          the last few minutes, no new message is sent: use the newest one you have.
        </p>
      ) : (
        <p>{intro}</p>
      )}
      <FormMessage state={state} />
      <Form action={action} csrf={csrf} label={heading}>
        <Field name="email" label="E-mail address" type="email" autocomplete="email" state={state} autofocus={!sent} />
        <button type="submit">{button}</button>
      </Form>
      <p>
        <a href="/signin">Back to sign in</a>
      </p>
    </section>
  );
}

export function ResetPasswordPage({ csrf, state, token }: FormPage & { token: string }) {
  return (
    <section class="narrow">
      <h1>Choose a new password</h1>
      <p>Setting it signs you out on every device, then signs you in here.</p>
      <FormMessage state={state} />
      <Form action="/reset-password" csrf={csrf} label="Choose a new password">
        <input type="hidden" name="token" value={token} />
        <Field
          name="password"
          label="New password"
          type="password"
          autocomplete="new-password"
          hint={passwordHint}
          state={state}
          autofocus
        />
        <button type="submit">Set password and sign in</button>
      </Form>
    </section>
  );
}
