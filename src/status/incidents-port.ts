/* What the status page reads from the incidents feature (its service, `use('incidents')`). */
export type { Impact, IncidentsService, Phase, PublicIncident } from '../incidents/index.js';
