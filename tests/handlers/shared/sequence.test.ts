import { expect } from "chai";
import { comparePosition, decodePosition, encodePosition, formatPosition, padSequence, parsePosition, showPosition } from "../../../handlers/shared/sequence";

describe("positions (sequence number, sub-sequence number)", () => {
  const S = "49680751057943672990472753734434855857526885317984911362";
  const next = "49680751057943672990472753734434855857526885317984911363";

  it("stores (sequence, 0) exactly as a padded sequence number was stored before sub-sequences, so old items read as (sequence, 0)", () => {
    expect(encodePosition(S)).to.equal(padSequence(S));
    expect(encodePosition(S, 0)).to.equal(padSequence(S));
    expect(decodePosition(padSequence(S))).to.deep.equal({ sequenceNumber: S, subSequenceNumber: 0 });
    expect(decodePosition(encodePosition(S, 7))).to.deep.equal({ sequenceNumber: S, subSequenceNumber: 7 });
    expect(decodePosition(padSequence("0"))).to.deep.equal({ sequenceNumber: "0", subSequenceNumber: 0 });
  });

  it("orders stored positions as strings in stream order: by sequence number, then sub-sequence number, old form included", () => {
    const ordered = [
      padSequence("9"), // an old item's position: (9, 0)
      encodePosition("9", 1),
      encodePosition("9", 2),
      encodePosition("9", 10),
      encodePosition("9", 123456789),
      padSequence("10"),
      encodePosition(S, 0),
      encodePosition(S, 1),
      encodePosition(S, 99),
      encodePosition(next),
    ];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort()).to.deep.equal(ordered);
    for (let i = 1; i < ordered.length; i++) {
      expect(comparePosition(decodePosition(ordered[i - 1]), decodePosition(ordered[i])), ordered[i]).to.be.below(0);
    }
  });

  it("writes `<sequence>` for sub-sequence 0 and `<sequence>.<sub>` otherwise, and parses both back (leading zeros tolerated)", () => {
    expect(formatPosition({ sequenceNumber: S, subSequenceNumber: 0 })).to.equal(S);
    expect(formatPosition({ sequenceNumber: S, subSequenceNumber: 3 })).to.equal(`${S}.3`);
    expect(showPosition(encodePosition(S, 3))).to.equal(`${S}.3`);
    expect(parsePosition(S)).to.deep.equal({ sequenceNumber: S, subSequenceNumber: 0 });
    expect(parsePosition(`${S}.3`)).to.deep.equal({ sequenceNumber: S, subSequenceNumber: 3 });
    expect(parsePosition(`000${S}.007`)).to.deep.equal({ sequenceNumber: S, subSequenceNumber: 7 });
    for (const bad of ["", ".", "1.", ".1", "1.2.3", "-1", "1e5", "9".repeat(130), `1.${"9".repeat(21)}`, "1.99999999999999999999", "0x10"]) {
      expect(parsePosition(bad), bad).to.equal(undefined);
    }
  });

  it("refuses what is not a position, naming the value", () => {
    expect(() => encodePosition("12a")).to.throw(/not a Kinesis sequence number: 12a/);
    expect(() => encodePosition("12", -1)).to.throw(/not a sub-sequence number.*-1/);
    expect(() => encodePosition("12", 1.5)).to.throw(/not a sub-sequence number.*1\.5/);
  });
});
