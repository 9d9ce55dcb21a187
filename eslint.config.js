import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'scripts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
      // Node.js 20 keeps a reference on each source signal for every signal joined to it, until that
      // source aborts: joined to a long-lived signal (a shutdown), that is memory kept for every call.
      'no-restricted-properties': ['error', { object: 'AbortSignal', property: 'any',
        message: 'AbortSignal.any keeps a reference on each source signal for every call on Node.js 20; abort one controller per task instead (see Scheduler.keepers).' }],
    },
  },
  { files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'], rules: { 'no-console': 'off' } },
  // The faces (console and API, CLI, doctor) never import each other or the composition root:
  // shared logic lives in the stages, config/ (editing, the wizard) and spool/ (opening a store).
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/main.ts', 'src/root/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/cli/**', '**/cli/*'], message: 'Only the CLI imports src/cli; move shared logic to a stage, config/ or spool/.' },
        { group: ['**/main.js', '**/root/**'], message: 'Only src/cli/commands/serve.ts imports the composition root.' },
      ] }],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    ignores: ['src/cli/commands/serve.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/main.js', '**/root/**'], message: 'Only src/cli/commands/serve.ts imports the composition root.' },
        { group: ['**/admin/**'], message: 'Faces never import each other; use the stages, config/ or spool/.' },
      ] }],
    },
  },
  {
    // doctor/ is the diagnosis both the CLI and the console run: it imports neither of them.
    files: ['src/doctor/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/cli/**', '**/admin/**', '**/main.js', '**/root/**'], message: 'doctor/ is used by the faces and imports none of them, nor the composition root.' },
      ] }],
    },
  },
);
