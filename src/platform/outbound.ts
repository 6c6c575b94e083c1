/**
 * T3, the rule for where Rampart may send a request: https, or plain http to this machine in dev
 * mode only. What an outbound target breaks of it (undefined: nothing); the live checks of the
 * features that call out (mail, upstream providers, back-channel logout) hold their targets to it.
 */
export function outboundProblem(
  target: string,
  opts: { dev: boolean; secureSchemes?: readonly string[] },
): string | undefined {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'is not an absolute URL';
  }
  const secure = opts.secureSchemes ?? ['https:'];
  if (secure.includes(url.protocol)) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (loopback && opts.dev) return undefined;
  return loopback ? 'is plain text to this machine outside dev mode' : 'is not encrypted (plain text on the network)';
}
