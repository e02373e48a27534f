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
export { type LoadedTool, loadTool, loadToolDir, ToolRegistry } from './registry.ts';
