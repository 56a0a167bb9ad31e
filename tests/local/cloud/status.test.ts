/**
 * What `npm start` prints while it runs (local/cloud/status.ts, demo.ts): the
 * status line never wider than the terminal (so it never wraps and leaves
 * stale copies), plain periodic lines when stdout is not a TTY, the demo's
 * progress likewise, and a re-drive hint for every parked table.
 */
import { expect } from "chai";
import { Writable } from "stream";
import { CloudStats } from "../../../local/cloud/cloud";
import { fitLine, redriveHints, statusLine, statusPrinter } from "../../../local/cloud/status";
import { progressWriter } from "../../../local/cloud/demo";
import { StackManifest } from "../../../local/shared/manifest";

const ESC = "\x1b";

function stats(n: number, over: Partial<CloudStats> = {}): CloudStats {
  return {
    accepted: n,
    projected: n,
    applied: n,
    skipped: 0,
    forwarded: n,
    landed: n,
    parked: 0,
    parkedRows: 0,
    deadLettered: 0,
    mappings: [
      { name: "orders-projector-mapping", lagMs: 1200, retries: 0 },
      { name: "analytics-bridge-forwarder-mapping", lagMs: 800, retries: 0 },
    ],
    iam: { allowed: 10, denied: 0, unchecked: 0 },
    functions: {},
    ...over,
  };
}

describe("local cloud status output", () => {
  it("fits the status line in an 80-column terminal (79 characters at most), whatever the counts", () => {
    const wide = stats(123_456_789, { parked: 12_345, parkedRows: 99_999, deadLettered: 4_321, iam: { allowed: 1, denied: 77, unchecked: 0 } });
    expect(statusLine(wide).length, "the full line is wider than 80").to.be.above(80);
    for (const width of [80, 40, 20, 3, 1]) {
      const line = statusLine(wide, width);
      expect(line.length, `width ${width}: ${line}`).to.be.at.most(Math.max(1, width - 1));
      expect(line).not.to.include("\n");
    }
    expect(statusLine(wide, 80)).to.match(/^accepted 123456789 · applied 123456789 · .* …$/);
    expect(statusLine(stats(5), 500), "a wide terminal gets every part").to.equal(statusLine(stats(5)));
    expect(fitLine(["abcdefghij"], 6)).to.equal("abcd…");
  });

  it("says applied (not parked) events, and the parked rows when they differ", () => {
    const line = statusLine(stats(10, { applied: 7, parked: 3, parkedRows: 5 }));
    expect(line).to.include("accepted 10 · applied 7 · skipped 0");
    expect(line).to.include("parked 3 (5 in the parked tables)");
    expect(line).to.include("lag orders-projector 1s, analytics-bridge-forwarder 1s");
  });

  it("on a TTY rewrites one line in place, cut to the terminal's width now", () => {
    const out: string[] = [];
    let columns = 80;
    const printer = statusPrinter({ write: (t) => out.push(t), tty: true, columns: () => columns });
    printer.show(stats(1_000_000_000));
    columns = 30;
    printer.show(stats(1_000_000_001));
    printer.clear();
    expect(out).to.have.length(3);
    for (const [i, width] of [80, 30].entries()) {
      expect(out[i].startsWith(`\r${ESC}[2K`)).to.equal(true);
      expect(out[i].slice(`\r${ESC}[2K`.length).length).to.be.at.most(width - 1);
      expect(out[i]).not.to.include("\n");
    }
    expect(out[2], "clear erases the line before other output").to.equal(`\r${ESC}[2K`);
  });

  it("elsewhere prints plain lines: when the counts moved, at most every 5 s, and one a minute when idle", () => {
    const out: string[] = [];
    let now = 0;
    const printer = statusPrinter({ write: (t) => out.push(t), tty: false }, { now: () => now });
    printer.show(stats(1)); // t=0: the first line
    now = 1_000;
    printer.show(stats(2)); // moved, but within 5 s: held
    now = 5_000;
    printer.show(stats(3)); // moved: printed
    now = 20_000;
    printer.show(stats(3)); // unchanged: nothing
    now = 65_000;
    printer.show(stats(3)); // idle for a minute: a heartbeat
    printer.clear();
    expect(out).to.have.length(3);
    for (const line of out) {
      expect(line).not.to.include(ESC);
      expect(line).not.to.include("\r");
      expect(line.endsWith("\n")).to.equal(true);
    }
    expect(out.map((l) => /accepted (\d+)/.exec(l)![1])).to.deep.equal(["1", "3", "3"]);
    expect(out[1].startsWith(new Date(5_000).toISOString())).to.equal(true);
  });

  it("writes the demo's progress as periodic plain lines when not on a TTY, and the last state at the end", () => {
    let text = "";
    const out = new Writable({ write: (c, _e, done) => ((text += c.toString()), done()) });
    let now = 0;
    const progress = progressWriter(out, false, () => now);
    for (let i = 1; i <= 100; i++) {
      now = i * 100; // a request every 100 ms for 10 s
      progress.update(`${i}/100 accepted`);
    }
    progress.done();
    expect(text).not.to.include(ESC);
    const lines = text.trim().split("\n");
    expect(lines.length, lines.join(" | ")).to.be.within(5, 7);
    expect(lines[lines.length - 1]).to.equal("100/100 accepted");

    let bar = "";
    const terminal = new Writable({ write: (c, _e, done) => ((bar += c.toString()), done()) });
    const live = progressWriter(terminal, true, () => now);
    live.update("1/2");
    live.update("2/2"); // within 100 ms: held, then shown by done
    live.done();
    expect(bar).to.equal(`\r${ESC}[2K1/2\r${ESC}[2K2/2\n`);
  });

  it("gives a re-drive hint for every parked table, the projector's and the bridge's", () => {
    const fn = (name: string, environment: Record<string, string>) => ({ name, environment }) as unknown as StackManifest["functions"][number];
    const m = {
      functions: [
        fn("orders-projector", { TABLE_NAME: "orders-1a", PARKED_TABLE_NAME: "orders-parked-2b" }),
        fn("analytics-bridge-forwarder", { PARKED_TABLE_NAME: "bridge-parked-3c", TARGET_STREAM_ARN: "arn:aws:kinesis:us-east-1:222222222222:stream/a" }),
        fn("commands-handler", { TABLE_NAME: "orders-1a", STREAM_NAME: "events" }),
      ],
    } as StackManifest;
    expect(redriveHints(m)).to.deep.equal([
      "--table orders-1a --parked orders-parked-2b",
      "--bridge-parked bridge-parked-3c --target-stream-arn arn:aws:kinesis:us-east-1:222222222222:stream/a",
    ]);
  });
});
