import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'sounds/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // the web app's plain browser modules
    files: ['web/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'navigator',
          'localStorage',
          'sessionStorage',
          'fetch',
          'confirm',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'URLSearchParams',
          'URL',
          'CustomEvent',
          'Node',
          'CSS',
          'WebSocket',
          'FormData',
          'Blob',
          'TextDecoder',
          'MutationObserver',
          'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
