// FreeRADIUS in front of Tally: a raddb edit for the bench anchor (bench/anchors/freeradius.ts)
// that keeps accounting { detail } and adds rlm_replicate to a home server on loopback, so each
// Accounting-Request is written to the detail file and sent on, as received, to that port.

import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export function replicateTo(port: number, secret: string): (raddb: string) => Promise<void> {
  return async (raddb) => {
    const site = join(raddb, "sites-enabled", "anchor");
    const text = await readFile(site, "utf8");
    const replaced = text.replace(
      "  accounting {\n    detail\n  }",
      '  accounting {\n    detail\n    update control {\n      &Replicate-To-Realm := "tally"\n    }\n    replicate\n  }',
    );
    assert.notEqual(replaced, text, "the anchor's accounting section changed shape");
    await writeFile(site, replaced);
    const proxy = await readFile(join(raddb, "proxy.conf"), "utf8");
    await writeFile(
      join(raddb, "proxy.conf"),
      `${proxy}\nhome_server tally {\n\ttype = acct\n\tipaddr = 127.0.0.1\n\tport = ${port}\n\tsecret = ${secret}\n}\n` +
        `home_server_pool tally_pool {\n\ttype = fail-over\n\thome_server = tally\n}\nrealm tally {\n\tacct_pool = tally_pool\n\tnostrip\n}\n`,
    );
  };
}
