export { CONFIG_FILE, DEFAULT_CONFIG_YAML, interpolateEnv, loadConfig, parseConfig } from './load.ts';
export { type Config, ConfigSchema, isLoopbackUrl, type TrustConfig } from './schema.ts';
