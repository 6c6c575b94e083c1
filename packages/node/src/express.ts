import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { BackchannelLogoutBody, BackchannelLogoutHandler } from './backchannel-logout.js';
import type { RampartAuthError } from './errors.js';
import type { RampartIdentity } from './identity.js';
import {
  type AuthOutcome,
  authenticate,
  authFailure,
  bearerToken,
  errorAnswer,
  permissionFailure,
  secondFactorFailure,
} from './http-auth.js';
import type { RevocationChecker } from './revocations.js';
import type { RampartVerifier } from './verifier.js';

declare global {
  namespace Express {
    interface Request {
      /** The verified caller, or null (no token, or a refused one: see the guards). */
      rampart?: RampartIdentity | null;
    }
  }
}

export interface RampartExpressOptions {
  verifier: RampartVerifier;
  /** Where the token is; default the `Authorization: Bearer` header. Return null for none. */
  getToken?(req: Request): string | null | undefined | Promise<string | null | undefined>;
  /** Consulted after a token verifies, e.g. a SessionRevocations fed by back-channel logout. */
  revocations?: RevocationChecker;
}

const outcomes = new WeakMap<Request, AuthOutcome>();

function send(res: Response, error: RampartAuthError): void {
  const answer = errorAnswer(error);
  res.status(answer.status).set(answer.headers).json(answer.body);
}

/**
 * Express middleware: verifies the request's token and puts the caller on `req.rampart` (null when
 * there is none or it was refused). It never refuses by itself: use the guards on routes.
 */
export function rampartExpress(options: RampartExpressOptions): RequestHandler {
  if (!options?.verifier) throw new TypeError('rampartExpress needs a verifier');
  const getToken = options.getToken ?? ((req: Request) => bearerToken(req.headers.authorization));
  return (req, _res, next) => {
    void (async () => {
      const outcome = await authenticate(options, await getToken(req));
      outcomes.set(req, outcome);
      req.rampart = outcome.identity;
    })().then(() => next(), next);
  };
}

function guard(check: (identity: RampartIdentity, req: Request, res: Response) => boolean): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let error: RampartAuthError | null;
    try {
      error = authFailure(outcomes.get(req));
    } catch (err) {
      next(err);
      return;
    }
    if (error) send(res, error);
    else if (check(req.rampart!, req, res)) next();
  };
}

/** 401 unless the request carries a valid, unrevoked token (503 when the keys are unreachable). */
export function requireAuth(): RequestHandler {
  return guard(() => true);
}

/** As requireAuth, then 403 `insufficient_permission` unless every permission is held. */
export function requirePermission(...permissions: string[]): RequestHandler {
  return guard((identity, _req, res) => {
    const error = permissionFailure(identity, permissions);
    if (error) send(res, error);
    return !error;
  });
}

export interface ExpressSecondFactorOptions {
  /** For browser apps: where to send a one-factor user instead of the RFC 9470 401 challenge. */
  redirectTo?(req: Request): string;
}

/** As requireAuth, then a step-up challenge (or a redirect) unless a second factor was used. */
export function requireSecondFactor(options: ExpressSecondFactorOptions = {}): RequestHandler {
  return guard((identity, req, res) => {
    const error = secondFactorFailure(identity);
    if (!error) return true;
    if (options.redirectTo) res.set('cache-control', 'no-store').redirect(303, options.redirectTo(req));
    else send(res, error);
    return false;
  });
}

const MAX_BODY = 64 * 1024;

async function rawBody(req: Request): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Express handler for the back-channel logout URI. Uses `req.body` when a body parser already
 * ran (`express.urlencoded()`), otherwise reads the form body itself.
 */
export function backchannelLogoutHandler(handler: BackchannelLogoutHandler): RequestHandler {
  return (req, res, next) => {
    void (async () => {
      let body: BackchannelLogoutBody;
      if (req.body !== undefined) body = req.body as BackchannelLogoutBody;
      else if (!req.is('application/x-www-form-urlencoded')) body = undefined;
      else {
        try {
          body = await rawBody(req);
        } catch {
          body = undefined;
        }
      }
      const answer = await handler(body);
      res.status(answer.status).set(answer.headers);
      if (answer.body === '') res.end();
      else res.json(answer.body);
    })().catch(next);
  };
}
