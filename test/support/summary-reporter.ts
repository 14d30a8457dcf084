import type { Reporter, TestModule } from "vitest/node";

/** Ends the run with one plain "vitest: N passed, N failed, N skipped" line, which any CI can read. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const count = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") count.passed++;
        else if (state === "failed") failedHere++;
        else count.skipped++;
      }
      // A file that failed outside its tests (import, beforeAll) is a failure even if no test failed.
      count.failed += module.state() === "failed" ? Math.max(failedHere, 1) : failedHere;
    }
    process.stdout.write(
      `\nvitest: ${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped\n`,
    );
  }
}
