import { defineErrors } from '../platform/errors.js';

/** Rampart as an OpenID provider: clients, sign-in of products, signing keys. */
export const OIDC_ERRORS = defineErrors({
  invalid_client_metadata: {
    status: 400,
    message: 'The client registration is not valid.',
    description: 'registering a client with a bad id, name, redirect, post-logout or back-channel URI',
  },
  client_exists: {
    status: 409,
    message: 'A client with this id is already registered.',
    description: 'registering a client id that is taken',
  },
  client_not_found: {
    status: 404,
    message: 'There is no client with this id.',
    description: 'an operator action on a client that is not registered',
  },
  sign_in_request_expired: {
    status: 400,
    message: 'This sign-in request has expired or was already finished. Go back to the app and sign in again.',
    description: 'an OpenID sign-in page opened after its request expired (10 minutes) or finished',
  },
  invalid_client: {
    status: 401,
    message: 'The client could not be authenticated.',
    description:
      'introspection or revocation (RFC 7662, RFC 7009) of a JWT access token by an unknown client, with a wrong ' +
      'secret, by a public client introspecting, or authenticated another way than the client was registered for',
  },
  org_choice_invalid: {
    status: 400,
    message: 'Choose one of your organizations.',
    description: 'a product sign-in that names an organization the person is not a member of',
  },
});

export const oidcError = OIDC_ERRORS.fail;
