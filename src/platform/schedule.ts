// The job runner took this over (src/platform/jobs); features keep importing the Scheduler from here.
export type { Scheduler } from './jobs/index.js';
