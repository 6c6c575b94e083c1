import { isIP } from 'node:net';

/**
 * T3, where an outbound connection may land: the address a host name resolved to (or a literal in the
 * URL) is judged before connecting, so a customer's key cannot be sent to this machine, the private
 * network or a cloud metadata service. IPv6 forms that carry an IPv4 address are judged by it.
 */

interface Range {
  bits: bigint;
  prefix: number;
  why: string;
}

const v4 = (cidr: string, why: string): Range => {
  const [address, prefix] = cidr.split('/') as [string, string];
  return { bits: v4Bits(address)!, prefix: Number(prefix), why };
};

const v6 = (cidr: string, why: string): Range => {
  const [address, prefix] = cidr.split('/') as [string, string];
  return { bits: v6Bits(address)!, prefix: Number(prefix), why };
};

const LOOPBACK_V4 = v4('127.0.0.0/8', 'loopback');

const BLOCKED_V4: readonly Range[] = [
  v4('0.0.0.0/8', 'this network'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'shared address space (carrier-grade NAT)'),
  v4('169.254.169.254/32', 'the cloud metadata service'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'IETF protocol assignments'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

const LOOPBACK_V6 = v6('::1/128', 'loopback');

const BLOCKED_V6: readonly Range[] = [
  v6('::/128', 'unspecified'),
  v6('fd00:ec2::254/128', 'the cloud metadata service'),
  v6('fc00::/7', 'unique local (private)'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'site-local (private)'),
  v6('ff00::/8', 'multicast'),
  v6('2001:db8::/32', 'documentation'),
  v6('100::/64', 'discard-only'),
  // Teredo hides its IPv4 address (obfuscated); nothing Rampart calls is reached through it.
  v6('2001::/32', 'Teredo tunnelling'),
];

/** IPv6 prefixes whose low 32 bits (or, for 6to4, bits 16..48) are an IPv4 address, which decides. */
const EMBEDS_V4: readonly { range: Range; shift: bigint }[] = [
  { range: v6('::ffff:0:0/96', 'IPv4-mapped'), shift: 0n },
  { range: v6('::ffff:0:0:0/96', 'IPv4-translated'), shift: 0n },
  { range: v6('64:ff9b::/96', 'NAT64'), shift: 0n },
  { range: v6('64:ff9b:1::/48', 'local NAT64'), shift: 0n },
  { range: v6('::/96', 'IPv4-compatible'), shift: 0n },
  { range: v6('2002::/16', '6to4'), shift: 80n },
];

const LOOPBACK = 'loopback (allowed in dev mode only)';

/** Why `address` may not be connected to (undefined: it may). In dev mode loopback is allowed, nothing else. */
export function addressProblem(address: string, opts: { dev: boolean }): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const kind = isIP(bare);
  const why = kind === 4 ? v4Why(v4Bits(bare)!, opts.dev) : kind === 6 ? v6Why(v6Bits(bare)!, opts.dev) : 'not an IP';
  return why === undefined ? undefined : why === 'not an IP' ? 'is not an IP address' : `${bare} is ${why}`;
}

function v4Why(bits: bigint, dev: boolean): string | undefined {
  if (inRange(bits, LOOPBACK_V4, 32)) return dev ? undefined : LOOPBACK;
  return BLOCKED_V4.find((r) => inRange(bits, r, 32))?.why;
}

function v6Why(bits: bigint, dev: boolean): string | undefined {
  if (inRange(bits, LOOPBACK_V6, 128)) return dev ? undefined : LOOPBACK;
  const hit = BLOCKED_V6.find((r) => inRange(bits, r, 128));
  if (hit) return hit.why;
  const embeds = EMBEDS_V4.find((e) => inRange(bits, e.range, 128));
  if (!embeds) return undefined;
  const inner = (bits >> embeds.shift) & 0xffffffffn;
  const why = v4Why(inner, dev);
  return why === undefined ? undefined : `${embeds.range.why}, carrying ${v4Text(inner)}, which is ${why}`;
}

function inRange(bits: bigint, range: Range, width: number): boolean {
  const drop = BigInt(width - range.prefix);
  return bits >> drop === range.bits >> drop;
}

function v4Bits(address: string): bigint | undefined {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n);
}

const v4Text = (bits: bigint) => [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 0xffn)).join('.');

/** The 128 bits of an IPv6 address that node:net accepted (with '::' and an optional dotted IPv4 tail). */
function v6Bits(address: string): bigint | undefined {
  let text = address.toLowerCase();
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const n = v4Bits(tail[1]!);
    if (n === undefined) return undefined;
    text = `${text.slice(0, tail.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/** Whether `address` is this machine (127/8, ::1, or an IPv4-mapped 127/8): where plain http may go in dev. */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const kind = isIP(bare);
  if (kind === 4) return inRange(v4Bits(bare)!, LOOPBACK_V4, 32);
  if (kind !== 6) return false;
  const bits = v6Bits(bare)!;
  if (inRange(bits, LOOPBACK_V6, 128)) return true;
  return inRange(bits, EMBEDS_V4[0]!.range, 128) && inRange(bits & 0xffffffffn, LOOPBACK_V4, 32);
}
