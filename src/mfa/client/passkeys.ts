// Browser side of the passkey ceremonies (bundled by esbuild, served as /static/passkeys.js).
// Every passkey control is a form that names its ceremony in data-passkey; the server does the checking.
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';

type Ceremony = 'register' | 'sign-in' | 'second-factor' | 'step-up';

const ENDPOINTS: Record<Ceremony, { options: string; verify: string }> = {
  register: { options: '/api/v1/account/passkeys/options', verify: '/api/v1/account/passkeys' },
  'sign-in': { options: '/api/v1/signin/passkey/options', verify: '/api/v1/signin/passkey' },
  'second-factor': {
    options: '/api/v1/signin/second-factor/passkey/options',
    verify: '/api/v1/signin/second-factor/passkey',
  },
  'step-up': { options: '/api/v1/account/step-up/passkey/options', verify: '/api/v1/account/step-up/passkey' },
};

/** The `error.message` of an error answer, if it has one. */
function errorMessage(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || !('error' in json)) return undefined;
  const { error } = json;
  if (typeof error !== 'object' || error === null || !('message' in error)) return undefined;
  return typeof error.message === 'string' ? error.message : undefined;
}

/** POSTs JSON; the answer is taken to be `T`, the shape of that endpoint's response schema. */
async function post<T>(url: string, csrf: string, body: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify(body),
  });
  const json: unknown = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(errorMessage(json) ?? 'Something went wrong. Try again.');
  return json as T;
}

/** The server only writes local paths as `next`; checked again so that nothing else is ever followed. */
const localPath = (next: string | undefined) => (next && /^\/(?![/\\])/.test(next) ? next : undefined);

function showRecoveryCodes(csrf: string, next: string | undefined): void {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = next ? `/account/recovery-codes?next=${encodeURIComponent(next)}` : '/account/recovery-codes';
  const token = document.createElement('input');
  token.type = 'hidden';
  token.name = '_csrf';
  token.value = csrf;
  form.append(token);
  document.body.append(form);
  form.submit();
}

function showError(form: HTMLFormElement, message: string): void {
  const box = form.querySelector<HTMLElement>('[data-passkey-error]');
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
}

async function run(form: HTMLFormElement, ceremony: Ceremony): Promise<void> {
  const csrf = (form.elements.namedItem('_csrf') as HTMLInputElement | null)?.value ?? '';
  const next = localPath(form.dataset.next);
  const { options, verify } = ENDPOINTS[ceremony];
  if (ceremony === 'register') {
    const optionsJSON = await post<PublicKeyCredentialCreationOptionsJSON>(options, csrf, {});
    const name = (form.elements.namedItem('name') as HTMLInputElement | null)?.value.trim() ?? '';
    const response = await startRegistration({ optionsJSON });
    const added = await post<{ recoveryCodesDue?: boolean }>(verify, csrf, { name, response });
    // A first second factor: the server makes the recovery codes and shows them once, as a page.
    if (added.recoveryCodesDue) return showRecoveryCodes(csrf, next);
  } else {
    const optionsJSON = await post<PublicKeyCredentialRequestOptionsJSON>(options, csrf, {});
    const response = await startAuthentication({ optionsJSON });
    await post(verify, csrf, { response });
  }
  window.location.assign(next ?? '/account/security');
}

for (const form of document.querySelectorAll<HTMLFormElement>('form[data-passkey]')) {
  const ceremony = form.dataset.passkey as Ceremony;
  if (!browserSupportsWebAuthn()) {
    showError(form, 'This browser cannot use passkeys.');
    continue;
  }
  form.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    if (button) button.disabled = true;
    form.querySelector<HTMLElement>('[data-passkey-error]')?.setAttribute('hidden', '');
    run(form, ceremony)
      .catch((err: unknown) => {
        const aborted = err instanceof Error && (err.name === 'NotAllowedError' || err.name === 'AbortError');
        showError(
          form,
          aborted
            ? 'The passkey prompt was closed or timed out. Try again.'
            : err instanceof Error
              ? err.message
              : String(err),
        );
      })
      .finally(() => {
        if (button) button.disabled = false;
      });
  });
}
