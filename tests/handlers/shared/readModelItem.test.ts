import { expect } from "chai";
import { recentEntries, recentLookup } from "../../../handlers/shared/readModelItem";

/** The lookup spelled out over the entries: the newest entry of the id at or after `from` wins. */
function reference(recent: string, eventId: string, from = 0): string | undefined {
  const { eventIds, dataHashes } = recentEntries(recent.slice(from));
  const at = eventIds.lastIndexOf(eventId);
  return eventId === "" || at < 0 ? undefined : dataHashes[at];
}

describe("the dedup window's lookup (recentLookup)", () => {
  it("finds an id only as a whole entry's id, the newest entry winning, plain entries (before the hash) with an empty hash", () => {
    const recent = "01JB0000000000000000000001#aaaaaaaa 01JB00000000000000000000012#bbbbbbbb x1#cccccccc 01JB0000000000000000000001#dddddddd plain";
    expect(recentLookup(recent, "01JB0000000000000000000001")).to.equal("dddddddd");
    expect(recentLookup(recent, "01JB00000000000000000000012")).to.equal("bbbbbbbb");
    expect(recentLookup(recent, "1")).to.equal(undefined); // a suffix of ids, not an id
    expect(recentLookup(recent, "x")).to.equal(undefined); // a prefix
    expect(recentLookup(recent, "01JB000000000000000000000")).to.equal(undefined);
    expect(recentLookup(recent, "plain")).to.equal("");
    expect(recentLookup(recent, "pla")).to.equal(undefined);
    expect(recentLookup(recent, "")).to.equal(undefined);
    expect(recentLookup("", "x1")).to.equal(undefined);
    expect(recentLookup("x1", "x1")).to.equal("");
    expect(recentLookup("x1 x1#abcd", "x1")).to.equal("abcd");
    expect(recentLookup("x1#abcd x1", "x1")).to.equal("");
  });

  it("looks only at the entries from `from` on (an entry boundary), and agrees with the entries spelled out on windows of shared-prefix ids", () => {
    const recent = "a1#11111111 b2#22222222 a1#33333333";
    expect(recentLookup(recent, "a1", 12)).to.equal("33333333");
    expect(recentLookup(recent, "b2", 24)).to.equal(undefined);
    const ids = ["01JBENCH000000000000000007", "01JBENCH000000000000000017", "01JBENCH00000000000000007", "01JBENCH0000000000000000070", "7", "idem-7"];
    let seed = 7;
    const pick = () => ids[(seed = (seed * 1103515245 + 12345) % 2147483648) % ids.length];
    for (let n = 0; n < 300; n++) {
      const entries = Array.from({ length: n % 17 }, (_, i) => (i % 5 === 4 ? pick() : `${pick()}#${(n * 31 + i).toString(16).padStart(8, "0")}`));
      const recent = entries.join(" ");
      const boundaries = [0, ...entries.map((_, i) => entries.slice(0, i + 1).join(" ").length + 1)].filter((b) => b <= recent.length);
      for (const from of boundaries)
        for (const id of ids) expect(recentLookup(recent, id, from), `${id} in "${recent}" from ${from}`).to.equal(reference(recent, id, from));
    }
  });
});
