import { defineFeature } from '../feature.js';
import { docsRoutes } from './routes.js';

/** The API reference, from the OpenAPI document every route's schema contributes to. */
export const docsFeature = defineFeature({ name: 'docs', title: 'API reference', routes: (app) => docsRoutes(app) });
