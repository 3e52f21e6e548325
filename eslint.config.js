import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries: layers only look down. Packages from the ground up (src/app is the only
 * place that wires across them); inside src/calls its folders from the ground up. A file may
 * import what stands at its own level or below, never above. The circles a per-file rule
 * cannot see are `tools/check-imports.ts`'s (also part of `npm run lint`).
 */
const PACKAGES = ['domain', 'ari', 'store', 'devices', 'mail', 'events', 'calls', 'api', 'app'];
const CALLS = ['engine', 'decisions', 'reporting', 'connected', 'overload', 'flows', 'recovery'];

const above = (list, name) => list.slice(list.indexOf(name) + 1);
const packageBans = (pkg) =>
  above(PACKAGES, pkg).map((upper) => ({
    group: [`**/${upper}/**`],
    message: `src/${pkg} is below src/${upper}: a lower package never imports a higher one`,
  }));
const boundaries = [
  ...PACKAGES.filter((pkg) => pkg !== 'calls').map((pkg) => ({
    files: [`src/${pkg}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: packageBans(pkg) }] },
  })),
  {
    // the metrics stand with the events: the calls side feeds them through their interface
    files: ['src/metrics.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: packageBans('events') }] },
  },
  ...CALLS.map((folder) => ({
    files: [`src/calls/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...packageBans('calls'),
            ...above(CALLS, folder).map((upper) => ({
              group: [`**/calls/${upper}/**`, `../${upper}/**`, `../../${upper}/**`, `./${upper}/**`],
              message: `calls/${folder} is below calls/${upper}: it never imports it (register a hook instead)`,
            })),
            {
              group: ['**/controller.js'],
              message: 'the controller wires the calls side; nothing in it imports the controller',
            },
          ],
        },
      ],
    },
  })),
];

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
  ...boundaries,
);
