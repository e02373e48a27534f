export { analyzeScript, closeAnalysis, ScriptAnalyzer, type ScriptAnalyzerOptions } from './analyzer.ts';
export type { AnalysisReport, AnalyzeScriptInput, Finding, RuleId, ScriptLanguage, Severity } from './types.ts';
export { RULES } from './types.ts';
