// The FreeRADIUS-format dictionary: the built-in one, Debian's /usr/share/freeradius tree,
// $INCLUDE handling, and lenient loading (warnings with file:line, never a throw, except for
// a missing top-level file).

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Dictionary } from "../../src/radius/dictionary.ts";

const DEBIAN = "/usr/share/freeradius/dictionary";

describe("the built-in dictionary", () => {
  const dict = Dictionary.builtin();

  test("loads without warnings", () => {
    assert.deepEqual(dict.warnings, []);
  });

  test("RFC 2865/2866 attributes with their types and values", () => {
    assert.deepEqual(
      { ...dict.attribute("User-Name")!, values: undefined, valueNames: undefined },
      {
        name: "User-Name", vendorId: 0, oid: [1], type: 1, dataType: "string", encrypt: 0,
        hasTag: false, concat: false, array: false, values: undefined, valueNames: undefined,
      },
    );
    assert.equal(dict.attribute("User-Password")?.encrypt, 1);
    const status = dict.attribute("Acct-Status-Type")!;
    assert.equal(status.values.get("Start"), 1);
    assert.equal(status.values.get("Interim-Update"), 3);
    assert.equal(status.values.get("Accounting-Off"), 8);
    assert.equal(status.valueNames.get(3), "Interim-Update", "the first name of a number is the one shown");
    assert.equal(dict.standard(49)?.valueNames.get(4), "Idle-Timeout");
    assert.equal(dict.attribute("Service-Type")?.values.get("Framed-User"), 2);
    assert.equal(dict.attribute("Framed-Protocol")?.values.get("PPP"), 1);
    assert.equal(dict.attribute("Acct-Authentic")?.values.get("RADIUS"), 1);
    assert.equal(dict.attribute("NAS-Port-Type")?.values.get("Wireless-802.11"), 19);
    assert.equal(dict.attribute("Tunnel-Type")?.values.get("VLAN"), 13);
    assert.equal(dict.attribute("Tunnel-Medium-Type")?.values.get("IEEE-802"), 6);
    assert.equal(dict.attribute("Error-Cause")?.values.get("Session-Context-Not-Found"), 503);
    assert.equal(dict.attribute("Event-Timestamp")?.dataType, "date");
    assert.equal(dict.attribute("EAP-Message")?.concat, true);
    assert.equal(dict.attribute("ARAP-Password")?.length, 16);
  });

  test("RFC 3162, 4818, 6911, 5447 types", () => {
    assert.equal(dict.standard(95)?.name, "NAS-IPv6-Address");
    assert.equal(dict.standard(96)?.dataType, "ifid");
    assert.equal(dict.standard(97)?.dataType, "ipv6prefix");
    assert.equal(dict.standard(123)?.name, "Delegated-IPv6-Prefix");
    assert.equal(dict.standard(168)?.name, "Framed-IPv6-Address");
    assert.equal(dict.attribute("MIP6-Feature-Vector")?.dataType, "integer64");
    assert.equal(dict.attribute("PMIP6-Home-IPv4-HoA")?.dataType, "ipv4prefix");
  });

  test("tagged and salted: Tunnel-Password has has_tag and encrypt=2", () => {
    const tp = dict.attribute("Tunnel-Password")!;
    assert.equal(tp.hasTag, true);
    assert.equal(tp.encrypt, 2);
    assert.equal(dict.attribute("Tunnel-Private-Group-Id")?.hasTag, true);
  });

  test("RFC 6929 containers and extended attributes", () => {
    assert.equal(dict.standard(241)?.dataType, "extended");
    assert.equal(dict.standard(245)?.dataType, "long-extended");
    assert.equal(dict.standard(241, [26])?.dataType, "evs");
    const frag = dict.standard(241, [1])!;
    assert.equal(frag.name, "Frag-Status");
    assert.deepEqual(frag.oid, [241, 1]);
    assert.equal(frag.type, 1);
    assert.equal(frag.values.get("More-Data-Pending"), 2);
  });

  test("TLV members are numbered inside their parent", () => {
    const member = dict.attribute("IPv6-6rd-Prefix")!;
    assert.deepEqual(member.oid, [173, 2]);
    assert.equal(dict.standard(173, [2]), member);
  });

  test("vendors: Cisco, Microsoft, WISPr, MikroTik", () => {
    assert.deepEqual(dict.vendor("Cisco"), { name: "Cisco", id: 9, typeSize: 1, lengthSize: 1, continuation: false });
    assert.equal(dict.vendor(9)?.name, "Cisco");
    const avpair = dict.vendorAttribute(9, 1)!;
    assert.equal(avpair.name, "Cisco-AVPair");
    assert.equal(avpair.vendorId, 9);
    assert.deepEqual(avpair.oid, [1]);
    assert.equal(avpair.dataType, "string");
    assert.equal(dict.attribute("MS-MPPE-Send-Key")?.encrypt, 2);
    assert.equal(dict.attribute("MS-CHAP2-Response")?.length, 50);
    assert.equal(dict.vendorAttribute(14122, 8)?.name, "WISPr-Bandwidth-Max-Down");
    assert.equal(dict.attribute("Mikrotik-Rate-Limit")?.vendorId, 14988);
  });

  test("names are case-insensitive; unknown lookups are undefined", () => {
    assert.equal(dict.attribute("user-name"), dict.attribute("USER-NAME"));
    assert.equal(dict.attribute("No-Such-Attribute"), undefined);
    assert.equal(dict.standard(230), undefined);
    assert.equal(dict.vendorAttribute(9, 99), undefined);
    assert.equal(dict.vendor("cisco")?.id, 9);
    assert.equal(dict.vendor(424242), undefined);
  });

  test("builtin() hands out independent copies", () => {
    const a = Dictionary.builtin();
    a.loadText("ATTRIBUTE Local-Thing 230 string\nVALUE Acct-Status-Type Local-Start 99", "local");
    a.attribute("Session-Timeout")!.values.set("Hour", 3600);
    const b = Dictionary.builtin();
    assert.equal(a.attribute("Local-Thing")?.type, 230);
    assert.equal(b.attribute("Local-Thing"), undefined);
    assert.equal(b.attribute("Acct-Status-Type")?.values.has("Local-Start"), false);
    assert.equal(b.attribute("Session-Timeout")?.values.has("Hour"), false);
  });
});

describe("Debian's FreeRADIUS dictionary (/usr/share/freeradius)", () => {
  const skip = existsSync("/usr/share/freeradius")
    ? false
    : "/usr/share/freeradius is missing: apt-get install freeradius-common to run these";

  test("loads whole, with only file:line warnings", { skip }, () => {
    const dict = new Dictionary();
    dict.loadFile(DEBIAN);
    for (const w of dict.warnings) assert.match(w, /^\/usr\/share\/freeradius\/dictionary[\w.-]*:\d+: /, w);
    assert.ok([...dict.attributes()].length > 5000, "[...dict.attributes()].length > 5000");
  });

  test("finds vendor, tagged, extended, long-extended and EVS attributes", { skip }, () => {
    const dict = new Dictionary();
    dict.loadFile(DEBIAN);
    const avpair = dict.attribute("Cisco-AVPair")!;
    assert.equal(avpair.vendorId, 9);
    assert.equal(avpair.type, 1);
    assert.equal(avpair.dataType, "string");
    assert.equal(dict.attribute("Acct-Status-Type")?.values.get("Interim-Update"), 3);
    const tp = dict.attribute("Tunnel-Password")!;
    assert.deepEqual([tp.hasTag, tp.encrypt], [true, 2]);
    assert.equal(dict.attribute("WISPr-Bandwidth-Max-Down")?.vendorId, 14122);
    assert.deepEqual(dict.attribute("Frag-Status")?.oid, [241, 1]);
    assert.equal(dict.standard(245)?.dataType, "long-extended");
    // An Extended-Vendor-Specific-5 (long-extended) attribute of vendor FreeRADIUS.
    const anonce = dict.attribute("FreeRADIUS-802.1X-Anonce")!;
    assert.deepEqual([anonce.evsContainer, anonce.vendorId, anonce.oid], [245, 11344, [1]]);
    assert.equal(dict.evsAttribute(245, 11344, 1), anonce);
    // WiMAX uses format=1,1,c and nested TLVs.
    assert.deepEqual(dict.vendor("WiMAX"), { name: "WiMAX", id: 24757, typeSize: 1, lengthSize: 1, continuation: true });
    assert.deepEqual(dict.attribute("WiMAX-Release")?.oid, [1, 1]);
    // Dotted TLV members inside a vendor block.
    assert.deepEqual(dict.attribute("3GPP2-Remote-IP-Address-Value")?.oid, [59, 1]);
    // Later files win a number: the RFC name, not dictionary.compat's.
    assert.equal(dict.standard(4)?.name, "NAS-IP-Address");
    assert.equal(dict.attribute("Client-Id")?.type, 4);
  });

  test("loads on top of the built-in dictionary", { skip }, () => {
    const dict = Dictionary.builtin();
    dict.loadFile(DEBIAN);
    assert.equal(dict.attribute("Cisco-AVPair")?.vendorId, 9);
    assert.equal(dict.attribute("Acct-Terminate-Cause")?.values.get("Idle-Timeout"), 4);
    assert.equal(dict.attribute("Ascend-Data-Filter")?.dataType, "abinary");
  });
});

describe("$INCLUDE and lenient loading", () => {
  const dir = mkdtempSync(join(tmpdir(), "tally-dict-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("$INCLUDE is relative to the including file; $INCLUDE- may be missing", () => {
    mkdirSync(join(dir, "sub"));
    writeFileSync(
      join(dir, "main"),
      ["$INCLUDE sub/dictionary.extra", "$INCLUDE- sub/not-there", "ATTRIBUTE Main-Attr 231 integer"].join("\n"),
    );
    // sub/dictionary.extra includes its sibling with a path relative to sub/.
    writeFileSync(join(dir, "sub", "dictionary.extra"), "ATTRIBUTE Extra-Attr 232 string\n$INCLUDE dictionary.more\n");
    writeFileSync(join(dir, "sub", "dictionary.more"), "ATTRIBUTE More-Attr 233 ipaddr\nVALUE Main-Attr Ten 10\n");
    const dict = new Dictionary();
    dict.loadFile(join(dir, "main"));
    assert.deepEqual(dict.warnings, []);
    assert.equal(dict.attribute("Extra-Attr")?.type, 232);
    assert.equal(dict.attribute("More-Attr")?.dataType, "ipaddr");
    assert.equal(dict.attribute("Main-Attr")?.values.get("Ten"), 10, "a VALUE may come before its ATTRIBUTE");
  });

  test("a missing nested $INCLUDE and an include loop are warnings", () => {
    writeFileSync(join(dir, "loop"), "$INCLUDE loop\n$INCLUDE nowhere/dictionary\nATTRIBUTE Loop-Attr 234 string\n");
    const dict = new Dictionary();
    dict.loadFile(join(dir, "loop"));
    assert.equal(dict.attribute("Loop-Attr")?.type, 234);
    assert.equal(dict.warnings.length, 2);
    assert.match(dict.warnings.join("\n"), /\$INCLUDE loop/);
    assert.match(dict.warnings.join("\n"), /loop:2: included file not found: .*nowhere\/dictionary/);
  });

  test("a missing top-level file throws with its path", () => {
    assert.throws(() => new Dictionary().loadFile(join(dir, "absent")), new RegExp(`not found: ${join(dir, "absent")}`));
  });

  test("junk lines become warnings with origin:line, and loading goes on", () => {
    const dict = new Dictionary();
    dict.loadText(
      [
        "# a comment",
        "ATTRIBUTE Broken", // 2: missing fields
        "ATTRIBUTE Bad-Number x1 integer", // 3
        "FROBNICATE all the things", // 4: unknown directive
        "ATTRIBUTE Odd-Type 235 float128", // 5: unknown type -> octets
        "VALUE Nobody Name 1", // 6: unknown attribute (reported at the end)
        "ATTRIBUTE Good 236 integer   # trailing comment",
        "VALUE Good Bad-Number twelve", // 8
        "BEGIN-VENDOR Unknown-Vendor", // 9
        "ATTRIBUTE Lost 1 string", // skipped with its block
        "END-VENDOR Unknown-Vendor",
        "END-TLV Nothing", // 12
        "ATTRIBUTE Good 237 integer", // 13: same name, other number
        "ATTRIBUTE Flagged 238 string has_tag,sparkly", // 14: unknown flag
        "MEMBER Some-Struct-Field uint8", // 15: v4 directive not supported
        "VALUE Good Too-Big 4294967296", // 16
      ].join("\n"),
      "junk",
    );
    const w = dict.warnings.join("\n");
    assert.match(w, /junk:2: ATTRIBUTE needs a name, a number and a type/);
    assert.match(w, /junk:3: ATTRIBUTE Bad-Number: bad number "x1"/);
    assert.match(w, /junk:4: unknown directive "FROBNICATE"/);
    assert.match(w, /junk:5: ATTRIBUTE Odd-Type: unknown type "float128"; treated as octets/);
    assert.match(w, /junk:6: VALUE for unknown attribute Nobody/);
    assert.match(w, /junk:8: VALUE Good Bad-Number: bad number "twelve"/);
    assert.match(w, /junk:9: BEGIN-VENDOR for unknown vendor Unknown-Vendor/);
    assert.match(w, /junk:12: END-TLV without a matching BEGIN/);
    assert.match(w, /junk:13: attribute Good is already defined with another number/);
    assert.match(w, /junk:14: ATTRIBUTE Flagged: unknown flag "sparkly"/);
    assert.match(w, /junk:15: MEMBER is not supported/);
    assert.match(w, /junk:16: VALUE Good Too-Big: 4294967296 is out of range for integer/);
    assert.equal(dict.attribute("Odd-Type")?.dataType, "octets");
    assert.equal(dict.attribute("Good")?.type, 236);
    assert.equal(dict.attribute("Flagged")?.hasTag, true);
    assert.equal(dict.attribute("Lost"), undefined);
  });

  test("an unterminated block is reported", () => {
    const dict = new Dictionary();
    dict.loadText("VENDOR V 99\nBEGIN-VENDOR V\nATTRIBUTE V-A 1 string", "open");
    assert.match(dict.warnings.join("\n"), /open: BEGIN-VENDOR V is never ended/);
    assert.equal(dict.vendorAttribute(99, 1)?.name, "V-A");
  });
});

describe("directives", () => {
  test("VENDOR formats, BEGIN-VENDOR with Extended-Vendor-Specific, old-style vendor column", () => {
    const dict = new Dictionary();
    dict.loadText(
      [
        "VENDOR Wide 1000 format=2,2",
        "VENDOR Bare 1001 format=4,0",
        "VENDOR Cont 1002 format=1,1,c",
        "VENDOR Ext 1003",
        "BEGIN-VENDOR Wide",
        "ATTRIBUTE Wide-Big 300 integer",
        "END-VENDOR Wide",
        "BEGIN-VENDOR Ext format=Extended-Vendor-Specific-5",
        "ATTRIBUTE Ext-Thing 7 octets",
        "END-VENDOR Ext",
        "ATTRIBUTE Old-Style 5 string Bare",
        "ATTRIBUTE Dotted-Vsa 26.1000.301 string",
        "ATTRIBUTE Dotted-Evs 241.26.1003.9 integer",
      ].join("\n"),
      "vendors",
    );
    assert.deepEqual(dict.warnings, []);
    assert.deepEqual(dict.vendor("Wide"), { name: "Wide", id: 1000, typeSize: 2, lengthSize: 2, continuation: false });
    assert.deepEqual(dict.vendor(1001), { name: "Bare", id: 1001, typeSize: 4, lengthSize: 0, continuation: false });
    assert.equal(dict.vendor("Cont")?.continuation, true);
    assert.equal(dict.vendorAttribute(1000, 300)?.name, "Wide-Big");
    assert.equal(dict.evsAttribute(245, 1003, 7)?.name, "Ext-Thing");
    assert.equal(dict.vendorAttribute(1003, 7), undefined, "an EVS attribute is not a VSA");
    assert.equal(dict.vendorAttribute(1001, 5)?.name, "Old-Style");
    assert.equal(dict.vendorAttribute(1000, 301)?.name, "Dotted-Vsa");
    assert.equal(dict.evsAttribute(241, 1003, 9)?.name, "Dotted-Evs");
  });

  test("a vendor type too wide for its format is refused", () => {
    const dict = new Dictionary();
    dict.loadText("VENDOR Narrow 77\nBEGIN-VENDOR Narrow\nATTRIBUTE Narrow-X 256 string\nEND-VENDOR Narrow", "narrow");
    assert.match(dict.warnings.join("\n"), /narrow:3: .*does not fit the vendor's type field/);
  });

  test("BEGIN-TLV nests members; virtual attributes are skipped quietly", () => {
    const dict = new Dictionary();
    dict.loadText(
      [
        "ATTRIBUTE Outer 240 tlv",
        "BEGIN-TLV Outer",
        "ATTRIBUTE Inner 1 tlv",
        "BEGIN-TLV Inner",
        "ATTRIBUTE Leaf 3 ipaddr",
        "END-TLV Inner",
        "END-TLV Outer",
        "ATTRIBUTE Packet-Type 1000 integer virtual",
        "VALUE Packet-Type Access-Request 1",
      ].join("\n"),
      "tlv",
    );
    assert.deepEqual(dict.warnings, []);
    assert.deepEqual(dict.attribute("Leaf")?.oid, [240, 1, 3]);
    assert.equal(dict.standard(240, [1, 3])?.name, "Leaf");
    assert.equal(dict.attribute("Packet-Type"), undefined);
  });

  test("BEGIN-PROTOCOL: RADIUS is read, others skipped; PROTOCOL and FLAGS are accepted", () => {
    const dict = new Dictionary();
    dict.loadText(
      [
        "PROTOCOL DHCPv6 3",
        "FLAGS internal",
        "BEGIN-PROTOCOL DHCPv6",
        "ATTRIBUTE Client-ID 1 octets",
        "BEGIN-PROTOCOL Nested",
        "END-PROTOCOL Nested",
        "END-PROTOCOL DHCPv6",
        "BEGIN-PROTOCOL RADIUS",
        "ATTRIBUTE In-Radius 1 string",
        "END-PROTOCOL RADIUS",
      ].join("\n"),
      "proto",
    );
    assert.deepEqual(dict.warnings, []);
    assert.equal(dict.attribute("Client-ID"), undefined);
    assert.equal(dict.attribute("In-Radius")?.type, 1);
  });

  test("VALUE numbers: hex, aliases, signed, 64-bit; ALIAS", () => {
    const dict = new Dictionary();
    dict.loadText(
      [
        "ATTRIBUTE Flags 230 integer",
        "VALUE Flags Sixteen 0x10",
        "VALUE Flags Also-Sixteen 16",
        "ATTRIBUTE Offset 231 signed",
        "VALUE Offset Minus-One -1",
        "ATTRIBUTE Big 232 integer64",
        "VALUE Big Huge 18446744073709551615",
        "ALIAS Flag-Bits Flags",
      ].join("\n"),
      "values",
    );
    assert.deepEqual(dict.warnings, []);
    const flags = dict.attribute("Flags")!;
    assert.equal(flags.values.get("Sixteen"), 16);
    assert.equal(flags.values.get("Also-Sixteen"), 16);
    assert.equal(flags.valueNames.get(16), "Sixteen");
    assert.equal(dict.attribute("Offset")?.values.get("Minus-One"), -1);
    assert.equal(dict.attribute("Big")?.values.get("Huge"), 18446744073709551615n);
    assert.equal(dict.attribute("Flag-Bits"), flags);
  });

  test("a later name for the same number wins number lookups; the old name still resolves", () => {
    const dict = new Dictionary();
    dict.loadText("ATTRIBUTE Old-Name 4 ipaddr\nATTRIBUTE New-Name 4 ipaddr", "names");
    assert.equal(dict.standard(4)?.name, "New-Name");
    assert.equal(dict.attribute("Old-Name")?.type, 4);
  });
});
