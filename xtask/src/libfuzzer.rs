//! Reading libFuzzer's output: how many inputs ran, and where a crashing input was saved.

/// What xtask learns from one libFuzzer run, fed one line of its standard error at a time.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FuzzLog {
    executed_units: Option<u64>,
    done_runs: Option<u64>,
    average_exec_per_sec: Option<u64>,
    artifact: Option<String>,
    seed_files: Option<u64>,
}

impl FuzzLog {
    /// Takes one line of output (without its line ending; surrounding spaces are ignored).
    pub fn feed_line(&mut self, line: &str) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("stat::number_of_executed_units:") {
            if let Ok(units) = rest.trim().parse() {
                self.executed_units = Some(units);
            }
        } else if let Some(rest) = line.strip_prefix("stat::average_exec_per_sec:") {
            if let Ok(rate) = rest.trim().parse() {
                self.average_exec_per_sec = Some(rate);
            }
        } else if let Some(rest) = line.strip_prefix("Done ") {
            // `Done 2714938 runs in 4 second(s)`
            let mut words = rest.split_whitespace();
            if let (Some(count), Some("runs")) = (words.next(), words.next()) {
                if let Ok(runs) = count.parse() {
                    self.done_runs = Some(runs);
                }
            }
        } else if let Some((_, path)) = line.split_once("Test unit written to ") {
            // `artifact_prefix='…'; Test unit written to /…/crash-2e12…`
            let path = path.trim();
            if !path.is_empty() {
                self.artifact = Some(path.to_owned());
            }
        } else if let Some(rest) = line.strip_prefix("INFO:") {
            // `INFO:        8 files found in fuzz/corpus/toy`
            let mut words = rest.split_whitespace();
            if let (Some(count), Some("files"), Some("found")) =
                (words.next(), words.next(), words.next())
            {
                if let Ok(files) = count.parse() {
                    self.seed_files = Some(files);
                }
            }
        }
    }

    /// Feeds every line of `text`.
    pub fn feed_text(&mut self, text: &str) {
        for line in text.lines() {
            self.feed_line(line);
        }
    }

    /// Inputs executed: the final `stat::number_of_executed_units` (printed with
    /// `-print_final_stats=1`), else the `Done N runs` line; `None` if neither was seen.
    pub fn executions(&self) -> Option<u64> {
        self.executed_units.or(self.done_runs)
    }

    /// libFuzzer's executions per second over its own run time (the build not counted), from
    /// `stat::average_exec_per_sec`; `None` if it did not say.
    pub fn exec_per_second(&self) -> Option<u64> {
        self.average_exec_per_sec
    }

    /// The file a crashing (or leaking, or timing-out) input was written to, if any.
    pub fn artifact(&self) -> Option<&str> {
        self.artifact.as_deref()
    }

    /// How many corpus files libFuzzer found when it started.
    pub fn corpus_files(&self) -> Option<u64> {
        self.seed_files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed output of a real clean run (cargo-fuzz 0.13.2, libfuzzer-sys 0.4.13).
    const CLEAN_RUN: &str = "\
    Finished `release` profile [optimized + debuginfo] target(s) in 0.01s
     Running `fuzz/target/x86_64-unknown-linux-gnu/release/toy -artifact_prefix=/tmp/fz/fuzz/artifacts/toy/ -max_total_time=3 -print_final_stats=1 fuzz/corpus/toy`
INFO: Running with entropic power schedule (0xFF, 100).
INFO: Seed: 2297032174
INFO:        8 files found in fuzz/corpus/toy
INFO: seed corpus: files: 8 min: 4b max: 8b total: 48b rss: 32Mb
#9\tINITED cov: 4 ft: 4 corp: 2/10b exec/s: 0 rss: 33Mb
#1048576\tpulse  cov: 4 ft: 4 corp: 2/10b lim: 4096 exec/s: 524288 rss: 197Mb
Done 2714938 runs in 4 second(s)
stat::number_of_executed_units: 2714938
stat::average_exec_per_sec:     678734
stat::new_units_added:          2
stat::slowest_unit_time_sec:    0
stat::peak_rss_mb:              244
";

    /// Trimmed output of a real crashing run.
    const CRASH_RUN: &str = "\
INFO:        0 files found in fuzz/corpus/toy
thread '<unnamed>' (9257) panicked at fuzz_targets/toy.rs:4:101:
boom
==9257== ERROR: libFuzzer: deadly signal
    #0 0x5643087dd691 in __sanitizer_print_stack_trace
SUMMARY: libFuzzer: deadly signal
MS: 2 ChangeByte-InsertByte-; base unit: 4b0c
artifact_prefix='/tmp/fz/fuzz/artifacts/toy/'; Test unit written to /tmp/fz/fuzz/artifacts/toy/crash-2e12df04f5244df51f23cfb36454b7aa3d093557
stat::number_of_executed_units: 149449
stat::average_exec_per_sec:     0
";

    #[test]
    fn clean_run_reports_executed_units_and_no_artifact() {
        let mut log = FuzzLog::default();
        log.feed_text(CLEAN_RUN);
        assert_eq!(log.executions(), Some(2_714_938));
        assert_eq!(log.exec_per_second(), Some(678_734));
        assert_eq!(log.artifact(), None);
        assert_eq!(log.corpus_files(), Some(8));
    }

    #[test]
    fn crash_run_reports_the_artifact_path() {
        let mut log = FuzzLog::default();
        log.feed_text(CRASH_RUN);
        assert_eq!(
            log.artifact(),
            Some("/tmp/fz/fuzz/artifacts/toy/crash-2e12df04f5244df51f23cfb36454b7aa3d093557")
        );
        assert_eq!(log.executions(), Some(149_449));
        assert_eq!(log.corpus_files(), Some(0));
    }

    #[test]
    fn final_stats_win_over_the_done_line() {
        let mut log = FuzzLog::default();
        log.feed_line("stat::number_of_executed_units: 12");
        log.feed_line("Done 10 runs in 1 second(s)");
        assert_eq!(log.executions(), Some(12));
    }

    #[test]
    fn done_line_alone_is_enough() {
        let mut log = FuzzLog::default();
        log.feed_line("Done 123456 runs in 60 second(s)");
        assert_eq!(log.executions(), Some(123_456));
    }

    #[test]
    fn progress_lines_and_garbage_are_not_counted() {
        let mut log = FuzzLog::default();
        for line in [
            "#1048576\tpulse  cov: 4 ft: 4 corp: 2/10b lim: 4096 exec/s: 524288 rss: 197Mb",
            "Done",
            "Done many runs in 1 second(s)",
            "Done 5 things",
            "stat::number_of_executed_units: lots",
            "stat::average_exec_per_sec:     fast",
            "INFO: Seed: 2297032174",
            "Test unit written to ",
            "",
        ] {
            log.feed_line(line);
        }
        assert_eq!(log, FuzzLog::default());
    }

    #[test]
    fn leading_and_trailing_spaces_are_ignored() {
        let mut log = FuzzLog::default();
        log.feed_line("  stat::number_of_executed_units:   77  \r");
        assert_eq!(log.executions(), Some(77));
    }
}
