export { generateApiKey, hashSecret, type NewApiKey, parseApiKey, secretMatches } from './api-keys.ts';
export { type AuthenticationFailure, Authenticator } from './authenticate.ts';
