import { defineConfig } from 'vitest/config';

// The page is served by the console (docs/dashboard.md): hashed files under
// /assets, no inline script or style (the console's CSP forbids both).
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist', // scripts/build-web.sh passes --outDir
    emptyOutDir: true,
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2020',
    sourcemap: false,
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
