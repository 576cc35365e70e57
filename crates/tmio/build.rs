//! Records the build for `tmio --version`: the git commit the binary was built from (when the
//! source is a git checkout and `git` is installed; `TMIO_BUILD_COMMIT` overrides it), the
//! target and the profile. No network is used; without git, the commit is `unknown`.

use std::{path::Path, process::Command};

fn git(arguments: &[&str]) -> Option<String> {
    let output = Command::new("git").args(arguments).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=TMIO_BUILD_COMMIT");
    let commit = match std::env::var("TMIO_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => {
            // Rebuild when HEAD moves: HEAD itself, the branch it points to, packed refs.
            for (dir, file) in [
                (git(&["rev-parse", "--git-dir"]), Some("HEAD".to_owned())),
                (
                    git(&["rev-parse", "--git-common-dir"]),
                    git(&["rev-parse", "--symbolic-full-name", "HEAD"]),
                ),
                (
                    git(&["rev-parse", "--git-common-dir"]),
                    Some("packed-refs".to_owned()),
                ),
            ] {
                if let (Some(dir), Some(file)) = (dir, file) {
                    let path = Path::new(&dir).join(file);
                    if path.exists() {
                        println!("cargo:rerun-if-changed={}", path.display());
                    }
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
        }
    };
    println!("cargo:rustc-env=TMIO_BUILD_COMMIT={commit}");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=TMIO_BUILD_TARGET={target}");
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=TMIO_BUILD_PROFILE={profile}");
}
