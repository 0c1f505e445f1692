//! Counting checks.

/// Passed / failed / skipped counters with the failure messages.
#[derive(Debug, Default)]
pub struct Report {
    passed: usize,
    failed: usize,
    skipped: usize,
    failures: Vec<String>,
    verbose: bool,
}

impl Report {
    pub fn new(verbose: bool) -> Self {
        Self {
            verbose,
            ..Self::default()
        }
    }

    /// Counts one check: passed when `ok`.
    pub fn check(&mut self, name: &str, ok: bool, detail: impl FnOnce() -> String) {
        if ok {
            self.pass(name);
        } else {
            let d = detail();
            self.fail(name, &d);
        }
    }

    /// Counts a check comparing two byte strings.
    pub fn check_eq<T: PartialEq + std::fmt::Debug>(&mut self, name: &str, got: T, want: T) {
        if got == want {
            self.pass(name);
        } else {
            self.fail(name, &format!("got {got:?}, want {want:?}"));
        }
    }

    /// Counts a check that produced a `Result`: `Ok` passes, `Err` fails with its text.
    pub fn check_result<E: std::fmt::Display>(&mut self, name: &str, r: Result<(), E>) {
        match r {
            Ok(()) => self.pass(name),
            Err(e) => self.fail(name, &e.to_string()),
        }
    }

    pub fn pass(&mut self, name: &str) {
        self.passed += 1;
        if self.verbose {
            println!("  ok   {name}");
        }
    }

    pub fn fail(&mut self, name: &str, detail: &str) {
        self.failed += 1;
        self.failures.push(format!("{name}: {detail}"));
        if self.verbose {
            println!("  FAIL {name}: {detail}");
        }
    }

    pub fn skip(&mut self, name: &str, why: &str) {
        self.skipped += 1;
        println!("  skip {name}: {why}");
    }

    pub fn counts(&self) -> (usize, usize, usize) {
        (self.passed, self.failed, self.skipped)
    }

    pub fn print_failures(&self) {
        for f in &self.failures {
            println!("FAIL {f}");
        }
    }
}
