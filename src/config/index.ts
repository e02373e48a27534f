export type { AlertsConfig, ModelConfig, WebhookSourceConfig } from './alerts.ts';
export type { ConsoleConfig } from './console.ts';
export {
  type DatabaseBinding,
  type DatabaseConfig,
  urlPassword,
  withoutPassword,
  withPassword,
} from './database.ts';
export { CONFIG_FILE, DEFAULT_CONFIG_YAML, interpolateEnv, loadConfig, parseConfig, renderConfigYaml } from './load.ts';
export { type Config, ConfigSchema, isLoopbackUrl, type TrustConfig } from './schema.ts';
