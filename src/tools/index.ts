export { type ToolActionView, type ToolCatalog, type ToolView, toToolView } from './catalog.ts';
export { compileInputSchema } from './input.ts';
export {
  type Action,
  type InputField,
  type InputSchema,
  type Limits,
  manifestDigest,
  profileFor,
  RISK_LEVELS,
  type Risk,
  RiskSchema,
  type SandboxProfile,
  SandboxProfileSchema,
  type ToolManifest,
  ToolManifestSchema,
} from './manifest.ts';
export {
  type LoadedTool,
  loadTool,
  loadToolDir,
  type ManifestTrust,
  type RefusedManifest,
  secretVariablesNamedInToolDir,
  ToolRegistry,
} from './registry.ts';
export {
  checkManifestSignatures,
  formatSignatureFile,
  generatePublisherKeyPair,
  type ManifestSignature,
  manifestSigningText,
  mergeSignature,
  type PublisherKeyPair,
  parsePublisherPublicKey,
  parseSignatureFile,
  publisherKeyFiles,
  readPublisherPrivateKey,
  readSignaturesBeside,
  SIGNATURE_SUFFIX,
  type SignatureCheck,
  signManifestText,
  verifyManifestSignature,
} from './signing.ts';
export { ToolCatalogSchema } from './view.ts';
