import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { VNode } from 'preact';
import { createRampartClient, isRampartApiError } from '../../packages/node/src/index.js';

/*
 * Integrations: Acme Analytics imports contacts from the organization's CRM. The CRM key lives in
 * Rampart's vault, pasted there by an admin; this product never holds it. It asks Rampart, with the
 * signed-in person's access token (scope `connections`), to send the request through the connection.
 */

export interface ConnectionRow {
  id: string;
  providerId: string;
  label: string;
  status: string;
  mask: string;
}

export interface Contact {
  name: string;
  company: string;
  stage: string;
}

interface Imported {
  connectionLabel: string;
  at: Date;
  contacts: Contact[];
}

/** The purpose Rampart records with each use (the organization's audit log shows it). */
export const IMPORT_PURPOSE = 'acme-analytics.import-contacts';

export function IntegrationsPage(props: {
  rampartUrl: string;
  orgId: string | undefined;
  connections: ConnectionRow[] | undefined;
  problem?: string;
  imported?: Imported;
}) {
  const manage = props.orgId ? `${props.rampartUrl}/orgs/${props.orgId}/connections` : props.rampartUrl;
  return (
    <>
      <h1>Integrations</h1>
      <p>
        Import contacts from your CRM. Your CRM key stays in Rampart's vault: Acme Analytics asks Rampart to make the
        request and never sees the key.
      </p>
      {props.problem && (
        <p role="alert" class="notice">
          {props.problem}
        </p>
      )}
      {props.connections && props.connections.length === 0 && (
        <p>
          Your organization has no connection yet. An owner or admin adds one in Rampart:{' '}
          <a href={manage}>Rampart connections</a>.
        </p>
      )}
      {props.connections && props.connections.length > 0 && (
        <div class="table">
          <table>
            <caption>Connections of your organization</caption>
            <thead>
              <tr>
                <th scope="col">Connection</th>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
                <th scope="col">Import</th>
              </tr>
            </thead>
            <tbody>
              {props.connections.map((c) => (
                <tr>
                  <td>
                    {c.label} <small>({c.providerId})</small>
                  </td>
                  <td>
                    <code>{c.mask}</code>
                  </td>
                  <td>{c.status}</td>
                  <td>
                    <form method="post" action="/integrations/import" class="inline">
                      <input type="hidden" name="connection" value={c.id} />
                      <button type="submit" class="small" aria-label={`Import contacts from ${c.label}`}>
                        Import contacts
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.imported && (
        <div class="table">
          <table>
            <caption>
              {props.imported.contacts.length} contacts imported from {props.imported.connectionLabel} at{' '}
              {props.imported.at.toISOString().slice(11, 19)} UTC
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Company</th>
                <th scope="col">Stage</th>
              </tr>
            </thead>
            <tbody>
              {props.imported.contacts.map((c) => (
                <tr>
                  <td>{c.name}</td>
                  <td>{c.company}</td>
                  <td>{c.stage}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p>
        <a href={manage}>Manage connections in Rampart</a>
      </p>
    </>
  );
}

const isContact = (v: unknown): v is Contact =>
  typeof v === 'object' &&
  v !== null &&
  ['name', 'company', 'stage'].every((k) => typeof (v as Record<string, unknown>)[k] === 'string');

/** What a Rampart refusal means to the person, in words. */
function said(err: unknown): string {
  if (!isRampartApiError(err)) return 'Rampart could not be reached. Try again in a moment.';
  if (err.status === 403) return 'Your role does not allow using connections, or you did not allow Acme Analytics to.';
  return `Rampart refused: ${err.message} (${err.code}).`;
}

export function integrationRoutes(
  app: FastifyInstance,
  deps: {
    rampartUrl: string;
    signedIn: preHandlerHookHandler;
    render(request: FastifyRequest, reply: FastifyReply, title: string, body: VNode, status?: number): unknown;
  },
): void {
  const imported = new Map<string, Imported>();
  const clientOf = (request: FastifyRequest) =>
    createRampartClient({ baseUrl: deps.rampartUrl, auth: { accessToken: request.product!.tokens!.accessToken } });

  async function connectionsOf(request: FastifyRequest, orgId: string): Promise<ConnectionRow[]> {
    const res = await clientOf(request).request('GET', '/api/v1/orgs/{orgId}/connections', { params: { orgId } });
    return res.connections.map(({ id, providerId, label, status, mask }) => ({ id, providerId, label, status, mask }));
  }

  async function show(request: FastifyRequest, reply: FastifyReply, problem?: string, status = 200) {
    const orgId = request.viewer!.identity.orgId ?? undefined;
    let connections: ConnectionRow[] | undefined;
    if (orgId) {
      try {
        connections = await connectionsOf(request, orgId);
      } catch (err) {
        problem ??= said(err);
      }
    } else problem ??= 'Sign in with an organization to use integrations.';
    const page = (
      <IntegrationsPage
        rampartUrl={deps.rampartUrl}
        orgId={orgId}
        connections={connections}
        problem={problem}
        imported={orgId ? imported.get(orgId) : undefined}
      />
    );
    return deps.render(request, reply, 'Integrations', page, status);
  }

  app.get('/integrations', { preHandler: deps.signedIn }, (request, reply) => show(request, reply));

  app.post<{ Body: { connection?: string } }>(
    '/integrations/import',
    { preHandler: deps.signedIn },
    async (request, reply) => {
      const orgId = request.viewer!.identity.orgId ?? undefined;
      const connectionId = request.body?.connection ?? '';
      if (!orgId || !/^[0-9a-f-]{36}$/.test(connectionId)) return show(request, reply, 'Choose a connection.', 400);
      try {
        const client = clientOf(request);
        const connections = await connectionsOf(request, orgId);
        const connection = connections.find((c) => c.id === connectionId);
        if (!connection) return show(request, reply, 'That connection is gone.', 404);
        const res = await client.request('POST', '/api/v1/orgs/{orgId}/connections/{connectionId}/requests', {
          params: { orgId, connectionId },
          body: { purpose: IMPORT_PURPOSE, method: 'GET', path: '/v1/contacts' },
        });
        if (res.status !== 200) return show(request, reply, `The CRM answered ${res.status}.`, 502);
        const contacts = (JSON.parse(res.body) as { contacts?: unknown }).contacts;
        if (!Array.isArray(contacts) || !contacts.every(isContact))
          return show(request, reply, 'The CRM answered something else than contacts.', 502);
        imported.set(orgId, { connectionLabel: connection.label, at: new Date(), contacts });
        return reply.redirect('/integrations', 303);
      } catch (err) {
        return show(request, reply, said(err), 502);
      }
    },
  );
}
