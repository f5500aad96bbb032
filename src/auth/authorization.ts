// TACACS+ authorization decisions (RFC 8907 section 6) from a user's rule sets: which
// attribute-value pairs a service (shell, ppp, ...) starts with, and whether a command may
// run. Rule sets apply in order (the user's own, then each group's); for commands the first
// matching rule wins and anything unmatched is denied unless a rule set says otherwise.

import type { TacacsRules } from "../config/load.ts";

export interface AvPair {
  name: string;
  value: string;
  mandatory: boolean;
}

export interface AuthorizationRequest {
  service: string;
  /** The command for command authorization; null when a service (e.g. a shell) starts. */
  command: string | null;
  /** Every pair of the request, in order. */
  args: AvPair[];
}

export type AuthorizationDecision =
  /** Permit; `args` are added to the request's. */
  | { status: "pass-add"; args: AvPair[]; reason: string }
  /** Permit; `args` replace the request's entirely. */
  | { status: "pass-repl"; args: AvPair[]; reason: string }
  | { status: "fail"; reason: string };

/** "show ip route" from cmd=show, cmd-arg=ip, cmd-arg=route, cmd-arg=<cr>. */
export function commandLine(args: readonly AvPair[]): string | null {
  const cmd = args.find((a) => a.name === "cmd");
  if (cmd === undefined || cmd.value === "") return null;
  const rest = args.filter((a) => a.name === "cmd-arg" && a.value !== "<cr>").map((a) => a.value);
  return [cmd.value, ...rest].join(" ");
}

function decideCommand(rules: readonly TacacsRules[], command: string): AuthorizationDecision {
  for (const set of rules) {
    for (const rule of set.commands) {
      if (rule.match.test(command)) {
        return rule.permit
          ? { status: "pass-add", args: [], reason: `permitted by ${rule.source}` }
          : { status: "fail", reason: `denied by ${rule.source}` };
      }
    }
  }
  const fallback = rules.find((r) => r.defaultCommand !== null)?.defaultCommand ?? "deny";
  return fallback === "permit"
    ? { status: "pass-add", args: [], reason: "no rule matched; defaultCommand permit" }
    : { status: "fail", reason: "no rule matched; denied by default" };
}

/**
 * The configured pairs answer the request: where the request already asks for an attribute
 * with another value, the configuration wins and the whole list is replaced (PASS_REPL);
 * otherwise the configured pairs the request lacks are added (PASS_ADD).
 */
function decideService(configured: Record<string, string>, request: AuthorizationRequest, reason: string): AuthorizationDecision {
  const requested = new Map(request.args.map((a) => [a.name, a]));
  const conflicting = Object.entries(configured).some(([name, value]) => {
    const r = requested.get(name);
    return r !== undefined && r.value !== value;
  });
  if (conflicting) {
    const replaced = request.args.map((a) => (a.name in configured ? { ...a, value: configured[a.name]!, mandatory: true } : a));
    const added = Object.entries(configured)
      .filter(([name]) => !requested.has(name))
      .map(([name, value]) => ({ name, value, mandatory: true }));
    return { status: "pass-repl", args: [...replaced, ...added], reason };
  }
  const added = Object.entries(configured)
    .filter(([name, value]) => requested.get(name)?.value !== value)
    .map(([name, value]) => ({ name, value, mandatory: true }));
  return { status: "pass-add", args: added, reason };
}

export function authorize(rules: readonly TacacsRules[], request: AuthorizationRequest): AuthorizationDecision {
  if (request.command !== null) return decideCommand(rules, request.command);
  if (request.service === "shell") {
    const shell = rules.find((r) => r.shell !== null)?.shell;
    if (shell === undefined || shell === null) return { status: "fail", reason: "no shell configured for this user or their groups" };
    return decideService(shell, request, "shell");
  }
  const service = rules.find((r) => request.service in r.services)?.services[request.service];
  if (service === undefined) return { status: "fail", reason: `service ${request.service} not configured for this user or their groups` };
  return decideService(service, request, `service ${request.service}`);
}

/** The highest privilege level a user's shell grants (0 when none is configured). */
export function shellPrivilege(rules: readonly TacacsRules[]): number {
  const level = Number(rules.find((r) => r.shell !== null)?.shell?.["priv-lvl"] ?? 0);
  return Number.isInteger(level) ? level : 0;
}
