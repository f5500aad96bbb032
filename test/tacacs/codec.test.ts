// The TACACS+ codec (RFC 8907 §4–§7): the header and each of its failures, body obfuscation
// against a known-answer vector and a pad derived here from the RFC's definition, every body
// round trip and every decoder's refusals with their offsets, and the arg syntax.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import {
  decodeAcctReply,
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  decodeAuthorRequest,
  decodeAuthorResponse,
  encodeAcctReply,
  encodeAcctRequest,
  encodeAuthenContinue,
  encodeAuthenReply,
  encodeAuthenStart,
  encodeAuthorRequest,
  encodeAuthorResponse,
  formatArg,
  parseArg,
} from "../../src/tacacs/bodies.ts";
import type { AuthenStart, BodyResult } from "../../src/tacacs/bodies.ts";
import {
  AcctFlag,
  AcctStatus,
  AuthenAction,
  AuthenService,
  AuthenStatus,
  AuthenType,
  AuthorStatus,
  HeaderFlag,
  MAX_BODY_LENGTH,
  PacketType,
  TAC_PLUS_MAJOR_VERSION,
  authenStatusName,
  authorStatusName,
  packetTypeName,
} from "../../src/tacacs/constants.ts";
import { decodeHeader, encodeHeader } from "../../src/tacacs/header.ts";
import type { TacacsHeader } from "../../src/tacacs/header.ts";
import { obfuscate } from "../../src/tacacs/obfuscation.ts";
import { openPacket, sealPacket } from "../../src/tacacs/packet.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

const HEADER: TacacsHeader = {
  majorVersion: TAC_PLUS_MAJOR_VERSION,
  minorVersion: 1,
  type: PacketType.Authentication,
  seqNo: 3,
  flags: HeaderFlag.SingleConnect,
  sessionId: 0xdeadbeef,
  length: 0x01020304,
};

function failed<T>(r: BodyResult<T>): { reason: string; offset: number } {
  assert.equal(r.ok, false, "expected a decode failure");
  return r.ok ? { reason: "", offset: -1 } : { reason: r.reason, offset: r.offset };
}

describe("header (§4.1)", () => {
  test("encodes to the documented octets and decodes back", () => {
    const wire = encodeHeader(HEADER);
    assert.deepEqual(wire, hex("c1 01 03 04 deadbeef 01020304"));
    assert.deepEqual(decodeHeader(wire), { ok: true, header: HEADER });
    // Octets past the header are the body's, not the header's concern.
    assert.deepEqual(decodeHeader(Buffer.concat([wire, Buffer.from("body")])), { ok: true, header: HEADER });
  });

  test("too-short: offset is where the data ended", () => {
    assert.deepEqual(decodeHeader(Buffer.alloc(0)), { ok: false, reason: "too-short", offset: 0 });
    assert.deepEqual(decodeHeader(encodeHeader(HEADER).subarray(0, 11)), { ok: false, reason: "too-short", offset: 11 });
  });

  test("bad-major-version and bad-minor-version at offset 0, bad-type at offset 1", () => {
    const r = (h: Partial<TacacsHeader>) => decodeHeader(encodeHeader({ ...HEADER, ...h }));
    assert.deepEqual(r({ majorVersion: 0xb }), { ok: false, reason: "bad-major-version", offset: 0 });
    assert.deepEqual(decodeHeader(Buffer.from("GET / HTTP/1.1\r\n")), { ok: false, reason: "bad-major-version", offset: 0 });
    assert.deepEqual(r({ minorVersion: 2 }), { ok: false, reason: "bad-minor-version", offset: 0 });
    assert.deepEqual(r({ type: 0 }), { ok: false, reason: "bad-type", offset: 1 });
    assert.deepEqual(r({ type: 4 }), { ok: false, reason: "bad-type", offset: 1 });
  });

  test("encodeHeader refuses fields that do not fit", () => {
    assert.throws(() => encodeHeader({ ...HEADER, majorVersion: 16 }), /majorVersion/);
    assert.throws(() => encodeHeader({ ...HEADER, seqNo: 256 }), /seqNo/);
    assert.throws(() => encodeHeader({ ...HEADER, sessionId: 2 ** 32 }), /sessionId/);
    assert.throws(() => encodeHeader({ ...HEADER, length: -1 }), /length/);
  });

  test("names for logs", () => {
    assert.equal(packetTypeName(PacketType.Accounting), "Accounting");
    assert.equal(packetTypeName(9), "Type-9");
    assert.equal(authenStatusName(AuthenStatus.GetPass), "GETPASS");
    assert.equal(authorStatusName(AuthorStatus.PassRepl), "PASS_REPL");
  });
});

describe("obfuscation (§4.5)", () => {
  const id = { sessionId: 0x5e1f0a2b, majorVersion: 0xc, minorVersion: 1, seqNo: 3 };
  const key = Buffer.from("tally-kat-key");

  test("known answer: pad computed outside this codebase (python hashlib, openssl md5)", () => {
    // MD5_1 = MD5(5e1f0a2b || "tally-kat-key" || c1 || 03) = 51874a37bb2987ce0629a8dec7fe1812
    // MD5_2 = MD5(same || MD5_1)                          = 72d1d45cc95b70b9e4c73d495c79d72b
    const body = Buffer.from("PAP body: 20 octets!");
    const expected = hex("01c61a17d946e3b73c099aeee7917b6617a5a77d");
    assert.deepEqual(obfuscate(body, id, key), expected);
    assert.deepEqual(obfuscate(expected, id, key), body);
  });

  test("matches the chained pad built here from the RFC's definition, across three blocks", () => {
    const body = Buffer.from(Array.from({ length: 40 }, (_, i) => i * 7));
    const prefix = Buffer.concat([hex("5e1f0a2b"), key, Buffer.from([0xc1, 3])]);
    const md5 = (...parts: Buffer[]) => createHash("md5").update(Buffer.concat(parts)).digest();
    const p1 = md5(prefix);
    const p2 = md5(prefix, p1);
    const p3 = md5(prefix, p2);
    const pad = Buffer.concat([p1, p2, p3]);
    assert.deepEqual(obfuscate(body, id, key), Buffer.from(body.map((b, i) => b ^ pad[i]!)));
  });

  test("symmetric, returns a new buffer, and depends on every input", () => {
    const body = Buffer.from("some body that spans more than one md5 block");
    const hidden = obfuscate(body, id, key);
    assert.notDeepEqual(hidden, body);
    assert.deepEqual(obfuscate(hidden, id, key), body);
    assert.deepEqual(obfuscate(Buffer.alloc(0), id, key), Buffer.alloc(0));
    for (const other of [{ ...id, seqNo: 4 }, { ...id, minorVersion: 0 }, { ...id, sessionId: 1 }]) {
      assert.notDeepEqual(obfuscate(body, other, key), hidden);
    }
  });

  test("a wrong key garbles the body so the decoder reports length-mismatch", () => {
    const start: AuthenStart = {
      action: AuthenAction.Login,
      privLvl: 1,
      authenType: AuthenType.Pap,
      authenService: AuthenService.Login,
      user: "alice",
      port: "tty1",
      remAddr: "192.0.2.7",
      data: Buffer.from("correct horse"),
    };
    const header = { ...HEADER, seqNo: 1, flags: 0 };
    const wire = sealPacket(header, encodeAuthenStart(start), key);
    const head = decodeHeader(wire);
    assert.ok(head.ok, "head.ok");
    const rawBody = wire.subarray(12);
    assert.deepEqual(decodeAuthenStart(openPacket(head.header, rawBody, key)), { ok: true, value: start });
    const garbled = decodeAuthenStart(openPacket(head.header, rawBody, Buffer.from("wrong-key")));
    assert.equal(failed(garbled).reason, "length-mismatch");
  });

  test("the Unencrypted flag leaves the body in clear on both sides", () => {
    const body = Buffer.from("clear");
    const wire = sealPacket({ ...HEADER, flags: HeaderFlag.Unencrypted }, body, key);
    assert.deepEqual(wire.subarray(12), body);
    assert.equal(wire.readUInt32BE(8), body.length);
    const head = decodeHeader(wire);
    assert.ok(head.ok, "head.ok");
    assert.deepEqual(openPacket(head.header, wire.subarray(12), key), body);
  });
});

/** One row per body: how to code it, a sample with every section non-empty, and its layout. */
interface BodyCase {
  name: string;
  encode: (v: never) => Buffer;
  decode: (b: Buffer) => BodyResult<unknown>;
  sample: object;
  /** Octets before the first section. */
  fixed: number;
  /** For bodies with args: the fixed octets before the arg lengths, and where arg_cnt is. */
  argCount?: { base: number; at: number };
  /** Offset of the length field of the last section. */
  lastLength: number;
}

const args = ["service=shell", "cmd*", "priv-lvl=15"];
const cases: BodyCase[] = [
  {
    name: "authentication START",
    encode: encodeAuthenStart,
    decode: decodeAuthenStart,
    sample: { action: 1, privLvl: 15, authenType: 2, authenService: 1, user: "zoë", port: "tty0", remAddr: "10.0.0.1", data: Buffer.from([0, 255, 1]) },
    fixed: 8,
    lastLength: 7,
  },
  {
    name: "authentication REPLY",
    encode: encodeAuthenReply,
    decode: decodeAuthenReply,
    sample: { status: AuthenStatus.GetPass, flags: 1, serverMsg: "Password: ", data: Buffer.from("x") },
    fixed: 6,
    lastLength: 4,
  },
  {
    name: "authentication CONTINUE",
    encode: encodeAuthenContinue,
    decode: decodeAuthenContinue,
    sample: { flags: 0, userMsg: Buffer.from([0xff, 0xfe, 0x00]), data: Buffer.from("d") },
    fixed: 5,
    lastLength: 2,
  },
  {
    name: "authorization REQUEST",
    encode: encodeAuthorRequest,
    decode: decodeAuthorRequest,
    sample: { authenMethod: 6, privLvl: 1, authenType: 1, authenService: 1, user: "bob", port: "vty0", remAddr: "::1", args },
    fixed: 8 + args.length,
    argCount: { base: 8, at: 7 },
    lastLength: 8 + args.length - 1,
  },
  {
    name: "authorization RESPONSE",
    encode: encodeAuthorResponse,
    decode: decodeAuthorResponse,
    sample: { status: AuthorStatus.PassAdd, args, serverMsg: "ok", data: Buffer.from("dd") },
    fixed: 6 + args.length,
    argCount: { base: 6, at: 1 },
    lastLength: 6 + args.length - 1,
  },
  {
    name: "accounting REQUEST",
    encode: encodeAcctRequest,
    decode: decodeAcctRequest,
    sample: { flags: AcctFlag.Start, authenMethod: 6, privLvl: 1, authenType: 1, authenService: 1, user: "bob", port: "vty0", remAddr: "h", args },
    fixed: 9 + args.length,
    argCount: { base: 9, at: 8 },
    lastLength: 9 + args.length - 1,
  },
  {
    name: "accounting REPLY",
    encode: encodeAcctReply,
    decode: decodeAcctReply,
    sample: { status: AcctStatus.Success, serverMsg: "recorded", data: Buffer.from("z") },
    fixed: 5,
    lastLength: 2,
  },
];

describe("bodies (§5–§7)", () => {
  for (const c of cases) {
    describe(c.name, () => {
      const wire = c.encode(c.sample as never);

      test("round-trips", () => {
        assert.deepEqual(c.decode(wire), { ok: true, value: c.sample });
      });

      test("body-too-short: cut inside the fixed part, offset is where it ended", () => {
        for (let len = 0; len < (c.argCount?.base ?? c.fixed); len++) {
          assert.deepEqual(failed(c.decode(wire.subarray(0, len))), { reason: "body-too-short", offset: len });
        }
      });

      if (c.argCount) {
        const { base, at } = c.argCount;
        test("length-mismatch: arg_cnt announcing more arg lengths than the body holds", () => {
          for (let len = base; len < c.fixed; len++) {
            assert.deepEqual(failed(c.decode(wire.subarray(0, len))), { reason: "length-mismatch", offset: at });
          }
        });
      }

      test("length-mismatch: a section running past the end names its length field", () => {
        assert.deepEqual(failed(c.decode(wire.subarray(0, wire.length - 1))), { reason: "length-mismatch", offset: c.lastLength });
      });

      test("length-mismatch: octets left over are reported where they begin", () => {
        const longer = Buffer.concat([wire, Buffer.from([0])]);
        assert.deepEqual(failed(c.decode(longer)), { reason: "length-mismatch", offset: wire.length });
      });
    });
  }

  test("wire layouts match the RFC diagrams", () => {
    const start = encodeAuthenStart({ action: 1, privLvl: 1, authenType: 2, authenService: 1, user: "ab", port: "p", remAddr: "", data: Buffer.from("pw") });
    assert.deepEqual(start, Buffer.concat([hex("01 01 02 01 02 01 00 02"), Buffer.from("abppw")]));
    const reply = encodeAuthorResponse({ status: 1, args: ["a=1", "b*"], serverMsg: "m", data: Buffer.from("dd") });
    assert.deepEqual(reply, Buffer.concat([hex("01 02 0001 0002 03 02"), Buffer.from("mdda=1b*")]));
    const acct = encodeAcctReply({ status: 1, serverMsg: "", data: Buffer.alloc(0) });
    assert.deepEqual(acct, hex("0000 0000 01"));
    const cont = encodeAuthenContinue({ flags: 1, userMsg: Buffer.from("u"), data: Buffer.alloc(0) });
    assert.deepEqual(cont, hex("0001 0000 01 75"));
  });

  test("lengths count UTF-8 octets, not characters", () => {
    const wire = encodeAuthenStart({ action: 1, privLvl: 1, authenType: 1, authenService: 1, user: "ü", port: "", remAddr: "", data: Buffer.alloc(0) });
    assert.equal(wire[4], 2);
  });

  test("encoders refuse fields that overflow their length fields, too many args and non-octets", () => {
    const base = { action: 1, privLvl: 1, authenType: 1, authenService: 1, user: "", port: "", remAddr: "", data: Buffer.alloc(0) };
    assert.doesNotThrow(() => encodeAuthenStart({ ...base, user: "u".repeat(255) }));
    assert.throws(() => encodeAuthenStart({ ...base, user: "u".repeat(256) }), /user is 256 octets/);
    assert.throws(() => encodeAuthenStart({ ...base, user: "é".repeat(128) }), /user is 256 octets/);
    assert.throws(() => encodeAuthenStart({ ...base, data: Buffer.alloc(256) }), /data/);
    assert.throws(() => encodeAuthenStart({ ...base, privLvl: 256 }), /priv_lvl/);
    assert.throws(() => encodeAuthenReply({ status: 1, flags: 0, serverMsg: "m".repeat(65536), data: Buffer.alloc(0) }), /server_msg/);
    assert.doesNotThrow(() => encodeAuthenReply({ status: 1, flags: 0, serverMsg: "m".repeat(65535), data: Buffer.alloc(0) }));
    const req = { authenMethod: 1, privLvl: 1, authenType: 1, authenService: 1, user: "", port: "", remAddr: "" };
    assert.throws(() => encodeAuthorRequest({ ...req, args: Array(256).fill("a=b") }), /256 args/);
    assert.throws(() => encodeAuthorRequest({ ...req, args: ["a=" + "b".repeat(254)] }), /arg 1 is 256 octets/);
  });

  test("the largest possible body is what MAX_BODY_LENGTH says", () => {
    const arg = "a".repeat(255);
    const body = encodeAuthorResponse({
      status: 1,
      args: Array(255).fill(arg),
      serverMsg: "m".repeat(65535),
      data: Buffer.alloc(65535),
    });
    assert.equal(body.length, MAX_BODY_LENGTH);
  });
});

describe("args (§6.1)", () => {
  test("= is mandatory, * is optional; the first separator wins; values keep the rest", () => {
    assert.deepEqual(parseArg("service=shell"), { name: "service", value: "shell", mandatory: true });
    assert.deepEqual(parseArg("idletime*10"), { name: "idletime", value: "10", mandatory: false });
    assert.deepEqual(parseArg("cmd-arg=a=b*c"), { name: "cmd-arg", value: "a=b*c", mandatory: true });
    assert.deepEqual(parseArg("acl*x=y"), { name: "acl", value: "x=y", mandatory: false });
    assert.deepEqual(parseArg("cmd="), { name: "cmd", value: "", mandatory: true });
    assert.deepEqual(parseArg("shell"), { name: "shell", value: "", mandatory: true });
    assert.deepEqual(parseArg(""), { name: "", value: "", mandatory: true });
  });

  test("formatArg is parseArg's inverse and refuses a name holding a separator", () => {
    assert.equal(formatArg("service", "shell"), "service=shell");
    assert.equal(formatArg("timeout", "5", false), "timeout*5");
    assert.equal(formatArg("x", "a=b"), "x=a=b");
    assert.deepEqual(parseArg(formatArg("x", "a*b=c", false)), { name: "x", value: "a*b=c", mandatory: false });
    assert.throws(() => formatArg("a=b", "c"), /separator/);
    assert.throws(() => formatArg("a*", "c"), /separator/);
  });
});
