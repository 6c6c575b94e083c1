import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/*
 * A WebAuthn authenticator in software: a real P-256 key pair, real authenticator data and real
 * ES256 signatures, so the server's checks (origin, RP ID hash, user verification, signature
 * counter) run against genuine ceremonies. Each knob lets a test make one thing wrong at a time.
 * The browser suite covers the same ceremonies through Chromium's virtual authenticator.
 */

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;
/** Backup eligible and backed up: a synced passkey. */
const FLAGS_SYNCED = 0x08 | 0x10;

type Cbor = Parameters<typeof isoCBOR.encode>[0];

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export interface Tamper {
  /** The page's origin as the browser would report it. */
  origin?: string;
  /** The RP ID whose hash the authenticator data carries. */
  rpId?: string;
  /** Leave out the user-verification flag (a tap without PIN or biometrics). */
  noUserVerification?: boolean;
  /** The signature counter to report (a cloned authenticator reports an old one). */
  counter?: number;
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private counter = 0;

  constructor(
    private readonly origin: string,
    private readonly rpId: string,
    /** A synced passkey (backup flags set) rather than a device-bound one. */
    private readonly synced = false,
  ) {
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  /** The answer to registration options (attestation "none"). */
  register(options: { challenge: string; user: { id: string } }, tamper: Tamper = {}) {
    const jwk = this.publicKey.export({ format: 'jwk' });
    const cose = new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, this.credentialId, Buffer.from(isoCBOR.encode(cose))]);
    const authData = this.authenticatorData(tamper, FLAG_AT, attested);
    const attestationObject = isoCBOR.encode(
      new Map<string, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return this.credential({
      clientDataJSON: this.clientData('webauthn.create', options.challenge, tamper),
      attestationObject: b64url(attestationObject),
      transports: ['internal'],
    });
  }

  /** The answer to authentication options: a signature over the authenticator data and the client data's hash. */
  assert(options: { challenge: string }, userHandle?: string, tamper: Tamper = {}) {
    this.counter += 1;
    const authData = this.authenticatorData(tamper, 0);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, tamper);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(Buffer.from(clientDataJSON, 'base64url'))]),
      this.privateKey,
    );
    return this.credential({
      clientDataJSON,
      authenticatorData: b64url(authData),
      signature: b64url(signature),
      userHandle,
    });
  }

  /** The PublicKeyCredential JSON a browser would send for this authenticator. */
  private credential<R>(response: R) {
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response,
    };
  }

  private authenticatorData(tamper: Tamper, extraFlags: number, attested: Buffer = Buffer.alloc(0)): Buffer {
    const flags = FLAG_UP | (tamper.noUserVerification ? 0 : FLAG_UV) | (this.synced ? FLAGS_SYNCED : 0) | extraFlags;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(tamper.counter ?? this.counter);
    return Buffer.concat([sha256(tamper.rpId ?? this.rpId), Buffer.from([flags]), count, attested]);
  }

  private clientData(type: string, challenge: string, tamper: Tamper): string {
    return b64url(
      Buffer.from(JSON.stringify({ type, challenge, origin: tamper.origin ?? this.origin, crossOrigin: false })),
    );
  }
}
