// MS-CHAP v1/v2 and its primitives: known answers from RFC 1320 A.5 (MD4), FIPS 46 examples
// (DES), RFC 2433 B.2–B.3 (MS-CHAPv1), RFC 2759 §9.2–9.3 (MS-CHAPv2) and RFC 3079 §3.5.3
// (MPPE keys); negative cases for the verifiers; and a cross-check of the pure MD4/DES against
// OpenSSL's legacy provider whenever this Node can reach it.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { SBOXES, desEncrypt, desEncryptBlock, expandDesKey } from "../../src/auth/des.ts";
import { md4 } from "../../src/auth/md4.ts";
import {
  challengeResponse,
  hashNtPasswordHash,
  lmPasswordHash,
  mppeMasterKeys,
  mschapV1Response,
  mschapV2AuthenticatorResponse,
  mschapV2ChallengeHash,
  mschapV2NtResponse,
  ntPasswordHash,
  stripDomain,
  verifyMschapV1,
  verifyMschapV2,
} from "../../src/auth/mschap.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("MD4 (RFC 1320 A.5 test suite)", () => {
  const suite: [string, string][] = [
    ["", "31d6cfe0d16ae931b73c59d7e0c089c0"],
    ["a", "bde52cb31de33e46245e05fbdbd6fb24"],
    ["abc", "a448017aaf21d8525fc10ae87aa6729d"],
    ["message digest", "d9130a8164549fe818874806e1c7014b"],
    ["abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"],
    ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"],
    ["1234567890".repeat(8), "e33b4ddc9c38f2199c3e7b164fcc0536"],
  ];
  for (const [input, digest] of suite) {
    test(`MD4("${input.length > 20 ? input.slice(0, 20) + "..." : input}")`, () => {
      assert.equal(md4(Buffer.from(input, "ascii")).toString("hex"), digest);
    });
  }
});

describe("DES", () => {
  test("FIPS 46 worked example: key 133457799BBCDFF1, plaintext 0123456789ABCDEF", () => {
    assert.deepEqual(desEncryptBlock(hex("133457799BBCDFF1"), hex("0123456789ABCDEF")), hex("85E813540F0AB405"));
  });

  test("key 0E329232EA6D0D73 encrypts 8787878787878787 to zero", () => {
    assert.deepEqual(desEncryptBlock(hex("0E329232EA6D0D73"), hex("8787878787878787")), Buffer.alloc(8));
  });

  test("parity bits of the key are ignored", () => {
    const key = hex("133457799BBCDFF1");
    const flipped = Buffer.from(key.map((b) => b ^ 1));
    const block = hex("0123456789ABCDEF");
    assert.deepEqual(desEncryptBlock(flipped, block), desEncryptBlock(key, block));
  });

  test("every S-box row is a permutation of 0..15", () => {
    for (const box of SBOXES) {
      for (let row = 0; row < 4; row++) {
        assert.deepEqual([...box.slice(row * 16, row * 16 + 16)].sort((a, b) => a - b), [...Array(16).keys()]);
      }
    }
  });

  test("7-byte keys get odd parity (RFC 2433 B.3 / RFC 2759 §9.3)", () => {
    assert.deepEqual(expandDesKey(hex("FC156AF7EDCD6C")), hex("FD0B5B5E7F6E34D9"));
    assert.deepEqual(expandDesKey(hex("0EDDE3337D427F")), hex("0E6E796737EA08FE"));
    for (let i = 0; i < 50; i++) {
      for (const byte of expandDesKey(randomBytes(7))) {
        assert.equal(byte.toString(2).split("").filter((c) => c === "1").length % 2, 1);
      }
    }
  });

  test("wrong sizes throw RangeError", () => {
    assert.throws(() => desEncryptBlock(Buffer.alloc(7), Buffer.alloc(8)), RangeError);
    assert.throws(() => desEncryptBlock(Buffer.alloc(8), Buffer.alloc(9)), RangeError);
    assert.throws(() => desEncrypt(Buffer.alloc(8), Buffer.alloc(8)), RangeError);
  });
});

/** OpenSSL's MD4 and DES-ECB, in this process if enabled, else via `node --openssl-legacy-provider`. */
function openSslReference(md4Inputs: Buffer[], desInputs: [Buffer, Buffer][]): { md4: string[]; des: string[] } | null {
  const script = `
    const c = require("node:crypto");
    const q = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
    const md4 = q.md4.map((h) => c.createHash("md4").update(Buffer.from(h, "hex")).digest("hex"));
    const des = q.des.map(([k, b]) => {
      const x = c.createCipheriv("des-ecb", Buffer.from(k, "hex"), null);
      x.setAutoPadding(false);
      return x.update(Buffer.from(b, "hex")).toString("hex");
    });
    process.stdout.write(JSON.stringify({ md4, des }));`;
  try {
    createHash("md4");
    createCipheriv("des-ecb", Buffer.alloc(8), null);
    return {
      md4: md4Inputs.map((m) => createHash("md4").update(m).digest("hex")),
      des: desInputs.map(([k, b]) => {
        const x = createCipheriv("des-ecb", k, null).setAutoPadding(false);
        return x.update(b).toString("hex");
      }),
    };
  } catch {
    // Not in this process: try a child with the legacy provider.
  }
  const input = JSON.stringify({
    md4: md4Inputs.map((m) => m.toString("hex")),
    des: desInputs.map(([k, b]) => [k.toString("hex"), b.toString("hex")]),
  });
  const child = spawnSync(process.execPath, ["--openssl-legacy-provider", "-e", script], { input, encoding: "utf8" });
  if (child.status !== 0) return null;
  return JSON.parse(child.stdout) as { md4: string[]; des: string[] };
}

describe("pure MD4/DES agree with OpenSSL (legacy provider)", () => {
  const md4Inputs = Array.from({ length: 150 }, (_, i) => randomBytes(i));
  const desInputs = Array.from({ length: 400 }, (): [Buffer, Buffer] => [randomBytes(8), randomBytes(8)]);
  const reference = openSslReference(md4Inputs, desInputs);
  const skip = reference === null ? "OpenSSL legacy provider (MD4/DES) not available" : false;

  test("MD4 of random inputs, 0..149 bytes", { skip }, () => {
    assert.deepEqual(
      md4Inputs.map((m) => md4(m).toString("hex")),
      reference!.md4,
    );
  });

  test("DES-ECB of random keys and blocks", { skip }, () => {
    assert.deepEqual(
      desInputs.map(([k, b]) => desEncryptBlock(k, b).toString("hex")),
      reference!.des,
    );
  });
});

describe("MS-CHAPv1 (RFC 2433)", () => {
  // Appendix B.2, password "MyPw".
  const challenge = hex("102DB5DF085D3041");
  const ntResponse = hex("4E9D3C8F9CFD385D5BF4D3246791956CA4C351AB409A3D61");

  test("B.2 NtPasswordHash", () => {
    assert.deepEqual(ntPasswordHash("MyPw"), hex("FC156AF7EDCD6C0EDDE3337D427F4EAC"));
  });

  test("B.2 NtChallengeResponse", () => {
    assert.deepEqual(challengeResponse(challenge, ntPasswordHash("MyPw")), ntResponse);
    assert.deepEqual(mschapV1Response(challenge, "MyPw").ntResponse, ntResponse);
  });

  test("LmPasswordHash: empty password and case-insensitivity", () => {
    assert.deepEqual(lmPasswordHash(""), hex("AAD3B435B51404EEAAD3B435B51404EE"));
    assert.deepEqual(lmPasswordHash("password"), hex("E52CAC67419A9A224A3B108F3FA6CB6D"));
    assert.deepEqual(lmPasswordHash("PassWord"), lmPasswordHash("PASSWORD"));
    assert.deepEqual(lmPasswordHash("abcdefghijklmnXYZ"), lmPasswordHash("ABCDEFGHIJKLMN"));
  });

  test("LM response is ChallengeResponse over the LM hash", () => {
    const { lmResponse } = mschapV1Response(challenge, "MyPw");
    assert.deepEqual(lmResponse, challengeResponse(challenge, lmPasswordHash("MyPw")));
    assert.equal(lmResponse.length, 24);
  });

  test("verifyMschapV1 accepts the right password only", () => {
    assert.equal(verifyMschapV1(challenge, ntResponse, "MyPw"), true);
    assert.equal(verifyMschapV1(challenge, ntResponse, "mypw"), false);
    assert.equal(verifyMschapV1(challenge, ntResponse, ""), false);
    const tampered = Buffer.from(ntResponse);
    tampered[23] = tampered[23]! ^ 0x01;
    assert.equal(verifyMschapV1(challenge, tampered, "MyPw"), false);
    assert.equal(verifyMschapV1(hex("102DB5DF085D3042"), ntResponse, "MyPw"), false);
  });

  test("verifyMschapV1 returns false, never throws, on wrong sizes", () => {
    const cases: [Buffer, Buffer][] = [
      [Buffer.alloc(0), ntResponse],
      [Buffer.alloc(7), ntResponse],
      [Buffer.alloc(16), ntResponse],
      [challenge, Buffer.alloc(0)],
      [challenge, ntResponse.subarray(0, 23)],
      [challenge, Buffer.concat([ntResponse, Buffer.alloc(1)])],
      [challenge, Buffer.concat([Buffer.alloc(24), ntResponse])], // full 49-byte v1 Response value
    ];
    for (const [c, r] of cases) assert.equal(verifyMschapV1(c, r, "MyPw"), false);
    assert.equal(verifyMschapV1(undefined as unknown as Buffer, ntResponse, "MyPw"), false);
  });

  test("generators throw RangeError on wrong sizes", () => {
    assert.throws(() => challengeResponse(Buffer.alloc(7), ntPasswordHash("x")), RangeError);
    assert.throws(() => challengeResponse(challenge, Buffer.alloc(15)), RangeError);
    assert.throws(() => mschapV1Response(Buffer.alloc(9), "x"), RangeError);
  });
});

describe("MS-CHAPv2 (RFC 2759 §9.2)", () => {
  const userName = "User";
  const password = "clientPass";
  const authChallenge = hex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");
  const peerChallenge = hex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");
  const ntResponse = hex("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF");
  const authenticatorResponse = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

  test("ChallengeHash", () => {
    assert.deepEqual(mschapV2ChallengeHash(peerChallenge, authChallenge, userName), hex("D0 2E 43 86 BC E9 12 26"));
  });

  test("PasswordHash and PasswordHashHash", () => {
    const hash = ntPasswordHash(password);
    assert.deepEqual(hash, hex("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE"));
    assert.deepEqual(hashNtPasswordHash(hash), hex("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F"));
  });

  test("NT-Response", () => {
    assert.deepEqual(mschapV2NtResponse(authChallenge, peerChallenge, userName, password), ntResponse);
  });

  test("AuthenticatorResponse", () => {
    const s = mschapV2AuthenticatorResponse(password, ntResponse, peerChallenge, authChallenge, userName);
    assert.equal(s, authenticatorResponse);
    assert.match(s, /^S=[0-9A-F]{40}$/);
  });

  test("a DOMAIN\\ prefix is not hashed (§8.2)", () => {
    assert.equal(stripDomain("ACME\\User"), "User");
    assert.equal(stripDomain("User"), "User");
    assert.equal(stripDomain("user@example.com"), "user@example.com");
    assert.deepEqual(mschapV2NtResponse(authChallenge, peerChallenge, "ACME\\User", password), ntResponse);
    assert.equal(verifyMschapV2(authChallenge, peerChallenge, "ACME\\User", ntResponse, password), true);
    assert.equal(
      mschapV2AuthenticatorResponse(password, ntResponse, peerChallenge, authChallenge, "ACME\\User"),
      authenticatorResponse,
    );
  });

  test("verifyMschapV2 accepts the right password only", () => {
    assert.equal(verifyMschapV2(authChallenge, peerChallenge, userName, ntResponse, password), true);
    assert.equal(verifyMschapV2(authChallenge, peerChallenge, userName, ntResponse, "clientpass"), false);
    assert.equal(verifyMschapV2(authChallenge, peerChallenge, "user", ntResponse, password), false);
    assert.equal(verifyMschapV2(peerChallenge, authChallenge, userName, ntResponse, password), false);
    const tampered = Buffer.from(ntResponse);
    tampered[0] = tampered[0]! ^ 0x80;
    assert.equal(verifyMschapV2(authChallenge, peerChallenge, userName, tampered, password), false);
  });

  test("verifyMschapV2 returns false, never throws, on wrong sizes", () => {
    const cases: [Buffer, Buffer, Buffer][] = [
      [Buffer.alloc(0), peerChallenge, ntResponse],
      [authChallenge.subarray(0, 8), peerChallenge, ntResponse],
      [authChallenge, Buffer.alloc(15), ntResponse],
      [authChallenge, Buffer.alloc(17), ntResponse],
      [authChallenge, peerChallenge, Buffer.alloc(0)],
      [authChallenge, peerChallenge, ntResponse.subarray(1)],
      [authChallenge, peerChallenge, Buffer.concat([ntResponse, Buffer.alloc(1)])],
    ];
    for (const [a, p, r] of cases) {
      assert.doesNotThrow(() => verifyMschapV2(a, p, userName, r, password));
      assert.equal(verifyMschapV2(a, p, userName, r, password), false);
    }
    assert.equal(verifyMschapV2(authChallenge, peerChallenge, userName, null as unknown as Buffer, password), false);
  });

  test("generators throw RangeError on wrong sizes", () => {
    assert.throws(() => mschapV2ChallengeHash(Buffer.alloc(8), authChallenge, userName), RangeError);
    assert.throws(() => mschapV2NtResponse(Buffer.alloc(17), peerChallenge, userName, password), RangeError);
    assert.throws(
      () => mschapV2AuthenticatorResponse(password, Buffer.alloc(23), peerChallenge, authChallenge, userName),
      RangeError,
    );
    assert.throws(() => hashNtPasswordHash(Buffer.alloc(20)), RangeError);
  });

  test("non-ASCII passwords hash as UTF-16LE", () => {
    // Same bytes whichever way the string was built; an astral character is a surrogate pair.
    assert.deepEqual(ntPasswordHash("pässwörd"), md4(Buffer.from("pässwörd", "utf16le")));
    assert.deepEqual(ntPasswordHash("\u{1F511}"), md4(hex("3DD811DD")));
    const r = mschapV2NtResponse(authChallenge, peerChallenge, userName, "pässwörd");
    assert.equal(verifyMschapV2(authChallenge, peerChallenge, userName, r, "pässwörd"), true);
    assert.equal(verifyMschapV2(authChallenge, peerChallenge, userName, r, "passwörd"), false);
  });
});

describe("MPPE keys (RFC 3079 §3.5.3, same inputs as RFC 2759 §9.2)", () => {
  const ntResponse = hex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF");

  test("MasterKey and the 128-bit server send key", () => {
    const keys = mppeMasterKeys("clientPass", ntResponse);
    assert.deepEqual(keys.masterKey, hex("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31"));
    assert.deepEqual(keys.sendKey, hex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB"));
    assert.equal(keys.receiveKey.length, 16);
    assert.notDeepEqual(keys.receiveKey, keys.sendKey);
  });
});
