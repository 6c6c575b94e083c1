import { createHash, verify } from 'node:crypto';

/*
 * RFC 6376 verification with relaxed/relaxed canonicalization (the only one nodemailer produces):
 * the trust page's X5 check and the SMTP tests hold a signed message to it.
 */

/** The header block, unfolded, and the body of a raw message. */
export function splitMessage(raw: string): { headers: { name: string; line: string }[]; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const headers: { name: string; line: string }[] = [];
  for (const line of raw.slice(0, end).split('\r\n')) {
    const last = headers[headers.length - 1];
    if (/^[ \t]/.test(line) && last) last.line += `\r\n${line}`;
    else headers.push({ name: line.slice(0, line.indexOf(':')).trim().toLowerCase(), line });
  }
  return { headers, body: raw.slice(end + 4) };
}

const relaxedHeader = (line: string) => {
  const i = line.indexOf(':');
  const value = line
    .slice(i + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${line.slice(0, i).trim().toLowerCase()}:${value}`;
};

/** The domain of a message's valid DKIM signature, or the reason there is none. */
export function verifyDkim(
  raw: string,
  publicKeyPem: string,
): { ok: true; domain: string } | { ok: false; reason: string } {
  const { headers, body } = splitMessage(raw);
  const sig = headers.find((h) => h.name === 'dkim-signature');
  if (!sig) return { ok: false, reason: 'the message has no DKIM-Signature' };
  const tags = new Map(
    sig.line
      .slice(sig.line.indexOf(':') + 1)
      .split(';')
      .map((t) => {
        const [k, ...v] = t.split('=');
        return [k!.trim(), v.join('=').replace(/\s+/g, '')] as const;
      }),
  );
  if (tags.get('a') !== 'rsa-sha256' || tags.get('c') !== 'relaxed/relaxed')
    return { ok: false, reason: `unexpected DKIM algorithm ${tags.get('a')} ${tags.get('c')}` };
  const lines = body.split('\r\n').map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const canonicalBody = lines.length ? `${lines.join('\r\n')}\r\n` : '';
  if (createHash('sha256').update(canonicalBody).digest('base64') !== tags.get('bh'))
    return { ok: false, reason: 'the DKIM body hash does not match' };
  const unused = headers.filter((h) => h !== sig);
  let signed = '';
  for (const name of (tags.get('h') ?? '').toLowerCase().split(':')) {
    const index = unused.map((h) => h.name).lastIndexOf(name);
    if (index < 0) continue;
    signed += `${relaxedHeader(unused[index]!.line)}\r\n`;
    unused.splice(index, 1);
  }
  signed += relaxedHeader(sig.line.replace(/(\bb=)[^;]*/, '$1'));
  const good = verify('sha256', Buffer.from(signed), publicKeyPem, Buffer.from(tags.get('b') ?? '', 'base64'));
  return good ? { ok: true, domain: tags.get('d') ?? '' } : { ok: false, reason: 'the DKIM signature does not verify' };
}
