// The user directory authentication asks: users from the config file first, then users kept in
// the store (`tally users add`). A user's groups (from the config) add RADIUS reply attributes
// and TACACS+ rules. Protocol-neutral: PAP/CHAP/ASCII checks live in the transports, which ask
// for the password material they need.

import type { GroupConfig, TacacsRules, UserConfig } from "../config/load.ts";
import type { Store, StoredUser } from "../store/store.ts";
import { cleartextEquals, verifyPasswordHash } from "./password.ts";

export interface UserEntry {
  name: string;
  /** Present when the password is known in clear (config users, store users added with --cleartext). */
  cleartext: string | null;
  scrypt: string | null;
  /** TACACS+ enable password, when the user has one of their own. */
  enable: string | null;
  /** RADIUS reply: the groups' replies in order, then the user's own (which wins). */
  reply: Record<string, string | number>;
  groups: string[];
  /** TACACS+ rules in the order they apply: the user's own, then each group's. */
  tacacs: TacacsRules[];
  source: "config" | "store";
}

export class UserDirectory {
  private readonly configUsers: Map<string, UserConfig>;
  private readonly groups: Map<string, GroupConfig>;

  constructor(
    configUsers: readonly UserConfig[],
    groups: readonly GroupConfig[],
    private readonly store: Pick<Store, "getUser">,
  ) {
    this.configUsers = new Map(configUsers.map((u) => [u.name, u]));
    this.groups = new Map(groups.map((g) => [g.name, g]));
  }

  async find(name: string): Promise<UserEntry | null> {
    const fromConfig = this.configUsers.get(name);
    if (fromConfig) {
      return this.entry(fromConfig.name, fromConfig.groups, fromConfig.reply, fromConfig.tacacs, "config", {
        cleartext: fromConfig.password,
        scrypt: null,
        enable: fromConfig.enable,
      });
    }
    const stored = await this.store.getUser(name);
    return stored ? this.fromStored(stored) : null;
  }

  private fromStored(u: StoredUser): UserEntry {
    return this.entry(u.name, u.groups, u.reply, null, "store", {
      cleartext: "cleartext" in u.password ? u.password.cleartext : null,
      scrypt: "scrypt" in u.password ? u.password.scrypt : null,
      enable: null,
    });
  }

  private entry(
    name: string,
    groupNames: string[],
    reply: Record<string, string | number>,
    ownRules: TacacsRules | null,
    source: UserEntry["source"],
    secrets: Pick<UserEntry, "cleartext" | "scrypt" | "enable">,
  ): UserEntry {
    // A stored user may name a group the config no longer has; it simply adds nothing.
    const groups = groupNames.flatMap((g) => this.groups.get(g) ?? []);
    return {
      name,
      ...secrets,
      reply: Object.assign({}, ...groups.map((g) => g.reply), reply) as Record<string, string | number>,
      groups: groupNames,
      tacacs: [ownRules, ...groups.map((g) => g.tacacs)].filter((r): r is TacacsRules => r !== null),
      source,
    };
  }

  /** PAP-style check of a cleartext password against whatever the directory holds. */
  static checkPassword(user: UserEntry, password: Buffer): boolean {
    if (user.cleartext !== null) return cleartextEquals(Buffer.from(user.cleartext, "utf8"), password);
    if (user.scrypt !== null) return verifyPasswordHash(password.toString("utf8"), user.scrypt);
    return false;
  }
}
