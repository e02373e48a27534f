export { type Form, fragmentSpan, secretForms } from './forms.ts';
export { KnownSecrets, logLineRedactor, redactCredentialShapes, redactForPrompt } from './known.ts';
export { KNOWN_PATTERNS } from './patterns.ts';
export {
  createRedactor,
  createStreamRedactor,
  REDACTED,
  type RedactionRules,
  redactionRules,
  redactValue,
  type StreamRedactor,
} from './redact.ts';
export { resolveSecret, resolveSecrets, type SecretRef, type SecretSource } from './resolve.ts';
