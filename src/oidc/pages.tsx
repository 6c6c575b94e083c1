import { Form, type FormState, FormMessage } from '../platform/views/forms.js';
import { MessagePage } from '../platform/views/layout.js';

/** What a product is asking to learn, in words (the scopes it asked for). */
const SCOPE_WORDS: Record<string, string> = {
  email: 'your e-mail address',
  org: 'the organization you choose, your role in it and what that role allows',
  connections: "to send requests to your organization's connected services in your name (never seeing their keys)",
  offline_access: 'to stay signed in while you are away (until you sign out or your session ends)',
};

export interface OrgChoice {
  id: string;
  name: string;
  role: string;
}

/** Sign-in to a product: which organization (when there is a choice), and consent for third-party products. */
export function AuthorizePage(props: {
  action: string;
  csrf: string;
  clientName: string;
  firstParty: boolean;
  scopes: string[];
  orgs: OrgChoice[];
  chosenOrg?: string;
  state?: FormState;
}) {
  const shares = props.scopes.map((s) => SCOPE_WORDS[s]).filter((w): w is string => w !== undefined);
  const error = props.state?.errors?.find((e) => e.field === 'org_id');
  return (
    <section class="narrow">
      <h1>Sign in to {props.clientName}</h1>
      <FormMessage state={props.state} />
      {!props.firstParty && (
        <>
          <p>
            <strong>{props.clientName}</strong> is not run by this service. It asks to know who you are
            {shares.length > 0 ? ', and:' : '.'}
          </p>
          {shares.length > 0 && (
            <ul>
              {shares.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
        </>
      )}
      <Form action={props.action} csrf={props.csrf} label={`Sign in to ${props.clientName}`}>
        {props.orgs.length > 1 && (
          <fieldset aria-invalid={error ? 'true' : undefined} aria-describedby={error ? 'org_id-error' : undefined}>
            <legend>Which organization are you signing in for?</legend>
            {props.orgs.map((o) => (
              <label key={o.id}>
                <input
                  type="radio"
                  name="org_id"
                  value={o.id}
                  checked={props.chosenOrg === o.id}
                  required
                  aria-invalid={error ? 'true' : undefined}
                />
                {o.name} — {o.role}
              </label>
            ))}
            {error && (
              <small id="org_id-error" class="field-error">
                {error.message}
              </small>
            )}
          </fieldset>
        )}
        {props.orgs.length === 1 && <input type="hidden" name="org_id" value={props.orgs[0]!.id} />}
        <div class="grid">
          <button type="submit" name="decision" value="allow">
            {props.firstParty ? 'Continue' : 'Allow'}
          </button>
          <button type="submit" name="decision" value="deny" class="secondary outline">
            Cancel
          </button>
        </div>
      </Form>
    </section>
  );
}

/** Signed in: the browser moves on by itself (Refresh header); the link is there for anyone it leaves here. */
export function ContinuePage({ href, clientName }: { href: string; clientName: string }) {
  return (
    <MessagePage heading={`Continuing to ${clientName}`}>
      <p>
        <a href={href} role="button">
          Continue to {clientName}
        </a>
      </p>
    </MessagePage>
  );
}

/** The product (or the organization) asks for a second factor this session has not used. */
export function SecondFactorNeededPage(props: {
  clientName: string;
  stepUp: string;
  setUp?: string;
  /** The organization whose rule asks for it; otherwise the product asked (acr_values). */
  requiredBy?: string;
}) {
  return (
    <section class="narrow">
      <h1>Confirm with your second factor</h1>
      {props.requiredBy ? (
        <p>
          {props.requiredBy} requires two-factor sign-in. To continue to <strong>{props.clientName}</strong>, confirm it
          is you.
        </p>
      ) : (
        <p>
          <strong>{props.clientName}</strong> asks you to confirm it is you with your second factor.
        </p>
      )}
      {props.setUp ? (
        <p>
          You have no second factor yet.{' '}
          <a href={props.setUp} role="button">
            Set up an authenticator app
          </a>
        </p>
      ) : (
        <p>
          <a href={props.stepUp} role="button">
            Confirm with my second factor
          </a>
        </p>
      )}
    </section>
  );
}

/** An error the provider answers in the browser (a bad redirect URI, an unknown client). */
export function ProviderErrorPage({ error, description }: { error: string; description?: string }) {
  return (
    <MessagePage heading="This sign-in cannot continue">
      <p>{description ?? 'The request from the app was not valid.'}</p>
      <p>
        <small>
          Error code: <code>{error}</code>
        </small>
      </p>
      <p>Go back to the app and try again. If it keeps happening, tell the app's support.</p>
    </MessagePage>
  );
}

/** RP-initiated logout: the provider's form, rebuilt from its action and anti-forgery value. */
export function LogoutConfirmPage({ action, xsrf, clientName }: { action: string; xsrf: string; clientName?: string }) {
  return (
    <section class="narrow">
      <h1>Sign out{clientName ? ` of ${clientName}` : ''}?</h1>
      <form method="post" action={action} aria-label="Sign out">
        <input type="hidden" name="xsrf" value={xsrf} />
        <div class="grid">
          <button type="submit" name="logout" value="yes">
            Yes, sign me out
          </button>
          <button type="submit" class="secondary outline">
            No, stay signed in
          </button>
        </div>
      </form>
    </section>
  );
}

export function SignedOutPage({ clientName }: { clientName?: string }) {
  return (
    <MessagePage heading="You are signed out">
      <p>You have signed out{clientName ? ` of ${clientName}` : ''}.</p>
    </MessagePage>
  );
}
