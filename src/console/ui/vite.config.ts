import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The console UI: built by `npm run build` into dist/console/ui, served by the API server at `/`.
// No inline script or style survives the build (the CSP forbids them), and no module-preload
// polyfill is injected.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [preact()],
  logLevel: 'warn',
  build: {
    outDir: '../../../dist/console/ui',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
});
