export type OutboundErrorCode =
  | 'invalid_url'
  | 'insecure_scheme'
  | 'host_not_allowed'
  | 'blocked_address'
  | 'redirect_refused'
  | 'too_many_redirects'
  | 'response_too_large'
  | 'timeout'
  | 'tls_failed'
  | 'dns_failed'
  | 'connect_failed';

/**
 * The one error an outbound fetch throws: the host and the reason, nothing else of the request (no URL, no
 * cause: a key may sit in the query string, a header or the body).
 */
export class OutboundError extends Error {
  readonly code: OutboundErrorCode;
  readonly host: string | undefined;

  constructor(code: OutboundErrorCode, host: string | undefined, reason: string) {
    super(host === undefined ? `outbound request refused: ${reason}` : `outbound request to ${host}: ${reason}`);
    this.name = 'OutboundError';
    this.code = code;
    this.host = host;
  }
}
