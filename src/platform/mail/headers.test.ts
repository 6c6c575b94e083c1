import { describe, expect, it } from 'vitest';
import { assertHeaders, MailError } from './mailer.js';

describe('mail headers', () => {
  it('[X2] extra headers pass as given; a line break, a bad name or one of ours is refused', () => {
    expect(() =>
      assertHeaders({
        'List-Unsubscribe': '<https://status.example.com/status/unsubscribe?token=abc>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      }),
    ).not.toThrow();
    const refused: Record<string, string>[] = [
      { 'List-Unsubscribe': '<https://x.example>\r\nBcc: victim@example.com' },
      { 'List-Unsubscribe': 'a\nb' },
      { 'Bad Name': 'x' },
      { 'X-Ok:': 'x' },
      { Bcc: 'someone@example.com' },
      { subject: 'replaced' },
      { 'X-Long': 'x'.repeat(2001) },
    ];
    for (const headers of refused) expect(() => assertHeaders(headers)).toThrow(MailError);
  });
});
