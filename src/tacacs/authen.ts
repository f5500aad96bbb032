// One TACACS+ authentication session (RFC 8907 section 5): the START, then for ASCII logins a
// bounded GETUSER / GETPASS conversation over CONTINUE packets. PAP, CHAP, MS-CHAPv1/v2 and
// enable are checked against the same users as RADIUS. Returns replies; the server frames them.

import { shellPrivilege } from "../auth/authorization.ts";
import { chapMatches } from "../auth/chap.ts";
import { mschapV2AuthenticatorResponse, verifyMschapV1, verifyMschapV2 } from "../auth/mschap.ts";
import { timingSafeEqual } from "node:crypto";
import { UserDirectory, type UserEntry } from "../auth/users.ts";
import type { AuthenticateRequest } from "../plugins/api.ts";
import type { PluginHost } from "../plugins/host.ts";
import type { AuthenContinue, AuthenReply, AuthenStart } from "./bodies.ts";
import { AuthenAction, AuthenContinueFlag, AuthenReplyFlag, AuthenService, AuthenStatus, AuthenType } from "./constants.ts";

export interface AuthenContext {
  users: UserDirectory;
  plugins: PluginHost;
  /** The configured client's name and the device's address. */
  client: string;
  nas: string;
  /** Prompts an ASCII login may answer before it fails. */
  loginRounds: number;
}

export interface AuthenStep {
  reply: AuthenReply;
  /** True when the session is over (PASS, FAIL or ERROR). */
  done: boolean;
  user: string | null;
  /** For the log; never sent beyond the generic server message. */
  reason: string;
}

export const FAIL_MESSAGE = "Authentication failed";

const empty = Buffer.alloc(0);

function reply(status: number, serverMsg = "", flags = 0, data: Buffer = empty): AuthenReply {
  return { status, flags, serverMsg, data };
}

/** MS-CHAP response layouts (RFC 8907 section 5.4.2.4 / 5.4.2.5): id, challenge, 49-octet response. */
const MSCHAP_RESPONSE = 49;

export class AuthenConversation {
  private user: string;
  private stage: "start" | "user" | "password" = "start";
  private rounds = 0;

  constructor(
    private readonly start: AuthenStart,
    private readonly ctx: AuthenContext,
  ) {
    this.user = start.user;
  }

  private finish(status: number, reason: string, data: Buffer = empty): AuthenStep {
    const msg = status === AuthenStatus.Fail ? FAIL_MESSAGE : "";
    return { reply: reply(status, msg, 0, data), done: true, user: this.user || null, reason };
  }

  private prompt(status: number, message: string, flags = 0): AuthenStep {
    this.rounds++;
    return { reply: reply(status, message, flags), done: false, user: this.user || null, reason: "prompt" };
  }

  async begin(): Promise<AuthenStep> {
    const s = this.start;
    if (s.action !== AuthenAction.Login) {
      return this.finish(AuthenStatus.Fail, `action ${s.action} not supported (only LOGIN)`);
    }
    switch (s.authenType) {
      case AuthenType.Ascii:
        return this.askNext();
      case AuthenType.Pap:
        return this.checkCleartext(s.data);
      case AuthenType.Chap:
        return this.checkChap(s.data);
      case AuthenType.MsChap:
        return this.checkMschap(s.data);
      case AuthenType.MsChapV2:
        return this.checkMschapV2(s.data);
      default:
        return this.finish(AuthenStatus.Fail, `authen_type ${s.authenType} not supported`);
    }
  }

  async next(cont: AuthenContinue): Promise<AuthenStep> {
    if (cont.flags & AuthenContinueFlag.Abort) {
      return { reply: reply(AuthenStatus.Fail), done: true, user: this.user || null, reason: "aborted by the client" };
    }
    if (this.stage === "user") {
      this.user = cont.userMsg.toString("utf8");
      return this.askNext();
    }
    if (this.stage === "password") return this.checkCleartext(cont.userMsg);
    return this.finish(AuthenStatus.Error, "CONTINUE where none was expected");
  }

  private askNext(): AuthenStep {
    if (this.rounds >= this.ctx.loginRounds) return this.finish(AuthenStatus.Fail, "too many prompts");
    if (this.user === "") {
      this.stage = "user";
      return this.prompt(AuthenStatus.GetUser, "Username: ");
    }
    this.stage = "password";
    return this.prompt(AuthenStatus.GetPass, "Password: ", AuthenReplyFlag.NoEcho);
  }

  /**
   * Asks the plugins first (RADIUS does the same): a verdict ends the login, undefined means
   * every plugin passed and the built-in users decide.
   */
  private async pluginVerdict(method: AuthenticateRequest["method"], password: Buffer | null, verify: (candidate: string) => boolean): Promise<AuthenStep | undefined> {
    if (this.ctx.plugins.size === 0 || this.user === "") return undefined;
    const verdict = await this.ctx.plugins.authenticate({
      protocol: "tacacs",
      user: this.user,
      method,
      password: password === null ? null : password.toString("utf8"),
      verifyPassword: verify,
      client: this.ctx.client,
      nas: this.ctx.nas,
      clientAddress: this.start.remAddr || null,
      attributes: [
        { name: "port", value: this.start.port },
        { name: "rem_addr", value: this.start.remAddr },
        { name: "priv_lvl", value: this.start.privLvl },
        { name: "authen_type", value: this.start.authenType },
        { name: "authen_service", value: this.start.authenService },
      ],
    });
    if (verdict.status === "accept") return this.finish(AuthenStatus.Pass, verdict.reason ?? "accepted by a plugin");
    if (verdict.status === "reject") return this.finish(AuthenStatus.Fail, verdict.reason ?? "rejected by a plugin");
    return undefined;
  }

  private async lookup(): Promise<UserEntry | null> {
    return this.user === "" ? null : this.ctx.users.find(this.user);
  }

  private async checkCleartext(password: Buffer): Promise<AuthenStep> {
    const method = this.start.authenService === AuthenService.Enable ? "enable" : this.start.authenType === AuthenType.Pap ? "pap" : "ascii";
    const same = (candidate: string) => {
      const c = Buffer.from(candidate, "utf8");
      return c.length === password.length && timingSafeEqual(c, password);
    };
    const verdict = await this.pluginVerdict(method, password, same);
    if (verdict) return verdict;
    const user = await this.lookup();
    if (user === null) return this.finish(AuthenStatus.Fail, "unknown user");
    if (this.start.authenService === AuthenService.Enable) return this.checkEnable(user, password);
    return UserDirectory.checkPassword(user, password)
      ? this.finish(AuthenStatus.Pass, "ok")
      : this.finish(AuthenStatus.Fail, "wrong password");
  }

  /**
   * Enable: the user's own enable password when they have one; otherwise their login password,
   * but only up to the privilege level their shell grants.
   */
  private checkEnable(user: UserEntry, password: Buffer): AuthenStep {
    if (user.enable !== null) {
      return UserDirectory.checkPassword({ ...user, cleartext: user.enable, scrypt: null }, password)
        ? this.finish(AuthenStatus.Pass, `enable ${this.start.privLvl}`)
        : this.finish(AuthenStatus.Fail, "wrong enable password");
    }
    const granted = shellPrivilege(user.tacacs);
    if (granted < this.start.privLvl) return this.finish(AuthenStatus.Fail, `enable ${this.start.privLvl} above granted priv-lvl ${granted}`);
    return UserDirectory.checkPassword(user, password)
      ? this.finish(AuthenStatus.Pass, `enable ${this.start.privLvl} (login password)`)
      : this.finish(AuthenStatus.Fail, "wrong password");
  }

  /** CHAP and MS-CHAP need the password in clear; a hashed user cannot use them. */
  private async cleartextOf(): Promise<{ user: UserEntry; password: string } | AuthenStep> {
    const user = await this.lookup();
    if (user === null) return this.finish(AuthenStatus.Fail, "unknown user");
    if (user.cleartext === null) return this.finish(AuthenStatus.Fail, "needs a cleartext password; this user has a hash");
    return { user, password: user.cleartext };
  }

  private async checkChap(data: Buffer): Promise<AuthenStep> {
    if (data.length < 1 + 1 + 16) return this.finish(AuthenStatus.Error, "CHAP data too short");
    const challenge = data.subarray(1, data.length - 16);
    const verify = (candidate: string) => chapMatches(data[0]!, challenge, data.subarray(data.length - 16), Buffer.from(candidate, "utf8"));
    const verdict = await this.pluginVerdict("chap", null, verify);
    if (verdict) return verdict;
    const known = await this.cleartextOf();
    if ("reply" in known) return known;
    const ok = verify(known.password);
    return ok ? this.finish(AuthenStatus.Pass, "ok") : this.finish(AuthenStatus.Fail, "wrong CHAP response");
  }

  private async checkMschap(data: Buffer): Promise<AuthenStep> {
    if (data.length !== 1 + 8 + MSCHAP_RESPONSE) return this.finish(AuthenStatus.Error, "MS-CHAP data has the wrong length");
    const challenge = data.subarray(1, 9);
    const ntResponse = data.subarray(9 + 24, 9 + 48);
    const verdict = await this.pluginVerdict("mschap", null, (candidate) => verifyMschapV1(challenge, ntResponse, candidate));
    if (verdict) return verdict;
    const known = await this.cleartextOf();
    if ("reply" in known) return known;
    return verifyMschapV1(challenge, ntResponse, known.password)
      ? this.finish(AuthenStatus.Pass, "ok")
      : this.finish(AuthenStatus.Fail, "wrong MS-CHAP response");
  }

  private async checkMschapV2(data: Buffer): Promise<AuthenStep> {
    if (data.length !== 1 + 16 + MSCHAP_RESPONSE) return this.finish(AuthenStatus.Error, "MS-CHAPv2 data has the wrong length");
    const authChallenge = data.subarray(1, 17);
    const peerChallenge = data.subarray(17, 33);
    const ntResponse = data.subarray(33 + 8, 33 + 32);
    // A plugin cannot produce the authenticator response without the password, so MS-CHAPv2
    // is only offered to plugins as a check; the built-in users answer with S=... themselves.
    const verdict = await this.pluginVerdict("mschapv2", null, (candidate) => verifyMschapV2(authChallenge, peerChallenge, this.user, ntResponse, candidate));
    if (verdict) return verdict;
    const known = await this.cleartextOf();
    if ("reply" in known) return known;
    if (!verifyMschapV2(authChallenge, peerChallenge, this.user, ntResponse, known.password)) {
      return this.finish(AuthenStatus.Fail, "wrong MS-CHAPv2 response");
    }
    // The authenticator response lets the client check the server knew the password too.
    const proof = mschapV2AuthenticatorResponse(known.password, ntResponse, peerChallenge, authChallenge, this.user);
    return this.finish(AuthenStatus.Pass, "ok", Buffer.from(proof, "ascii"));
  }
}
