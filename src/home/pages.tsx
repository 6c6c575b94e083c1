export function HomePage({ baseUrl, dev, embedded }: { baseUrl: string; dev: boolean; embedded: boolean }) {
  return (
    <>
      <hgroup>
        <h1>Rampart</h1>
        <p>The security backbone of this product: identity, sessions, organizations, audit and trust.</p>
      </hgroup>
      <article aria-labelledby="instance-heading">
        <h2 id="instance-heading">This instance</h2>
        <dl>
          <dt>Address</dt>
          <dd>{baseUrl}</dd>
          <dt>Database</dt>
          <dd>{embedded ? 'Embedded PostgreSQL (PGlite), for a single process' : 'PostgreSQL'}</dd>
          <dt>Mode</dt>
          <dd>{dev ? 'Development: mail is kept in the dev mailbox, not sent' : 'Production'}</dd>
        </dl>
        {dev && (
          <p>
            <a href="/dev/mailbox">Open the dev mailbox</a>
          </p>
        )}
      </article>
      <article aria-labelledby="probes-heading">
        <h2 id="probes-heading">For operators</h2>
        <ul>
          <li>
            <a href="/healthz">/healthz</a>: the process is alive
          </li>
          <li>
            <a href="/readyz">/readyz</a>: the database is reachable and its migrations are current
          </li>
        </ul>
      </article>
    </>
  );
}
