// TACACS+ protocol constants (RFC 8907): header values, the enumerations of every body, the
// limits the wire format imposes, and names for logs. Every other tacacs module takes its
// numbers from here so a protocol number is written down exactly once.

/** The only major version there is (RFC 8907 §4.1). */
export const TAC_PLUS_MAJOR_VERSION = 0xc;

/** Minor versions (§4.1): 1 for PAP and CHAP authentication, 0 for everything else. */
export const MinorVersion = { Default: 0, One: 1 } as const;

/** Header `type` (§4.1). */
export const PacketType = { Authentication: 1, Authorization: 2, Accounting: 3 } as const;

/** Header `flags` bits (§4.1). Unencrypted is deprecated and only for testing (§4.5). */
export const HeaderFlag = { Unencrypted: 0x01, SingleConnect: 0x04 } as const;

/** The fixed header in front of every body (§4.1). */
export const HEADER_LENGTH = 12;

/** Offset of the 4-octet body length field within the header. */
export const LENGTH_FIELD_OFFSET = 8;

/** Authentication START `action` (§5.1). SENDPASS (3) was removed by RFC 8907. */
export const AuthenAction = { Login: 1, ChangePass: 2, SendAuth: 4 } as const;

/** `authen_type` (§5.1); NotSet appears only in authorization and accounting (§6.1). */
export const AuthenType = { NotSet: 0, Ascii: 1, Pap: 2, Chap: 3, MsChap: 5, MsChapV2: 6 } as const;

/** `authen_service` (§5.1). */
export const AuthenService = {
  None: 0,
  Login: 1,
  Enable: 2,
  Ppp: 3,
  Pt: 5,
  Rcmd: 6,
  X25: 7,
  Nasi: 8,
  FwProxy: 9,
} as const;

/** Authentication REPLY `status` (§5.2). */
export const AuthenStatus = {
  Pass: 1,
  Fail: 2,
  GetData: 3,
  GetUser: 4,
  GetPass: 5,
  Restart: 6,
  Error: 7,
  Follow: 0x21,
} as const;

/** Authentication REPLY `flags` (§5.2). */
export const AuthenReplyFlag = { NoEcho: 0x01 } as const;

/** Authentication CONTINUE `flags` (§5.3). */
export const AuthenContinueFlag = { Abort: 0x01 } as const;

/** `authen_method` in authorization and accounting requests (§6.1). */
export const AuthenMethod = {
  NotSet: 0,
  None: 1,
  Krb5: 2,
  Line: 3,
  Enable: 4,
  Local: 5,
  TacacsPlus: 6,
  Guest: 8,
  Radius: 0x10,
  Krb4: 0x11,
  Rcmd: 0x20,
  Rcmd2: 0x21,
} as const;

/** `priv_lvl` landmarks (§5.1): 0 to 15, 1 for an ordinary user, 15 for full privilege. */
export const PrivLevel = { Min: 0, User: 1, Root: 15, Max: 15 } as const;

/** Authorization RESPONSE `status` (§6.2). */
export const AuthorStatus = { PassAdd: 0x01, PassRepl: 0x02, Fail: 0x10, Error: 0x11, Follow: 0x21 } as const;

/** Accounting REQUEST `flags` (§7.1); MORE (0x01) is deprecated and not listed. */
export const AcctFlag = { Start: 0x02, Stop: 0x04, Watchdog: 0x08 } as const;

/** Accounting REPLY `status` (§7.2). */
export const AcctStatus = { Success: 0x01, Error: 0x02, Follow: 0x21 } as const;

/** Most fields and args have a 1-octet length; messages and data in replies have 2 (§5–§7). */
export const MAX_SHORT_FIELD_LENGTH = 0xff;
export const MAX_LONG_FIELD_LENGTH = 0xffff;
export const MAX_ARG_COUNT = 0xff;

/**
 * The largest body any RFC 8907 packet can express: an authorization RESPONSE with both
 * 2-octet fields full and 255 args of 255 octets. A reader may cap lower; nothing larger is
 * a TACACS+ body.
 */
export const MAX_BODY_LENGTH =
  6 + MAX_ARG_COUNT + 2 * MAX_LONG_FIELD_LENGTH + MAX_ARG_COUNT * MAX_SHORT_FIELD_LENGTH;

function namer(names: ReadonlyMap<number, string>, kind: string): (n: number) => string {
  return (n) => names.get(n) ?? `${kind}-${n}`;
}

/** "Authentication", "Authorization", "Accounting", or "Type-<n>". */
export const packetTypeName = namer(
  new Map([
    [PacketType.Authentication, "Authentication"],
    [PacketType.Authorization, "Authorization"],
    [PacketType.Accounting, "Accounting"],
  ]),
  "Type",
);

/** The RFC's short names (PASS, GETUSER, ...) so logs match packet captures. */
export const authenStatusName = namer(
  new Map([
    [AuthenStatus.Pass, "PASS"],
    [AuthenStatus.Fail, "FAIL"],
    [AuthenStatus.GetData, "GETDATA"],
    [AuthenStatus.GetUser, "GETUSER"],
    [AuthenStatus.GetPass, "GETPASS"],
    [AuthenStatus.Restart, "RESTART"],
    [AuthenStatus.Error, "ERROR"],
    [AuthenStatus.Follow, "FOLLOW"],
  ]),
  "STATUS",
);

export const authorStatusName = namer(
  new Map([
    [AuthorStatus.PassAdd, "PASS_ADD"],
    [AuthorStatus.PassRepl, "PASS_REPL"],
    [AuthorStatus.Fail, "FAIL"],
    [AuthorStatus.Error, "ERROR"],
    [AuthorStatus.Follow, "FOLLOW"],
  ]),
  "STATUS",
);

export const acctStatusName = namer(
  new Map([
    [AcctStatus.Success, "SUCCESS"],
    [AcctStatus.Error, "ERROR"],
    [AcctStatus.Follow, "FOLLOW"],
  ]),
  "STATUS",
);

export const authenTypeName = namer(
  new Map([
    [AuthenType.NotSet, "NOT_SET"],
    [AuthenType.Ascii, "ASCII"],
    [AuthenType.Pap, "PAP"],
    [AuthenType.Chap, "CHAP"],
    [AuthenType.MsChap, "MSCHAP"],
    [AuthenType.MsChapV2, "MSCHAPV2"],
  ]),
  "TYPE",
);

export const authenServiceName = namer(
  new Map([
    [AuthenService.None, "NONE"],
    [AuthenService.Login, "LOGIN"],
    [AuthenService.Enable, "ENABLE"],
    [AuthenService.Ppp, "PPP"],
    [AuthenService.Pt, "PT"],
    [AuthenService.Rcmd, "RCMD"],
    [AuthenService.X25, "X25"],
    [AuthenService.Nasi, "NASI"],
    [AuthenService.FwProxy, "FWPROXY"],
  ]),
  "SERVICE",
);
