import { defineFeature } from '../feature.js';
import { homeRoutes } from './routes.js';

export const homeFeature = defineFeature({
  name: 'home',
  title: 'Home page',
  routes: (app, { platform: p }) => homeRoutes(app, p.config),
});
