// The OpenAPI 3.1 document of the HTTP API, built from the routes as they are registered (the
// same JSON schemas fastify validates requests with), so the document cannot drift from the
// server.

export interface RouteDoc {
  method: "GET" | "POST";
  /** OpenAPI style: /api/sessions/{id} */
  path: string;
  summary: string;
  query?: { type: "object"; properties: Record<string, Record<string, unknown>>; required?: readonly string[]; additionalProperties?: boolean };
  params?: { type: "object"; properties: Record<string, Record<string, unknown>>; required?: readonly string[] };
  body?: Record<string, unknown>;
  response: Record<string, unknown>;
  /** Content type of the answer; default application/json. */
  produces?: string;
}

export function buildOpenApi(routes: readonly RouteDoc[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters = [
      ...Object.entries(r.params?.properties ?? {}).map(([name, schema]) => ({ name, in: "path", required: true, schema })),
      ...Object.entries(r.query?.properties ?? {}).map(([name, schema]) => ({
        name,
        in: "query",
        required: r.query?.required?.includes(name) ?? false,
        schema,
        ...(typeof schema.description === "string" ? { description: schema.description } : {}),
      })),
    ];
    const operation: Record<string, unknown> = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[{}]/g, "").replace(/\/(\w)/g, (_, c: string) => c.toUpperCase()).replace(/\W/g, "")}`,
      parameters,
      responses: {
        "200": { description: "OK", content: { [r.produces ?? "application/json"]: { schema: r.response } } },
        "400": { description: "A parameter is not what was expected; the error names it", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
        "401": { description: "No valid bearer token", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
    if (r.body !== undefined) operation.requestBody = { required: false, content: { "application/json": { schema: r.body } } };
    paths[r.path] = { ...(paths[r.path] ?? {}), [r.method.toLowerCase()]: operation };
  }
  paths["/healthz"] = { get: { summary: "200 when the store answers, 503 when not (no token needed)", security: [], responses: { "200": { description: "OK" }, "503": { description: "The store is unreachable" } } } };
  paths["/metrics"] = { get: { summary: "Prometheus metrics (no token needed unless configured)", security: [], responses: { "200": { description: "Prometheus text format" } } } };
  return {
    openapi: "3.1.0",
    info: { title: "Tally HTTP API", version: "1", description: "Sessions, usage, NASes, the TACACS+ command audit, disconnects and reloads of a Tally AAA server." },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A token made with `tally tokens create NAME`" } },
      schemas: { Error: { type: "object", properties: { error: { type: "string" } }, required: ["error"] } },
    },
    paths,
  };
}
