// `tally users add|list|remove`: users kept in the store, beside those in tally.yaml.
// Passwords are stored as scrypt hashes unless --cleartext (CHAP needs the cleartext).

import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { hashPassword } from "../auth/password.ts";
import { encodeReply } from "../radius/access.ts";
import { loadDictionary } from "../server/app.ts";
import type { StoredUser } from "../store/store.ts";
import { action, printJson, printTable, UsageError, withStore, type GlobalOptions } from "./common.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parseReplyPairs(pairs: string[]): Record<string, string | number> {
  const reply: Record<string, string | number> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--reply: expected ATTRIBUTE=VALUE, got "${pair}"`);
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    reply[name] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return reply;
}

export function register(program: Command): void {
  const users = program.command("users").description("manage users kept in the store");

  users
    .command("add <name>")
    .description("add or replace a user")
    .option("--password <password>", "the password (visible in the process list; prefer --password-stdin)")
    .option("--password-stdin", "read the password from standard input")
    .option("--cleartext", "store the password in clear (needed for CHAP); default is an scrypt hash")
    .option("--reply <attr=value>", "a reply attribute, repeatable (e.g. Session-Timeout=3600)", collect, [])
    .option("--group <name>", "a group from the config, repeatable", collect, [])
    .action(
      action(async (name: string, o: { password?: string; passwordStdin?: boolean; cleartext?: boolean; reply: string[]; group: string[] }) => {
        let password = o.password;
        if (o.passwordStdin) password = readFileSync(0, "utf8").replace(/\r?\n$/, "");
        if (password === undefined || password === "") throw new UsageError("users add: give --password or --password-stdin");
        const reply = parseReplyPairs(o.reply);
        const opts = program.opts<GlobalOptions>();
        await withStore(opts, async (store, config) => {
          try {
            encodeReply(loadDictionary(config), reply, 0);
          } catch (e) {
            throw new UsageError(`--reply: ${(e as Error).message}`);
          }
          for (const g of o.group) {
            if (!config.groups.some((cg) => cg.name === g)) throw new UsageError(`--group: no group named "${g}" in ${config.file}`);
          }
          if (config.users.some((u) => u.name === name)) {
            process.stderr.write(`tally: note: "${name}" is also defined in ${config.file}, which takes precedence\n`);
          }
          const user: StoredUser = {
            name,
            password: o.cleartext ? { cleartext: password! } : { scrypt: hashPassword(password!) },
            reply,
            groups: o.group,
          };
          await store.putUser(user);
          process.stdout.write(`user ${name} saved (${o.cleartext ? "cleartext: PAP and CHAP" : "scrypt hash: PAP only"})\n`);
        });
      }),
    );

  users
    .command("list")
    .description("list users from the config file and the store")
    .option("--json", "print JSON")
    .action(
      action(async (o: { json?: boolean }) => {
        await withStore(program.opts<GlobalOptions>(), async (store, config) => {
          const rows = [
            ...config.users.map((u) => ({ name: u.name, source: "config", password: "cleartext", groups: u.groups, reply: u.reply })),
            ...(await store.listUsers()).map((u) => ({
              name: u.name,
              source: "store",
              password: "cleartext" in u.password ? "cleartext" : "scrypt",
              groups: u.groups,
              reply: u.reply,
            })),
          ];
          if (o.json) return printJson(rows);
          printTable(
            ["NAME", "SOURCE", "PASSWORD", "GROUPS", "REPLY"],
            rows.map((r) => [r.name, r.source, r.password, r.groups.join(","), Object.entries(r.reply).map(([k, v]) => `${k}=${v}`).join(", ")]),
          );
        });
      }),
    );

  users
    .command("remove <name>")
    .description("remove a user from the store")
    .action(
      action(async (name: string) => {
        await withStore(program.opts<GlobalOptions>(), async (store) => {
          if (!(await store.removeUser(name))) throw new UsageError(`users remove: no user "${name}" in the store`);
          process.stdout.write(`user ${name} removed\n`);
        });
      }),
    );
}
