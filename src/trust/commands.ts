import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CommandWrap } from '../feature.js';
import { OperatorError } from '../platform/errors.js';
import { verifySignedReport } from './signing.js';

/*
 * `rampart trust verify <url-or-file> [--key <url-or-file>]`: checks a trust report against the key
 * its instance publishes (or one given), so anyone can see the report was not changed on the way.
 */

const isUrl = (s: string) => /^https?:\/\//i.test(s);

function loopback(url: URL): boolean {
  const h = url.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** T3: https with certificate validation (fetch's default); plain http only to loopback. */
export async function fetchText(target: string, fetcher: typeof fetch = fetch): Promise<string> {
  const url = new URL(target);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback(url)))
    throw new OperatorError(`${target}: only https:// addresses (or http:// on this machine) are fetched`);
  let res: Response;
  try {
    res = await fetcher(url, { redirect: 'error', signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new OperatorError(`cannot fetch ${target}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new OperatorError(`${target} answered ${res.status}`);
  return res.text();
}

async function load(source: string): Promise<string> {
  if (isUrl(source)) return fetchText(source);
  try {
    return readFileSync(source, 'utf8');
  } catch {
    throw new OperatorError(`cannot read the file ${source}`);
  }
}

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new OperatorError(`${what} is not JSON`);
  }
}

export interface VerifiedSummary {
  lines: string[];
}

/** Verifies a report text with a key text; the lines to print, or an OperatorError saying why not. */
export function verifyReportText(reportText: string, keyText: string): VerifiedSummary {
  const outcome = verifySignedReport(parse(reportText, 'the report'), parse(keyText, 'the key'));
  if (!outcome.ok) throw new OperatorError(`NOT VERIFIED: ${outcome.reason}`);
  const r = outcome.report as {
    instance?: unknown;
    generatedAt?: unknown;
    summary?: Record<string, unknown>;
  };
  const s = r.summary ?? {};
  return {
    lines: [
      `verified: signed by key ${outcome.kid}`,
      `instance: ${String(r.instance)}`,
      `generated: ${String(r.generatedAt)}`,
      `controls: ${String(s.controls)} (${String(s.passing)} passing, ${String(s.failing)} failing, ` +
        `${String(s.not_configured)} not configured, ${String(s.not_built)} not built)`,
    ],
  };
}

export function trustCommands(program: Command, wrap: CommandWrap): void {
  const trust = program.command('trust').description('The live trust page (control X8).');
  trust
    .command('verify <report>')
    .description(
      'Verify a trust report (a URL such as https://auth.example.com/trust.json, or a downloaded file) against ' +
        'the key its instance publishes at /trust/key. Exits 1 if it does not verify.',
    )
    .option('--key <url-or-file>', "the public key (JWKS) to check with (default: the report's instance's /trust/key)")
    .action(
      wrap(async (report: string, opts: { key?: string }) => {
        const reportText = await load(report);
        let keySource = opts.key;
        if (!keySource) {
          const instance = (parse(reportText, 'the report') as { report?: { instance?: unknown } }).report?.instance;
          if (typeof instance !== 'string' || !isUrl(instance))
            throw new OperatorError('NOT VERIFIED: the report names no instance to fetch its key from (give --key)');
          keySource = `${instance.replace(/\/+$/, '')}/trust/key`;
        }
        const { lines } = verifyReportText(reportText, await load(keySource));
        for (const line of lines) console.log(line);
        console.log(`key: ${keySource}`);
      }),
    );
}
