// Principals and API keys as the API shows them; creating and changing them are operations.

export {
  type CreatedKey,
  CreatedKeySchema,
  type CreatedPrincipal,
  CreatedPrincipalSchema,
  type KeyList,
  KeyListSchema,
  type KeyView,
  KeyViewSchema,
  keyView,
  type PrincipalList,
  PrincipalListSchema,
  type PrincipalView,
  PrincipalViewSchema,
  principalView,
  WhoamiSchema,
} from './view.ts';
