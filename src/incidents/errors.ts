import { defineErrors } from '../platform/errors.js';

/** X1, X2: incidents, their phases and public reports, personal-data breaches and their notifications. */
export const INCIDENT_ERRORS = defineErrors({
  incident_invalid: {
    status: 400,
    message: 'The incident is not valid. Correct the fields marked.',
    description:
      'declaring or changing an incident with a bad title, severity, impact, component, time or window ' +
      '(each field named)',
  },
  incident_not_found: {
    status: 404,
    message: 'There is no such incident.',
    description: 'an incident id that does not exist',
  },
  incident_closed: {
    status: 409,
    message: 'This incident is closed; it cannot change any more.',
    description: 'changing, updating or moving the phase of a closed incident',
  },
  incident_phase_invalid: {
    status: 409,
    message: 'An incident moves forward through its phases: identify, contain, eradicate, recover, review, closed.',
    description: 'moving an incident to its current phase or back to an earlier one',
  },
  incident_report_required: {
    status: 409,
    message:
      'This outage lasted longer than 30 minutes: publish the written public report before closing the incident.',
    description: 'closing an incident whose partial or major outage lasted over 30 minutes without a public report',
  },
  incident_not_resolved: {
    status: 409,
    message: 'Record when service was restored before publishing the report or closing the incident.',
    description: 'publishing a report for, or closing, an incident with no resolution time',
  },
  incident_draft: {
    status: 409,
    message: 'Confirm this draft incident first.',
    description: 'a change that needs a confirmed incident, made to a draft opened by a failing probe',
  },
  breach_not_recorded: {
    status: 409,
    message: 'This incident is not recorded as a personal-data breach.',
    description: 'recording a breach notification on an incident that is not a personal-data breach',
  },
  breach_notification_late: {
    status: 400,
    message: 'This notification is past its deadline: give the reasons for the delay (GDPR Art. 33(1)).',
    description: 'recording a breach notification after its deadline without the reasons for the delay',
  },
  breach_already_notified: {
    status: 409,
    message: 'This notification is already recorded.',
    description: 'recording the same breach notification (customers, regulator or full report) twice',
  },
  breach_regulator_not_required: {
    status: 409,
    message: 'This breach is recorded as not needing a regulator notification.',
    description: 'recording a regulator notification for a breach marked as not requiring one',
  },
  incident_targets_invalid: {
    status: 400,
    message: 'Give each response target in minutes, from 0 to 43200 (30 days).',
    description: 'saving response targets out of range',
  },
});

export const incidentError = INCIDENT_ERRORS.fail;
