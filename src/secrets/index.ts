export {
  createRedactor,
  createStreamRedactor,
  REDACTED,
  type RedactionRules,
  redactionRules,
  type StreamRedactor,
  secretForms,
} from './redact.ts';
export { resolveSecret, resolveSecrets, type SecretRef, type SecretSource } from './resolve.ts';
