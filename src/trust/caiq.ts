import { csv } from '../platform/csv.js';
import type { TrustReport } from './report.js';

/*
 * The CSA CAIQ v4 questions (CCM v4) that controls of the catalogue answer. Only mappings where the
 * control is what the question asks about; a question with no control here is simply not answered.
 */

export const CAIQ_VERSION = 'CAIQ v4.0.2 (CCM v4)';

export interface CaiqMapping {
  question: string;
  /** CCM v4 control of the question, for the reader. */
  ccmControl: string;
  controls: readonly string[];
}

export const CAIQ_MAPPINGS: readonly CaiqMapping[] = [
  { question: 'CEK-03.1', ccmControl: 'Data Encryption', controls: ['T1', 'T2', 'D1'] },
  { question: 'CEK-12.1', ccmControl: 'Key Rotation', controls: ['D3'] },
  { question: 'BCR-08.1', ccmControl: 'Backup', controls: ['D4'] },
  { question: 'DSP-11.1', ccmControl: 'Data Subject Rights', controls: ['P1'] },
  { question: 'DSP-19.1', ccmControl: 'Data Location', controls: ['X6'] },
  { question: 'IAM-08.1', ccmControl: 'User Access Review', controls: ['O4'] },
  { question: 'IAM-11.1', ccmControl: 'CSCs Approval for Agreed Privileged Access Roles', controls: ['O5'] },
  { question: 'IAM-14.1', ccmControl: 'Strong Authentication', controls: ['A4', 'A5', 'A6'] },
  { question: 'IAM-15.1', ccmControl: 'Passwords Management', controls: ['D2'] },
  { question: 'IAM-16.1', ccmControl: 'Authorization Mechanisms', controls: ['O1'] },
  { question: 'IVS-06.1', ccmControl: 'Segmentation and Segregation', controls: ['O2'] },
  { question: 'LOG-04.1', ccmControl: 'Audit Logs Access and Accountability', controls: ['L2'] },
  { question: 'LOG-08.1', ccmControl: 'Log Records', controls: ['L1'] },
  { question: 'LOG-09.1', ccmControl: 'Log Protection', controls: ['L1'] },
  { question: 'SEF-03.1', ccmControl: 'Incident Response Plans', controls: ['X1'] },
  { question: 'TVM-05.1', ccmControl: 'External Library Vulnerabilities', controls: ['X4'] },
];

export interface CaiqAnswer {
  question: string;
  ccmControl: string;
  control: string;
  controlTitle: string;
  status: string;
  detail: string;
  link: string;
}

const STATUS_WORDS: Record<string, string> = {
  passing: 'passing',
  failing: 'failing',
  not_configured: 'not configured',
  not_built: 'not built',
  pending: 'not checked yet',
};

/** One answer per (question, control), each with the control's live status and its place on /trust. */
export function caiqAnswers(report: TrustReport): CaiqAnswer[] {
  const controls = new Map(report.groups.flatMap((g) => g.controls.map((c) => [c.id, c] as const)));
  const answers: CaiqAnswer[] = [];
  for (const m of CAIQ_MAPPINGS) {
    for (const id of m.controls) {
      const c = controls.get(id);
      if (!c) continue;
      const details = c.checks.filter((k) => k.status !== 'passing' || c.status === 'passing').map((k) => k.detail);
      answers.push({
        question: m.question,
        ccmControl: m.ccmControl,
        control: c.id,
        controlTitle: c.title,
        status: STATUS_WORDS[c.status] ?? c.status,
        detail: c.status === 'not_built' ? 'no live check names this control' : details.join(' | '),
        link: `${report.instance}/trust#${c.id}`,
      });
    }
  }
  return answers;
}

export function caiqCsv(answers: readonly CaiqAnswer[]): string {
  return csv(
    ['Question ID', 'CCM control', 'Rampart control', 'Control', 'Status', 'Detail', 'Link'],
    answers.map((a) => [a.question, a.ccmControl, a.control, a.controlTitle, a.status, a.detail, a.link]),
  );
}
