// The enforcement report: each control of an installation, PASS / FAIL / NOTE with evidence.
export { checkStepUp, type DoctorCheck, type DoctorResult } from './checks.ts';
export { type DoctorOptions, type DoctorReport, renderDoctorMarkdown, runDoctor } from './report.ts';
