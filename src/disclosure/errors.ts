import { defineErrors } from '../platform/errors.js';

/** X3: vulnerability reports, their intake form and their handling on the operator console. */
export const DISCLOSURE_ERRORS = defineErrors({
  report_invalid: {
    status: 400,
    message: 'Some fields need another look.',
    description: 'a vulnerability report with a field missing, too long, or holding text that is refused',
  },
  report_form_expired: {
    status: 400,
    message: 'This form was open too long or was already sent. Check your report and send it again.',
    description: 'a report form whose token is older than two hours, was already used, or is not one we issued',
  },
  report_too_fast: {
    status: 400,
    message: 'That was quicker than a person types. Wait a few seconds, then send the report again.',
    description: 'a report form sent back less than three seconds after it was served',
  },
  report_refused: {
    status: 400,
    message: 'This report could not be accepted. If you are a person, e-mail the security contact instead.',
    description: 'a report form whose hidden honeypot field was filled in (a form-filling robot)',
  },
  report_not_found: {
    status: 404,
    message: 'There is no such report.',
    description: 'a report status link with a token that is not one we sent, or a console report id that is unknown',
  },
  report_transition_invalid: {
    status: 409,
    message: 'A report in this state cannot move to that one.',
    description: 'a status change the report workflow does not allow (new → acknowledged → triaging → closed)',
  },
  disclosure_settings_invalid: {
    status: 400,
    message: 'Give a number of business days from 1 to 30.',
    description: 'an acknowledgement deadline outside 1 to 30 business days',
  },
});

export const disclosureError = DISCLOSURE_ERRORS.fail;
