// Lint: the recommended JS and TypeScript rules; type-checking itself is `tsc --noEmit`.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".tmp/", "dist/", "test-artifacts/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      // Without a message, a failing assert.ok makes Node re-parse the (transpiled) test file
      // with acorn to print the expression, which takes minutes on a large file: a failure
      // then looks like a hang. A message also says what went wrong.
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.object.name='assert'][callee.property.name='ok'][arguments.length<2]",
          message: "give assert.ok a message (second argument)",
        },
        {
          selector: "CallExpression[callee.name='assert'][arguments.length<2]",
          message: "give assert() a message (second argument)",
        },
      ],
    },
  },
);
