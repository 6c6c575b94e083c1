import type { ComponentChildren } from 'preact';

export interface LayoutProps {
  title: string;
  /** The per-response CSP nonce: the only way a script runs on our pages. */
  nonce: string;
  children: ComponentChildren;
  /** Extra page scripts under /static/, each loaded with the nonce. */
  scripts?: string[];
  viewer?: Viewer;
}

/** Who is looking, for the navigation: signed in (with a CSRF token for the sign-out form) or not. */
export interface Viewer {
  email: string;
  csrf: string;
}

export function Layout({ title, nonce, children, scripts = [], viewer }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${title} · Rampart`}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/pico/pico.min.css" />
        <link rel="stylesheet" href="/static/rampart.css" />
        <script type="module" src="/static/rampart.js" nonce={nonce} />
        {scripts.map((src) => (
          <script type="module" src={`/static/${src}`} nonce={nonce} />
        ))}
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="container">
          <nav aria-label="Site">
            <ul>
              <li>
                <a href="/" class="brand">
                  <strong>Rampart</strong>
                </a>
              </li>
            </ul>
            {viewer ? (
              <ul>
                <li>
                  <a href="/orgs">Organizations</a>
                </li>
                <li>
                  <a href="/account/security" class="account-link" title={viewer.email}>
                    {viewer.email}
                  </a>
                </li>
                <li>
                  <form method="post" action="/signout" class="inline-form">
                    <input type="hidden" name="_csrf" value={viewer.csrf} />
                    <button type="submit" class="secondary outline">
                      Sign out
                    </button>
                  </form>
                </li>
              </ul>
            ) : (
              <ul>
                <li>
                  <a href="/signin">Sign in</a>
                </li>
                <li>
                  <a href="/signup" role="button">
                    Create account
                  </a>
                </li>
              </ul>
            )}
          </nav>
        </header>
        <main id="main" class="container">
          {children}
        </main>
        <footer class="container">
          <nav aria-label="About this service">
            <ul>
              <li>
                <a href="/trust">Trust</a>
              </li>
              <li>
                <a href="/status">Status</a>
              </li>
              <li>
                <a href="/security/report">Report a vulnerability</a>
              </li>
            </ul>
          </nav>
          <small>Rampart · self-hosted security for multi-tenant SaaS</small>
        </footer>
      </body>
    </html>
  );
}

/** A short message page: errors, notices. */
export function MessagePage({ heading, children }: { heading: string; children: ComponentChildren }) {
  return (
    <article>
      <h1>{heading}</h1>
      {children}
    </article>
  );
}
