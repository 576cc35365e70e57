//! The tasks: each takes a [`Shell`](crate::shell::Shell), which runs or (dry-run) prints.

pub mod bench;
pub mod deps;
pub mod fuzz;
pub mod release;
pub mod reliability;
pub mod soak;
pub mod test;

#[cfg(test)]
pub(crate) mod scratch {
    //! Throw-away directories standing in for the workspace root in tests.

    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    /// A fresh empty directory, removed on drop.
    pub(crate) struct ScratchDir(PathBuf);

    impl ScratchDir {
        pub(crate) fn new() -> ScratchDir {
            let path = std::env::temp_dir().join(format!(
                "xtask-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            ScratchDir(path)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }

        /// Writes `contents` to `relative`, creating parent directories.
        pub(crate) fn write(&self, relative: &str, contents: &str) {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
