// `tally tokens create|list|remove`: bearer tokens for the HTTP API. A token is shown once,
// when it is made; the config keeps only its SHA-256 (http.tokens), so a leaked config file
// gives no access. The config file is edited in place, keeping its comments and layout.

import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from "yaml";
import { configPath } from "../config/load.ts";
import { tokenHash } from "../http/server.ts";
import { action, printJson, printTable, readConfig, UsageError, type GlobalOptions } from "./common.ts";

function editTokens(file: string, edit: (tokens: YAMLSeq) => void): void {
  const text = readFileSync(file, "utf8");
  const doc = parseDocument(text);
  let http = doc.get("http");
  if (!isMap(http)) {
    http = new YAMLMap();
    (http as YAMLMap).set("listen", "127.0.0.1:8080");
    doc.set("http", http);
  }
  let tokens = (http as YAMLMap).get("tokens");
  if (!isSeq(tokens)) {
    tokens = new YAMLSeq();
    (http as YAMLMap).set("tokens", tokens);
  }
  edit(tokens as YAMLSeq);
  writeFileSync(file, doc.toString());
}

export function register(program: Command): void {
  const tokens = program.command("tokens").description("bearer tokens for the HTTP API (kept hashed in tally.yaml)");
  tokens
    .command("create <name>")
    .description("make a token, add its hash to http.tokens in the config, print the token once")
    .action(
      action((name: string) => {
        const opts = program.opts<GlobalOptions>();
        const config = readConfig(opts);
        if (config.http?.tokens.some((t) => t.name === name)) throw new UsageError(`a token named "${name}" exists; remove it first`);
        const token = `tally_${randomBytes(32).toString("base64url")}`;
        editTokens(configPath(opts.config), (list) => list.add({ name, sha256: tokenHash(token) }));
        // Checked again as the server will read it.
        readConfig(opts);
        process.stdout.write(`${token}\n`);
        process.stderr.write(`token "${name}" added to ${config.file} (only its SHA-256 is kept; this is the only time it is shown). A running tally serve takes it after a reload (SIGHUP or POST /api/reload).\n`);
      }),
    );
  tokens
    .command("list")
    .description("the names of the configured tokens")
    .option("--json", "print JSON")
    .action(
      action((o: { json?: boolean }) => {
        const config = readConfig(program.opts<GlobalOptions>());
        const list = (config.http?.tokens ?? []).map((t) => ({ name: t.name, sha256: `${t.sha256.slice(0, 8)}…` }));
        if (o.json) printJson(list);
        else printTable(["NAME", "SHA-256"], list.map((t) => [t.name, t.sha256]));
      }),
    );
  tokens
    .command("remove <name>")
    .description("remove a token from the config")
    .action(
      action((name: string) => {
        const opts = program.opts<GlobalOptions>();
        const config = readConfig(opts);
        if (!config.http?.tokens.some((t) => t.name === name)) throw new UsageError(`no token named "${name}"`);
        editTokens(configPath(opts.config), (list) => {
          list.items = list.items.filter((item) => !(isMap(item) && item.get("name") === name));
        });
        process.stderr.write(`token "${name}" removed from ${config.file}; a running tally serve stops taking it after a reload (SIGHUP).\n`);
      }),
    );
}
