import { defineFeature } from '../feature.js';
import { devRoutes } from './routes.js';

/** Dev mode only: the mailbox that stands in for SMTP. Elsewhere these routes do not exist (404). */
export const devFeature = defineFeature({
  name: 'dev',
  title: 'Dev mode',
  routes(app, { platform: p }) {
    if (p.config.dev && p.mailer.devMailbox) devRoutes(app, p.mailer.devMailbox);
  },
});
