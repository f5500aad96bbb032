// The user directory authentication asks: users from the config file first, then users kept in
// the store (`tally users add`). Protocol-neutral: PAP/CHAP/ASCII checks live in the transports,
// which ask for the password material they need.

import type { UserConfig } from "../config/load.ts";
import type { Store, StoredUser } from "../store/store.ts";
import { cleartextEquals, verifyPasswordHash } from "./password.ts";

export interface UserEntry {
  name: string;
  /** Present when the password is known in clear (config users, store users added with --cleartext). */
  cleartext: string | null;
  scrypt: string | null;
  reply: Record<string, string | number>;
  source: "config" | "store";
}

export class UserDirectory {
  private readonly configUsers: Map<string, UserEntry>;

  constructor(
    configUsers: readonly UserConfig[],
    private readonly store: Pick<Store, "getUser">,
  ) {
    this.configUsers = new Map(
      configUsers.map((u) => [u.name, { name: u.name, cleartext: u.password, scrypt: null, reply: u.reply, source: "config" }]),
    );
  }

  async find(name: string): Promise<UserEntry | null> {
    const fromConfig = this.configUsers.get(name);
    if (fromConfig) return fromConfig;
    const stored = await this.store.getUser(name);
    return stored ? fromStored(stored) : null;
  }

  /** PAP-style check of a cleartext password against whatever the directory holds. */
  static checkPassword(user: UserEntry, password: Buffer): boolean {
    if (user.cleartext !== null) return cleartextEquals(Buffer.from(user.cleartext, "utf8"), password);
    if (user.scrypt !== null) return verifyPasswordHash(password.toString("utf8"), user.scrypt);
    return false;
  }
}

function fromStored(u: StoredUser): UserEntry {
  return {
    name: u.name,
    cleartext: "cleartext" in u.password ? u.password.cleartext : null,
    scrypt: "scrypt" in u.password ? u.password.scrypt : null,
    reply: u.reply,
    source: "store",
  };
}
