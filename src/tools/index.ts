export { renderArgv } from './argv.ts';
export { type ToolActionView, type ToolCatalog, type ToolView, toToolView } from './catalog.ts';
export { assertArgvAllowed } from './deny.ts';
export { compileInputSchema } from './input.ts';
export {
  type Action,
  type InputField,
  type InputSchema,
  type Limits,
  MANY_TARGETS,
  manifestDigest,
  // ---- previews (issue 17) ----
  type PreviewRef,
  previewRefusals,
  profileFor,
  RISK_LEVELS,
  type Risk,
  RiskSchema,
  type SandboxProfile,
  SandboxProfileSchema,
  type ToolManifest,
  ToolManifestSchema,
} from './manifest.ts';
export { explainManifestIssues } from './manifest-errors.ts';
export {
  type LoadedTool,
  loadTool,
  loadToolDir,
  type ManifestTrust,
  type PreparedToolReload,
  type RefusedManifest,
  ReloadableToolRegistry,
  secretVariablesNamedInToolDir,
  ToolRegistry,
  type ToolSetChanges,
} from './registry.ts';
export { resolveExecutable, type ScaffoldInput, scaffoldManifest, sha256OfExecutable, toolNameFor } from './scaffold.ts';
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
