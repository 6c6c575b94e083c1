import { defineErrors } from '../platform/errors.js';

/** D3: the operator's key rotation, from the console or the operator API. */
export const KEYS_ERRORS = defineErrors({
  key_operation_running: {
    status: 409,
    message: 'A rotation or rewrap is already running; wait for it to finish.',
    description: 'starting a rotate or rewrap while one started from this instance is still running',
  },
  key_version_invalid: {
    status: 400,
    message: 'A key version is written v<N>, for example v1.',
    description: 'retire with a version that is not of the form v<N> (or <N>)',
  },
  key_rotation_refused: {
    status: 409,
    message: 'The master keys cannot be changed that way now; the detail says why.',
    description:
      'rotate with keys given in RAMPART_MASTER_KEYS, or retire of a version that is current, unknown, already ' +
      'retired or still wraps records (the detail names them)',
  },
});

export const keysError = KEYS_ERRORS.fail;
