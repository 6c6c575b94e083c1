type Library = typeof import('@simplewebauthn/server');

let library: Promise<Library> | undefined;

/** @simplewebauthn/server and its ASN.1 stack cost ~10 MB and start-up time; most processes never see a passkey. */
export function webauthnLibrary(): Promise<Library> {
  library ??= import('@simplewebauthn/server');
  return library;
}
