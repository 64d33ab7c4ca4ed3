import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `vite build console`: the root is this folder, the output dist/console, which plugboard serves at /console.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: '../dist/console', emptyOutDir: true, sourcemap: true },
  // `npx vite console` during development: the API stays on the plugboard server.
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
