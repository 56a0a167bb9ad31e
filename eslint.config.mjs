// ESLint (flat config): JavaScript's and typescript-eslint's recommended rules,
// with formatting left to Prettier (eslint-config-prettier turns off what clashes).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";
import globals from "globals";

export default tseslint.config(
  { ignores: ["node_modules/**", "bench-results/**", ".local-cloud/**", "dist/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node, ...globals.mocha } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // Unused arguments are allowed when named `_…` (handler signatures, callbacks).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // The local cloud, its tests, the bench and the scripts handle untyped JSON by design: Pulumi mock
    // inputs and state, manifests, SDK middleware arguments and wire payloads. The product's runtime and
    // infrastructure code (handlers, components, stacks, domain) stays on the rule.
    files: ["local/**", "tests/**", "bench/**", "scripts/**", "policy/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // These load packages that ship no types (dynalite, s3rver, aws-kinesis-agg), load the program
    // module under mocks, and load modules lazily so that a process pays only for what it starts.
    files: ["local/**", "tests/**", "bench/**", "scripts/**"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // chai's property assertions (`expect(x).to.be.empty`) are expressions by design.
    files: ["tests/**"],
    rules: { "@typescript-eslint/no-unused-expressions": "off" },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  prettier,
);
