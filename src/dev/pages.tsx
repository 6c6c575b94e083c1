import type { StoredMail } from '../platform/mail/index.js';
import { Table, Time } from '../platform/views/format.js';

export function MailboxPage({ messages }: { messages: StoredMail[] }) {
  return (
    <>
      <hgroup>
        <h1>Dev mailbox</h1>
        <p>Mail this instance would have sent. Shown only in dev mode.</p>
      </hgroup>
      {messages.length === 0 ? (
        <p>No messages yet.</p>
      ) : (
        <Table columns={['Received', 'To', 'Subject']}>
          {messages.map((m) => (
            <tr>
              <td>
                <Time at={m.createdAt} precision="seconds" />
              </td>
              <td>{m.to}</td>
              <td>
                <a href={`/dev/mailbox/${m.id}`}>{m.subject}</a>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}

const URL_PATTERN = /(https?:\/\/[^\s<>"]+)/g;

/** Plain text with its links made clickable; the HTML part is never rendered (R3). */
function LinkedText({ text }: { text: string }) {
  return (
    <pre class="mail-body">
      {text.split(URL_PATTERN).map((part, i) => (i % 2 === 1 ? <a href={part}>{part}</a> : part))}
    </pre>
  );
}

export function MessagePage({ message }: { message: StoredMail }) {
  return (
    <article>
      <header>
        <p>
          <a href="/dev/mailbox">← All messages</a>
        </p>
        <h1>{message.subject}</h1>
        <dl>
          <dt>From</dt>
          <dd>{message.from}</dd>
          <dt>To</dt>
          <dd>{message.to}</dd>
          <dt>Received</dt>
          <dd>{message.createdAt.toISOString()}</dd>
        </dl>
      </header>
      <LinkedText text={message.text} />
    </article>
  );
}
