/**
 * Mocha's spec reporter, plus a results file with the runner's own counts
 * (set MOCHA_RESULTS_FILE) from which .ci/run prints its closing line.
 */
"use strict";
const fs = require("fs");
const Mocha = require("mocha");

class SpecWithResults extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const file = process.env.MOCHA_RESULTS_FILE;
    const failures = [];
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (test, err) => failures.push({ title: test.fullTitle(), error: String(err && err.message) }));
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      if (!file) return;
      const { passes, failures: failed, pending, tests } = runner.stats;
      fs.writeFileSync(file, JSON.stringify({ passed: passes, failed, skipped: pending, tests, failures }, null, 2));
    });
  }
}

module.exports = SpecWithResults;
