import { defineErrors } from '../platform/errors.js';

/** X2: the public status page, its components, probes and subscribers. */
export const STATUS_ERRORS = defineErrors({
  status_component_invalid: {
    status: 400,
    message: 'The component settings are not valid.',
    description: 'adding or changing a status component with a bad id, name, description, position or state',
  },
  status_component_exists: {
    status: 409,
    message: 'A component with this id or name already exists.',
    description: 'adding a status component whose id or name is taken, or renaming one to a taken name',
  },
  status_component_not_found: {
    status: 404,
    message: 'There is no such status component.',
    description: 'changing, removing or probing a status component that does not exist',
  },
  status_probe_invalid: {
    status: 400,
    message: 'The probe is not valid.',
    description:
      'adding a probe whose address is not https:// (http:// only to loopback in dev mode), carries credentials, ' +
      'or whose expected status is not 100-599',
  },
  status_probe_not_found: {
    status: 404,
    message: 'There is no such probe.',
    description: 'removing a probe that does not exist',
  },
  status_incident_not_found: {
    status: 404,
    message: 'There is no such public incident.',
    description: 'opening /status/incidents/:id for an incident that is not public (or does not exist)',
  },
  status_subscription_invalid: {
    status: 400,
    message: 'Give an e-mail address and choose what to follow.',
    description: 'a status subscription with a bad address or unknown components',
  },
  status_link_expired: {
    status: 400,
    message: 'This link expired or was already used. Subscribe again from the status page.',
    description: 'a subscription confirm or unsubscribe link that is unknown, used, or past its expiry',
  },
});

export const statusError = STATUS_ERRORS.fail;
