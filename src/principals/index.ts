// Principals and API keys as the API shows them; creating and changing them are operations.
export { type KeyView, keyView, type PrincipalView, principalView } from './view.ts';
