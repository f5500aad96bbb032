// How the built-in plugins check their options: one zod schema each, and one way of saying
// what is wrong, naming the option by its path (`options.users.bob.byte`) and, for an unknown
// one, the options expected there.

import type { z } from "zod";

function keyPath(path: readonly PropertyKey[]): string {
  let out = "options";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return out;
}

/**
 * Validates `options` against `schema`; throws an Error `PLUGIN: options.KEY: problem; ...`.
 * `known(path)` lists the options valid where an unknown one was found (default: the
 * schema's own keys).
 */
export function parseOptions<S extends z.ZodObject>(
  plugin: string,
  schema: S,
  options: unknown,
  known: (path: readonly PropertyKey[]) => string[] = () => Object.keys(schema.shape),
): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const expected = known(issue.path).join(", ");
      return issue.keys.map((k) => `${keyPath([...issue.path, k])}: unknown option (expected ${expected})`).join("; ");
    }
    return `${keyPath(issue.path)}: ${issue.message}`;
  });
  throw new Error(`${plugin}: ${problems.join("; ")}`);
}
