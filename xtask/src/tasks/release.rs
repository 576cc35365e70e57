//! `cargo xtask release [--dry-run] VERSION`: bump every crate's version and the inter-crate
//! requirements together, check CHANGELOG.md, run the CI checks, package and dry-run-publish every
//! published crate in dependency order, commit the bump and tag it.
//!
//! Everything that can refuse the release is checked (by [`plan`], then the tag and a clean tree)
//! before any file is touched; a
//! failure later restores the files (manifests and lock files) as they were, and the tag is the
//! last step.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::ReleaseOptions;
use crate::manifest::{self, Entry};
use crate::semver::Version;
use crate::shell::{Cmd, Shell};
use crate::summary::Summary;
use crate::tasks::test;
use crate::Error;

/// The changelog, relative to the workspace root.
pub const CHANGELOG: &str = "CHANGELOG.md";

/// What a release will do, computed from the manifests without changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePlan {
    /// The version every published crate has now.
    pub current: Version,
    /// The version asked for.
    pub next: Version,
    /// The published crates (no `publish = false`), each after the crates it depends on.
    pub publish_order: Vec<String>,
    /// Every workspace member whose version changes, with its current version, in member order.
    pub bumped_crates: Vec<(String, String)>,
    /// The manifest changes.
    pub edits: Vec<FileEdit>,
    /// The lock files that record the bumped versions and exist: the workspace's `Cargo.lock`
    /// and those of the directories in `[workspace] exclude` that depend on members by path
    /// (`fuzz/Cargo.lock`). Relative to the workspace root.
    pub lock_files: Vec<PathBuf>,
}

/// One manifest before and after the bump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    /// Relative to the workspace root.
    pub path: PathBuf,
    /// The file as it is.
    pub before: String,
    /// The file with the new versions.
    pub after: String,
}

impl FileEdit {
    /// The changed lines, `path:line` then `-` old and `+` new.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for (number, (old, new)) in self.before.lines().zip(self.after.lines()).enumerate() {
            if old != new {
                let _ = writeln!(
                    out,
                    "{}:{}\n-{old}\n+{new}",
                    self.path.display(),
                    number + 1
                );
            }
        }
        out
    }
}

impl ReleasePlan {
    /// The whole bump as a diff of changed lines.
    pub fn diff(&self) -> String {
        self.edits.iter().map(FileEdit::diff).collect()
    }

    /// The tag the release ends with.
    pub fn tag(&self) -> String {
        format!("v{}", self.next)
    }
}

/// A workspace member as the release sees it.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    manifest_path: PathBuf,
    text: String,
    entries: Vec<Entry>,
    publish: bool,
    /// `Some(version)` when the crate pins its own; `None` for `version.workspace = true`.
    own_version: Option<String>,
    /// Names of the packages it depends on outside `[dev-dependencies]` (publish order).
    build_and_normal_dependencies: BTreeSet<String>,
}

/// Reads the workspace at `root` and plans the release of `requested`. Refuses, naming the
/// problem, a VERSION that is not semver or not newer than the current one, crates that disagree
/// on the current version, a CHANGELOG.md without a section for VERSION, a dependency cycle
/// among published crates and a published crate depending on an unpublished one.
pub fn plan(root: &Path, requested: &str) -> Result<ReleasePlan, Error> {
    let next: Version = requested
        .parse()
        .map_err(
            |reason: crate::semver::VersionError| Error::InvalidReleaseVersion {
                value: requested.to_owned(),
                reason: reason.0,
            },
        )?;
    let root_path = PathBuf::from("Cargo.toml");
    let root_text = read(root, &root_path)?;
    let root_entries = parse(&root_path, &root_text)?;
    let members = read_members(root, &root_entries)?;
    let workspace_version = root_entries
        .iter()
        .find(|entry| entry.table == "workspace.package" && entry.key == "version")
        .and_then(Entry::string)
        .map(str::to_owned);

    let published: Vec<&Member> = members.iter().filter(|member| member.publish).collect();
    if published.is_empty() {
        return Err(Error::NoPublishedCrates);
    }
    let mut versions = Vec::new();
    for member in &published {
        let version = match (&member.own_version, &workspace_version) {
            (Some(version), _) | (None, Some(version)) => version.clone(),
            (None, None) => {
                return Err(Error::Manifest {
                    path: member.manifest_path.clone(),
                    problem: "`version.workspace = true` but the workspace has no [workspace.package] version".to_owned(),
                })
            }
        };
        versions.push((member.name.clone(), version));
    }
    if versions
        .iter()
        .any(|(_, version)| *version != versions[0].1)
    {
        return Err(Error::CratesDisagreeOnVersion(versions));
    }
    let current: Version =
        versions[0]
            .1
            .parse()
            .map_err(|reason: crate::semver::VersionError| Error::Manifest {
                path: published[0].manifest_path.clone(),
                problem: format!("version `{}`: {reason}", versions[0].1),
            })?;
    if !next.is_newer_than(&current) {
        return Err(Error::ReleaseVersionNotNewer {
            current: current.to_string(),
            requested: next.to_string(),
        });
    }
    check_changelog(root, &next)?;
    let publish_order = publish_order(&members)?;

    // Who changes version: published crates, and whatever inherits the workspace version.
    let bump_workspace_version = published.iter().any(|member| member.own_version.is_none());
    let bumped_crates: Vec<(String, String)> = members
        .iter()
        .filter_map(|member| match &member.own_version {
            Some(version) if member.publish => Some((member.name.clone(), version.clone())),
            None if bump_workspace_version => workspace_version
                .as_ref()
                .map(|version| (member.name.clone(), version.clone())),
            _ => None,
        })
        .collect();
    let bumped_names: BTreeSet<&str> = bumped_crates
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let new_version = next.to_string();

    let mut edits = Vec::new();
    let mut root_after = root_text.clone();
    for entry in &root_entries {
        if entry.table == "workspace.package" && entry.key == "version" && bump_workspace_version {
            if let Some(span) = entry.string_span() {
                root_after = manifest::replace_in_line(&root_after, entry.line, span, &new_version);
            }
        } else if entry.table == "workspace.dependencies" {
            root_after = bump_requirement(root_after, entry, &bumped_names, &new_version);
        }
    }
    push_edit(&mut edits, root_path, root_text, root_after);
    let mut lock_dirs = vec![PathBuf::new()];
    if let Some(excluded) = root_entries
        .iter()
        .find(|entry| entry.table == "workspace" && entry.key == "exclude")
        .and_then(Entry::strings)
    {
        lock_dirs.extend(excluded.into_iter().map(PathBuf::from));
    }
    let lock_files = lock_dirs
        .into_iter()
        .map(|dir| dir.join("Cargo.lock"))
        .filter(|lock| {
            root.join(lock).is_file() && root.join(lock).with_file_name("Cargo.toml").is_file()
        })
        .collect();
    for member in &members {
        let mut after = member.text.clone();
        for entry in &member.entries {
            if entry.table == "package" && entry.key == "version" && member.publish {
                if let Some(span) = entry.string_span() {
                    after = manifest::replace_in_line(&after, entry.line, span, &new_version);
                }
            } else if is_dependency_table(&entry.table) {
                after = bump_requirement(after, entry, &bumped_names, &new_version);
            }
        }
        push_edit(
            &mut edits,
            member.manifest_path.clone(),
            member.text.clone(),
            after,
        );
    }
    Ok(ReleasePlan {
        current,
        next,
        publish_order,
        bumped_crates,
        edits,
        lock_files,
    })
}

fn push_edit(edits: &mut Vec<FileEdit>, path: PathBuf, before: String, after: String) {
    if before != after {
        edits.push(FileEdit {
            path,
            before,
            after,
        });
    }
}

fn read(root: &Path, relative: &Path) -> Result<String, Error> {
    std::fs::read_to_string(root.join(relative)).map_err(|source| Error::Io {
        context: format!("reading {}", relative.display()),
        source,
    })
}

fn parse(path: &Path, text: &str) -> Result<Vec<Entry>, Error> {
    let entries = manifest::entries(text).map_err(|(line, content)| Error::Manifest {
        path: path.to_owned(),
        problem: format!("line {line} is not `key = value` as xtask reads it: {content}"),
    })?;
    // `[dependencies.NAME]` tables would escape the bump: refuse them rather than miss one.
    if let Some(entry) = entries
        .iter()
        .find(|entry| entry.table.contains("dependencies."))
    {
        return Err(Error::Manifest {
            path: path.to_owned(),
            problem: format!(
                "[{}]: write dependencies inline (`NAME = {{ ... }}`), xtask release reads no other form",
                entry.table
            ),
        });
    }
    Ok(entries)
}

/// `dependencies`, `dev-dependencies`, `build-dependencies`, `target.'…'.dependencies`, ...
fn is_dependency_table(table: &str) -> bool {
    table.ends_with("dependencies")
}

/// The package a dependency entry names (`package = "…"` renames it).
fn dependency_package(entry: &Entry) -> String {
    let key = entry.key.strip_suffix(".workspace").unwrap_or(&entry.key);
    entry
        .inline_table()
        .and_then(|fields| {
            fields
                .iter()
                .find(|field| field.key == "package")
                .and_then(|field| field.string().map(str::to_owned))
        })
        .unwrap_or_else(|| key.trim_matches('"').to_owned())
}

/// Sets the `version` requirement of a dependency on a bumped crate to the new version.
fn bump_requirement(
    text: String,
    entry: &Entry,
    bumped: &BTreeSet<&str>,
    new_version: &str,
) -> String {
    if !bumped.contains(dependency_package(entry).as_str()) {
        return text;
    }
    let Some(fields) = entry.inline_table() else {
        return text;
    };
    let Some(span) = fields
        .iter()
        .find(|field| field.key == "version")
        .and_then(|field| field.string_span())
    else {
        return text;
    };
    // Keep an operator (`=0.1.0`, `^0.1`), replace the version after it.
    let line = text.lines().nth(entry.line).unwrap_or_default();
    let requirement = line.get(span.clone()).unwrap_or_default();
    let operator_len = requirement.len()
        - requirement
            .trim_start_matches(['=', '^', '~', '>', '<', ' '])
            .len();
    let replacement = format!("{}{new_version}", &requirement[..operator_len]);
    manifest::replace_in_line(&text, entry.line, span, &replacement)
}

/// The members listed in `[workspace] members`, in that order (`dir/*` globs expanded, sorted).
fn read_members(root: &Path, root_entries: &[Entry]) -> Result<Vec<Member>, Error> {
    let listed = root_entries
        .iter()
        .find(|entry| entry.table == "workspace" && entry.key == "members")
        .and_then(Entry::strings)
        .ok_or_else(|| Error::Manifest {
            path: PathBuf::from("Cargo.toml"),
            problem: "no `[workspace] members = [...]` list of strings".to_owned(),
        })?;
    let mut dirs = Vec::new();
    for pattern in listed {
        match pattern.strip_suffix("/*") {
            Some(parent) if !parent.contains(['*', '?', '[']) => {
                let listing = std::fs::read_dir(root.join(parent)).map_err(|source| Error::Io {
                    context: format!("listing workspace members in {parent}/"),
                    source,
                })?;
                let mut found: Vec<PathBuf> = listing
                    .filter_map(Result::ok)
                    .map(|dir_entry| Path::new(parent).join(dir_entry.file_name()))
                    .filter(|dir| root.join(dir).join("Cargo.toml").is_file())
                    .collect();
                found.sort();
                dirs.extend(found);
            }
            _ if pattern.contains(['*', '?', '[']) => {
                return Err(Error::Manifest {
                    path: PathBuf::from("Cargo.toml"),
                    problem: format!(
                        "member pattern `{pattern}`: only `dir/*` globs are supported"
                    ),
                })
            }
            _ => dirs.push(PathBuf::from(pattern)),
        }
    }
    dirs.iter().map(|dir| read_member(root, dir)).collect()
}

fn read_member(root: &Path, dir: &Path) -> Result<Member, Error> {
    let manifest_path = dir.join("Cargo.toml");
    let text = read(root, &manifest_path)?;
    let entries = parse(&manifest_path, &text)?;
    let package = |key: &str| {
        entries
            .iter()
            .find(|entry| entry.table == "package" && entry.key == key)
    };
    let name = package("name")
        .and_then(Entry::string)
        .ok_or_else(|| Error::Manifest {
            path: manifest_path.clone(),
            problem: "no [package] name".to_owned(),
        })?
        .to_owned();
    // `publish = false` or `publish = []` keeps a crate off every registry.
    let publish = package("publish").is_none_or(|entry| {
        entry.value != "false"
            && entry
                .strings()
                .is_none_or(|registries| !registries.is_empty())
    });
    let own_version = match package("version") {
        Some(entry) => Some(
            entry
                .string()
                .ok_or_else(|| Error::Manifest {
                    path: manifest_path.clone(),
                    problem: format!("[package] version `{}` is not a string", entry.value),
                })?
                .to_owned(),
        ),
        None if package("version.workspace").is_some() => None,
        None => Some("0.0.0".to_owned()),
    };
    let build_and_normal_dependencies = entries
        .iter()
        .filter(|entry| {
            is_dependency_table(&entry.table) && !entry.table.ends_with("dev-dependencies")
        })
        .map(dependency_package)
        .collect();
    Ok(Member {
        name,
        manifest_path,
        text,
        entries,
        publish,
        own_version,
        build_and_normal_dependencies,
    })
}

/// The published members, each after every member it depends on (dev-dependencies aside, as
/// cargo strips path-only ones when packaging); among crates that are ready, the one listed
/// first in `members` goes first.
fn publish_order(members: &[Member]) -> Result<Vec<String>, Error> {
    let names: BTreeMap<&str, &Member> = members
        .iter()
        .map(|member| (member.name.as_str(), member))
        .collect();
    let mut waiting: Vec<(&Member, BTreeSet<&str>)> = Vec::new();
    for member in members.iter().filter(|member| member.publish) {
        let mut needs = BTreeSet::new();
        for dependency in &member.build_and_normal_dependencies {
            match names.get(dependency.as_str()) {
                Some(other) if !other.publish => {
                    return Err(Error::PublishedDependsOnUnpublished {
                        published: member.name.clone(),
                        unpublished: other.name.clone(),
                    })
                }
                Some(other) if other.name != member.name => {
                    needs.insert(other.name.as_str());
                }
                _ => {}
            }
        }
        waiting.push((member, needs));
    }
    let mut order: Vec<String> = Vec::new();
    while !waiting.is_empty() {
        let Some(ready) = waiting.iter().position(|(_, needs)| {
            needs
                .iter()
                .all(|need| order.iter().any(|done| done == need))
        }) else {
            return Err(Error::DependencyCycle(
                waiting
                    .iter()
                    .map(|(member, _)| member.name.clone())
                    .collect(),
            ));
        };
        let (member, _) = waiting.remove(ready);
        order.push(member.name.clone());
    }
    Ok(order)
}

/// CHANGELOG.md must have a `## ` heading naming `version` (`## 0.2.0`, `## [0.2.0] - date`,
/// `## v0.2.0`).
fn check_changelog(root: &Path, version: &Version) -> Result<(), Error> {
    let missing = || Error::ChangelogMissingVersion {
        version: version.to_string(),
        path: PathBuf::from(CHANGELOG),
    };
    let text = std::fs::read_to_string(root.join(CHANGELOG)).map_err(|_| missing())?;
    let wanted = version.to_string();
    let found = text.lines().any(|line| {
        let Some(heading) = line.strip_prefix("## ") else {
            return false;
        };
        let heading = heading.trim_start().trim_start_matches('[');
        let heading = heading.strip_prefix('v').unwrap_or(heading);
        heading
            .strip_prefix(wanted.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([']', ' ', '\t']))
    });
    if found {
        Ok(())
    } else {
        Err(missing())
    }
}

/// Prints the plan: versions, publish order, the bump as a diff.
pub fn describe(plan: &ReleasePlan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "release {} -> {} (tag {})",
        plan.current,
        plan.next,
        plan.tag()
    );
    let _ = writeln!(out, "publish order: {}", plan.publish_order.join(", "));
    for (name, old) in &plan.bumped_crates {
        let _ = writeln!(out, "  {name}: {old} -> {}", plan.next);
    }
    let locks: Vec<String> = plan
        .lock_files
        .iter()
        .map(|lock| lock.display().to_string())
        .collect();
    let _ = writeln!(out, "lock files updated: {}", locks.join(", "));
    let _ = write!(out, "version bump:\n{}", plan.diff());
    out
}

/// Runs the release, or with `dry_run` everything that changes nothing: the plan and its diff,
/// the CI checks, `cargo package` and `cargo publish --dry-run` of the current tree (with
/// `--allow-dirty`), no file written, no commit, no tag.
pub fn run(shell: &Shell, options: &ReleaseOptions, dry_run: bool) -> Result<(), Error> {
    let mut plan = plan(shell.root(), &options.version)?;
    keep_tracked_lock_files(shell, &mut plan)?;
    println!("{}", describe(&plan));
    check_git(shell, &plan, dry_run)?;
    let mut summary = Summary::new();
    let result = if dry_run {
        run_checks(shell, options, &plan, &plan.current, &mut summary)
    } else {
        release(shell, options, &plan, &mut summary)
    };
    println!("\n{summary}");
    match &result {
        Ok(()) if dry_run => println!(
            "xtask release: dry run of {} passed; no file changed, nothing tagged",
            plan.next
        ),
        Ok(()) => println!(
            "xtask release: {} committed and tagged {}; publish with `cargo publish --workspace` and push the tag",
            plan.next,
            plan.tag()
        ),
        Err(_) => {}
    }
    result
}

/// Keeps the lock files git tracks: an untracked one is not the release's to update or commit.
fn keep_tracked_lock_files(shell: &Shell, plan: &mut ReleasePlan) -> Result<(), Error> {
    if plan.lock_files.is_empty() {
        return Ok(());
    }
    let tracked = shell.query(
        &Cmd::new("git").args(["ls-files", "--"]).args(
            plan.lock_files
                .iter()
                .map(|lock| lock.to_string_lossy().into_owned()),
        ),
    )?;
    let tracked: Vec<&Path> = tracked.lines().map(Path::new).collect();
    plan.lock_files
        .retain(|lock| tracked.contains(&lock.as_path()));
    Ok(())
}

/// Refuses an existing tag (both modes) and a dirty tree (real run only).
fn check_git(shell: &Shell, plan: &ReleasePlan, dry_run: bool) -> Result<(), Error> {
    let tags = shell.query(&Cmd::new("git").args(["tag", "--list", &plan.tag()]))?;
    if tags.lines().any(|line| line.trim() == plan.tag()) {
        return Err(Error::TagExists(plan.tag()));
    }
    let status = shell.query(&Cmd::new("git").args(["status", "--porcelain"]))?;
    let dirty: Vec<String> = status.lines().map(str::to_owned).collect();
    if !dirty.is_empty() {
        if dry_run {
            println!(
                "xtask release: the tree has {} uncommitted change(s); a real release would refuse it",
                dirty.len()
            );
        } else {
            return Err(Error::DirtyTree(dirty));
        }
    }
    Ok(())
}

/// The CI checks (the steps of `cargo xtask test`), then packaging and the publish dry run.
/// `version` is the one the crates have when packaged (the current one in a dry run).
fn run_checks(
    shell: &Shell,
    options: &ReleaseOptions,
    plan: &ReleasePlan,
    version: &Version,
    summary: &mut Summary,
) -> Result<(), Error> {
    let recording = shell.is_dry_run();
    let checks = test::run_steps(shell, &options.checks, summary);
    let packages: Vec<String> = plan
        .publish_order
        .iter()
        .flat_map(|name| ["-p".to_owned(), name.clone()])
        .collect();
    // Each crate is verified against the others as packaged (cargo's local overlay registry),
    // so tmio-preset builds against the tmio-url .crate of this release, not crates.io's.
    let cargo_home = cargo_home();
    let package = summary.step("package", recording, || {
        // Cargo takes a registry crate's name and version for its content: what an earlier
        // packaging at this version unpacked and compiled would be reused as it was.
        if let Some(cargo_home) = &cargo_home {
            remove_unpacked_copies(shell, cargo_home, &plan.publish_order, version)?;
        }
        shell.run(&Cmd::cargo().arg("clean").args(packages.clone()))?;
        shell
            .run(
                &Cmd::cargo()
                    .args(["package", "--allow-dirty"])
                    .args(packages.clone()),
            )
            .map(|()| plan.publish_order.join(" "))
    });
    let publish = summary.step("publish --dry-run", recording, || {
        shell
            .run(
                &Cmd::cargo()
                    .args(["publish", "--dry-run", "--allow-dirty"])
                    .args(packages.clone()),
            )
            .map(|()| String::new())
    });
    checks.and(package).and(publish)
}

/// `$CARGO_HOME`, else `$HOME/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

/// Removes the copies of `crates` at `version` that an earlier packaging unpacked from cargo's
/// temporary overlay registry (`$CARGO_HOME/registry/src/-HASH/NAME-VERSION`, the registry without
/// a name). Cargo unpacks a crate there once per name and version and then reuses the copy even
/// when the `.crate` has changed, so a second packaging at the same version (a dry run after a
/// change, a release retried after a failure) would verify against the old sources. Copies from
/// named registries (crates.io) and of other crates or versions are left alone.
pub fn remove_unpacked_copies(
    shell: &Shell,
    cargo_home: &Path,
    crates: &[String],
    version: &Version,
) -> Result<(), Error> {
    let sources = cargo_home.join("registry").join("src");
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return Ok(());
    };
    let mut registries: Vec<PathBuf> = registries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with('-'))
        .map(|entry| entry.path())
        .collect();
    registries.sort();
    for registry in registries {
        for name in crates {
            let copy = registry.join(format!("{name}-{version}"));
            if !copy.is_dir() {
                continue;
            }
            shell.announce(&format!("remove stale unpacked copy {}", copy.display()));
            if !shell.is_dry_run() {
                std::fs::remove_dir_all(&copy).map_err(|source| Error::Io {
                    context: format!("removing {}", copy.display()),
                    source,
                })?;
            }
        }
    }
    Ok(())
}

/// The real release: bump, check, commit, tag; the files are restored after any failure
/// before the commit, and the commit is undone when the tag cannot be made.
fn release(
    shell: &Shell,
    options: &ReleaseOptions,
    plan: &ReleasePlan,
    summary: &mut Summary,
) -> Result<(), Error> {
    let mut locks_before = Vec::new();
    for lock in &plan.lock_files {
        let before = std::fs::read(shell.root().join(lock)).map_err(|source| Error::Io {
            context: format!("reading {}", lock.display()),
            source,
        })?;
        locks_before.push((lock, before));
    }
    let restore = || {
        for edit in &plan.edits {
            shell.announce(&format!("restore {}", edit.path.display()));
            if !shell.is_dry_run() {
                let _ = std::fs::write(shell.root().join(&edit.path), &edit.before);
            }
        }
        for (lock, before) in &locks_before {
            shell.announce(&format!("restore {}", lock.display()));
            if !shell.is_dry_run() {
                let _ = std::fs::write(shell.root().join(lock), before);
            }
        }
    };
    let recording = shell.is_dry_run();
    let bumped = summary.step("bump", recording, || {
        for edit in &plan.edits {
            shell.announce(&format!(
                "write {} ({} -> {})",
                edit.path.display(),
                plan.current,
                plan.next
            ));
            if !shell.is_dry_run() {
                std::fs::write(shell.root().join(&edit.path), &edit.after).map_err(|source| {
                    Error::Io {
                        context: format!("writing {}", edit.path.display()),
                        source,
                    }
                })?;
            }
        }
        // Lock files record the members' versions (also as path dependencies of the excluded
        // fuzz workspace): bring them along.
        for lock in &plan.lock_files {
            let update = Cmd::cargo().args(["update", "--workspace"]);
            let manifest = lock.with_file_name("Cargo.toml");
            shell.run(&if manifest == Path::new("Cargo.toml") {
                update
            } else {
                update
                    .arg("--manifest-path")
                    .arg(manifest.to_string_lossy())
            })?;
        }
        Ok(format!(
            "{} manifests, {} lock files",
            plan.edits.len(),
            plan.lock_files.len()
        ))
    });
    let checked = bumped.and(run_checks(shell, options, plan, &plan.next, summary));
    let mut files: Vec<String> = plan
        .edits
        .iter()
        .map(|edit| edit.path.to_string_lossy().into_owned())
        .collect();
    files.extend(
        plan.lock_files
            .iter()
            .map(|lock| lock.to_string_lossy().into_owned()),
    );
    // After a failure the summary only records "not run" and does not call the step.
    let committed = summary.step("commit", recording, || {
        shell.run(&Cmd::new("git").arg("add").arg("--").args(files.clone()))?;
        shell.run(&Cmd::new("git").args([
            "commit",
            "--quiet",
            "-m",
            &format!("release {}", plan.next),
        ]))?;
        Ok(String::new())
    });
    if let Err(error) = checked.and(committed) {
        // Unstage whatever `git add` staged, then put the files back.
        let _ = shell.run(
            &Cmd::new("git")
                .args(["reset", "--quiet", "--"])
                .args(files.clone()),
        );
        restore();
        summary.skip("tag", "");
        return Err(error);
    }
    summary.step("tag", recording, || {
        let tagged = shell.run(&Cmd::new("git").args([
            "tag",
            "-a",
            &plan.tag(),
            "-m",
            &format!("tmio {}", plan.next),
        ]));
        if tagged.is_err() {
            // The tree was clean before the bump: the commit holds only the bump.
            let _ = shell.run(&Cmd::new("git").args(["reset", "--quiet", "--keep", "HEAD~1"]));
            restore();
        }
        tagged.map(|()| plan.tag())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::TestOptions;
    use crate::tasks::scratch::ScratchDir;

    /// A small workspace shaped like tmio's: a workspace version, path dependencies with
    /// version requirements through `[workspace.dependencies]`, one crate pinning its own
    /// version and depending by path directly, an unpublished test kit and tool.
    fn fake_workspace() -> ScratchDir {
        let root = ScratchDir::new();
        root.write(
            "Cargo.toml",
            r#"[workspace]
resolver = "2"
members = [
    "crates/app",
    "crates/net",
    "crates/core",
    "crates/kit",
    "tools",
]
exclude = ["fuzzing", "gone", "ignored"]

[workspace.package]
version = "0.3.1"
edition = "2021"

[workspace.dependencies]
core = { path = "crates/core", version = "0.3.1" }
net = { path = "crates/net", version = "=0.3.1" }
kit = { path = "crates/kit" }
tokio = { version = "1", features = ["rt", "net"] }
"#,
        );
        root.write(
            "crates/app/Cargo.toml",
            r#"[package]
name = "app"
version = "0.3.1" # pinned
edition.workspace = true

[dependencies]
net.workspace = true
core-renamed = { package = "core", path = "../core", version = "0.3.1" }

[dev-dependencies]
kit.workspace = true
"#,
        );
        root.write(
            "crates/net/Cargo.toml",
            r#"[package]
name = "net"
version.workspace = true

[target.'cfg(unix)'.dependencies]
core = { workspace = true, features = ["x"] }
tokio.workspace = true
"#,
        );
        root.write(
            "crates/core/Cargo.toml",
            "[package]\nname = \"core\"\nversion.workspace = true\n\n[dev-dependencies]\nkit.workspace = true\n",
        );
        root.write(
            "crates/kit/Cargo.toml",
            "[package]\nname = \"kit\"\nversion.workspace = true\npublish = false\n\n[dependencies]\ncore.workspace = true\n",
        );
        root.write(
            "tools/Cargo.toml",
            "[package]\nname = \"tools\"\nversion = \"0.0.0\"\npublish = false\n\n[dependencies]\napp = { path = \"../crates/app\" }\n",
        );
        root.write(
            CHANGELOG,
            "# Changelog\n\n## Unreleased\n\n## [0.4.0] - 2026-12-06\n- things\n\n## 0.3.1\n",
        );
        root.write("Cargo.lock", "# the workspace's lock\n");
        root.write(
            "fuzzing/Cargo.toml",
            "[package]\nname = \"fuzzing\"\n\n[dependencies]\ncore = { path = \"../crates/core\" }\n\n[workspace]\n",
        );
        root.write("fuzzing/Cargo.lock", "# the fuzzing lock\n");
        // An excluded tool whose lock file git ignores.
        root.write(
            "ignored/Cargo.toml",
            "[package]\nname = \"ignored\"\n\n[workspace]\n",
        );
        root.write("ignored/Cargo.lock", "# not tracked\n");
        root.write(".gitignore", "ignored/Cargo.lock\n");
        root
    }

    #[test]
    fn plan_orders_dependencies_first_and_bumps_every_requirement() {
        let root = fake_workspace();
        let plan = plan(root.path(), "0.4.0").unwrap();
        assert_eq!(plan.current.to_string(), "0.3.1");
        assert_eq!(plan.next.to_string(), "0.4.0");
        assert_eq!(plan.tag(), "v0.4.0");
        // Listed app, net, core: dependencies first whatever the listing order.
        assert_eq!(plan.publish_order, ["core", "net", "app"]);
        assert_eq!(
            plan.bumped_crates,
            [
                ("app".to_owned(), "0.3.1".to_owned()),
                ("net".to_owned(), "0.3.1".to_owned()),
                ("core".to_owned(), "0.3.1".to_owned()),
                ("kit".to_owned(), "0.3.1".to_owned()),
            ]
        );
        assert_eq!(
            plan.diff(),
            "Cargo.toml:13\n-version = \"0.3.1\"\n+version = \"0.4.0\"\n\
             Cargo.toml:17\n-core = { path = \"crates/core\", version = \"0.3.1\" }\n+core = { path = \"crates/core\", version = \"0.4.0\" }\n\
             Cargo.toml:18\n-net = { path = \"crates/net\", version = \"=0.3.1\" }\n+net = { path = \"crates/net\", version = \"=0.4.0\" }\n\
             crates/app/Cargo.toml:3\n-version = \"0.3.1\" # pinned\n+version = \"0.4.0\" # pinned\n\
             crates/app/Cargo.toml:8\n-core-renamed = { package = \"core\", path = \"../core\", version = \"0.3.1\" }\n+core-renamed = { package = \"core\", path = \"../core\", version = \"0.4.0\" }\n"
        );
        // The excluded directories' lock files come along (`run` then keeps those git tracks);
        // a missing one does not.
        assert_eq!(
            plan.lock_files,
            [
                PathBuf::from("Cargo.lock"),
                PathBuf::from("fuzzing/Cargo.lock"),
                PathBuf::from("ignored/Cargo.lock")
            ]
        );
        // The plan changed nothing on disk.
        for edit in &plan.edits {
            assert_eq!(
                std::fs::read_to_string(root.path().join(&edit.path)).unwrap(),
                edit.before
            );
        }
    }

    #[test]
    fn bad_versions_are_refused_before_anything_else() {
        let root = fake_workspace();
        let error = plan(root.path(), "0.4").unwrap_err();
        assert!(
            matches!(&error, Error::InvalidReleaseVersion { value, .. } if value == "0.4"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "release version `0.4` is not a semantic version: expected MAJOR.MINOR.PATCH, three numbers separated by dots"
        );
        for not_newer in ["0.3.1", "0.3.0", "0.3.1-rc.1", "0.2.9"] {
            let error = plan(root.path(), not_newer).unwrap_err();
            assert!(
                matches!(&error, Error::ReleaseVersionNotNewer { current, requested }
                    if current == "0.3.1" && requested == not_newer),
                "{not_newer}: {error:?}"
            );
        }
        assert_eq!(
            plan(root.path(), "0.3.0").unwrap_err().to_string(),
            "release version 0.3.0 is not newer than the current 0.3.1"
        );
    }

    #[test]
    fn a_version_without_a_changelog_section_is_refused() {
        let root = fake_workspace();
        // 0.3.2 is newer, but CHANGELOG.md only has Unreleased, 0.4.0 and 0.3.1.
        let error = plan(root.path(), "0.3.2").unwrap_err();
        assert!(
            matches!(&error, Error::ChangelogMissingVersion { version, .. } if version == "0.3.2"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "CHANGELOG.md has no section for 0.3.2: rename `## Unreleased` to `## 0.3.2` (see the rule at its top)"
        );
        // `## [0.4.0] - date` counts; so does `## v0.5.0`; a longer version does not.
        root.write(CHANGELOG, "## v0.5.0\n## 0.6.0-rc.1\n");
        assert!(plan(root.path(), "0.5.0").is_ok());
        assert!(plan(root.path(), "0.6.0").is_err());
        std::fs::remove_file(root.path().join(CHANGELOG)).unwrap();
        assert!(matches!(
            plan(root.path(), "0.5.0"),
            Err(Error::ChangelogMissingVersion { .. })
        ));
    }

    #[test]
    fn inconsistent_or_cyclic_workspaces_are_refused_by_name() {
        let root = fake_workspace();
        root.write(
            "crates/app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.2.0\"\n",
        );
        let error = plan(root.path(), "0.4.0").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the published crates disagree on the current version: app 0.2.0, net 0.3.1, core 0.3.1"
        );
        let root = fake_workspace();
        root.write(
            "crates/core/Cargo.toml",
            "[package]\nname = \"core\"\nversion.workspace = true\n[dependencies]\napp = { path = \"../app\", version = \"0.3.1\" }\n",
        );
        let error = plan(root.path(), "0.4.0").unwrap_err();
        assert_eq!(
            error.to_string(),
            "these published crates cannot be ordered, their dependencies form a cycle: app, net, core"
        );
        let root = fake_workspace();
        root.write(
            "crates/core/Cargo.toml",
            "[package]\nname = \"core\"\nversion.workspace = true\n[build-dependencies]\nkit.workspace = true\n",
        );
        let error = plan(root.path(), "0.4.0").unwrap_err();
        assert_eq!(
            error.to_string(),
            "published crate `core` depends on `kit`, which has `publish = false`"
        );
        let root = fake_workspace();
        root.write(
            "crates/core/Cargo.toml",
            "[package]\nname = \"core\"\nversion.workspace = true\n[dev-dependencies.kit]\nworkspace = true\n",
        );
        let error = plan(root.path(), "0.4.0").unwrap_err();
        assert_eq!(
            error.to_string(),
            "crates/core/Cargo.toml: [dev-dependencies.kit]: write dependencies inline (`NAME = { ... }`), xtask release reads no other form"
        );
    }

    #[test]
    fn this_workspace_bumps_every_requirement_and_publishes_dependencies_first() {
        // A temporary copy of tmio's manifests, with a CHANGELOG section for a far version.
        let project = crate::project_root();
        let copy = ScratchDir::new();
        let root_text = read(&project, Path::new("Cargo.toml")).unwrap();
        copy.write("Cargo.toml", &root_text);
        let members = read_members(
            &project,
            &parse(Path::new("Cargo.toml"), &root_text).unwrap(),
        )
        .unwrap();
        for member in &members {
            copy.write(&member.manifest_path.to_string_lossy(), &member.text);
        }
        copy.write(CHANGELOG, "## Unreleased\n\n## 1000.0.0\n");
        for file in ["Cargo.lock", "fuzz/Cargo.toml", "fuzz/Cargo.lock"] {
            copy.write(file, &read(&project, Path::new(file)).unwrap());
        }
        let plan = plan(copy.path(), "1000.0.0").unwrap();

        // The fuzz workspace depends on the crates by path: its lock file comes along.
        assert_eq!(
            plan.lock_files,
            [
                PathBuf::from("Cargo.lock"),
                PathBuf::from("fuzz/Cargo.lock")
            ]
        );

        // The issue's order (tmio-ffi, once it exists, goes wherever its dependencies put it).
        let issue_order = [
            "tmio-url",
            "tmio-preset",
            "tmio-transport",
            "tmio-pump",
            "tmio-proxy",
            "tmio",
        ];
        let listed: Vec<&str> = plan
            .publish_order
            .iter()
            .map(String::as_str)
            .filter(|name| issue_order.contains(name))
            .collect();
        assert_eq!(listed, issue_order);
        for unpublished in ["tmio-testkit", "tmio-benches", "xtask"] {
            assert!(
                !plan.publish_order.iter().any(|name| name == unpublished),
                "{unpublished}"
            );
        }
        for member in members.iter().filter(|member| member.publish) {
            let position = |name: &str| plan.publish_order.iter().position(|n| n == name);
            for dependency in &member.build_and_normal_dependencies {
                if let Some(before) = position(dependency) {
                    assert!(
                        before < position(&member.name).unwrap(),
                        "{} needs {dependency}",
                        member.name
                    );
                }
            }
        }

        // After the bump, every version requirement on a member and every published crate's
        // version say 1000.0.0.
        let after = |path: &str| {
            plan.edits
                .iter()
                .find(|edit| edit.path == Path::new(path))
                .map_or_else(
                    || read(copy.path(), Path::new(path)).unwrap(),
                    |edit| edit.after.clone(),
                )
        };
        let member_names: Vec<&str> = members.iter().map(|member| member.name.as_str()).collect();
        let mut requirements = 0;
        let mut manifests = vec!["Cargo.toml".to_owned()];
        manifests.extend(
            members
                .iter()
                .map(|member| member.manifest_path.to_string_lossy().into_owned()),
        );
        for path in &manifests {
            for entry in manifest::entries(&after(path)).unwrap() {
                if entry.table == "workspace.package" && entry.key == "version" {
                    assert_eq!(entry.string(), Some("1000.0.0"));
                }
                if !(entry.table.ends_with("dependencies")
                    && member_names.contains(&dependency_package(&entry).as_str()))
                {
                    continue;
                }
                let fields = entry.inline_table().unwrap_or_default();
                if let Some(version) = fields.iter().find(|field| field.key == "version") {
                    assert_eq!(version.string(), Some("1000.0.0"), "{path}: {}", entry.key);
                    requirements += 1;
                }
            }
        }
        // tmio-url, tmio-preset, tmio-transport, tmio-pump, tmio-proxy at least.
        assert!(requirements >= 5, "{requirements}");
    }

    #[test]
    fn stale_unpacked_copies_of_the_released_crates_are_removed_and_nothing_else() {
        let home = ScratchDir::new();
        for dir in [
            "registry/src/-0123abcd/core-0.4.0/src",
            "registry/src/-0123abcd/net-0.4.0",
            "registry/src/-0123abcd/core-0.3.1",
            "registry/src/-0123abcd/tokio-0.4.0",
            "registry/src/-9999ffff/app-0.4.0",
            "registry/src/index.crates.io-1949cf8c6b5b557f/core-0.4.0",
        ] {
            std::fs::create_dir_all(home.path().join(dir)).unwrap();
        }
        let crates = ["core", "net", "app"].map(String::from);
        let version: Version = "0.4.0".parse().unwrap();

        // A recording shell lists and removes nothing.
        let shell = Shell::new(home.path(), true);
        remove_unpacked_copies(&shell, home.path(), &crates, &version).unwrap();
        let src = home.path().join("registry/src");
        assert_eq!(
            shell.planned(),
            [
                format!(
                    "remove stale unpacked copy {}",
                    src.join("-0123abcd/core-0.4.0").display()
                ),
                format!(
                    "remove stale unpacked copy {}",
                    src.join("-0123abcd/net-0.4.0").display()
                ),
                format!(
                    "remove stale unpacked copy {}",
                    src.join("-9999ffff/app-0.4.0").display()
                ),
            ]
        );
        assert!(src.join("-0123abcd/core-0.4.0").is_dir());

        let shell = Shell::new(home.path(), false);
        remove_unpacked_copies(&shell, home.path(), &crates, &version).unwrap();
        for (dir, kept) in [
            ("-0123abcd/core-0.4.0", false),
            ("-0123abcd/net-0.4.0", false),
            ("-9999ffff/app-0.4.0", false),
            ("-0123abcd/core-0.3.1", true),
            ("-0123abcd/tokio-0.4.0", true),
            ("index.crates.io-1949cf8c6b5b557f/core-0.4.0", true),
        ] {
            assert_eq!(src.join(dir).is_dir(), kept, "{dir}");
        }
        // No registry/src at all is not an error.
        let empty = ScratchDir::new();
        remove_unpacked_copies(&shell, empty.path(), &crates, &version).unwrap();
    }

    fn git(root: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=xtask test",
                "-c",
                "user.email=xtask@test.invalid",
            ])
            .args(args)
            .current_dir(root)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    fn committed_fake_workspace() -> ScratchDir {
        let root = fake_workspace();
        git(root.path(), &["init", "--quiet"]);
        git(root.path(), &["add", "."]);
        git(root.path(), &["commit", "--quiet", "-m", "fake workspace"]);
        root
    }

    const FAST_CHECKS: TestOptions = TestOptions {
        install: false,
        fuzz_seconds: 0,
    };

    fn options(version: &str) -> ReleaseOptions {
        ReleaseOptions {
            version: version.to_owned(),
            checks: FAST_CHECKS,
        }
    }

    #[test]
    fn dry_run_checks_and_packages_in_order_and_writes_nothing() {
        let root = committed_fake_workspace();
        let shell = Shell::new(root.path(), true);
        run(&shell, &options("0.4.0"), true).unwrap();
        assert_eq!(
            shell.planned(),
            [
                "cargo fmt --all -- --check",
                "cargo clippy --workspace --all-targets -- -D warnings",
                "cargo test --workspace",
                "cargo clean -p core -p net -p app",
                "cargo package --allow-dirty -p core -p net -p app",
                "cargo publish --dry-run --allow-dirty -p core -p net -p app",
            ]
        );
        // Nothing written: the tree is as committed, and no tag exists.
        let shell = Shell::new(root.path(), false);
        let status = shell
            .query(&Cmd::new("git").args(["status", "--porcelain"]))
            .unwrap();
        assert_eq!(status, "");
        let tags = shell.query(&Cmd::new("git").arg("tag")).unwrap();
        assert_eq!(tags, "");
    }

    #[test]
    fn a_real_run_bumps_checks_packages_commits_then_tags() {
        let root = committed_fake_workspace();
        // A recording shell: git queries run, every change is only listed.
        let shell = Shell::new(root.path(), true);
        run(&shell, &options("0.4.0"), false).unwrap();
        assert_eq!(
            shell.planned(),
            [
                "write Cargo.toml (0.3.1 -> 0.4.0)",
                "write crates/app/Cargo.toml (0.3.1 -> 0.4.0)",
                "cargo update --workspace",
                "cargo update --workspace --manifest-path fuzzing/Cargo.toml",
                "cargo fmt --all -- --check",
                "cargo clippy --workspace --all-targets -- -D warnings",
                "cargo test --workspace",
                "cargo clean -p core -p net -p app",
                "cargo package --allow-dirty -p core -p net -p app",
                "cargo publish --dry-run --allow-dirty -p core -p net -p app",
                "git add -- Cargo.toml crates/app/Cargo.toml Cargo.lock fuzzing/Cargo.lock",
                "git commit --quiet -m 'release 0.4.0'",
                "git tag -a v0.4.0 -m 'tmio 0.4.0'",
            ]
        );
    }

    #[test]
    fn a_real_run_refuses_a_dirty_tree_and_an_existing_tag_before_changing_anything() {
        let root = committed_fake_workspace();
        root.write("notes.txt", "work in progress\n");
        let shell = Shell::new(root.path(), true);
        let error = run(&shell, &options("0.4.0"), false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the working tree has uncommitted changes (a release commits only its bump): ?? notes.txt"
        );
        assert!(shell.planned().is_empty());
        // The dry run goes on with a dirty tree.
        run(&shell, &options("0.4.0"), true).unwrap();

        let root = committed_fake_workspace();
        git(root.path(), &["tag", "v0.4.0"]);
        let shell = Shell::new(root.path(), true);
        let error = run(&shell, &options("0.4.0"), true).unwrap_err();
        assert!(
            matches!(&error, Error::TagExists(tag) if tag == "v0.4.0"),
            "{error:?}"
        );
        assert!(shell.planned().is_empty());
    }

    #[test]
    fn a_failing_check_restores_every_file() {
        // Really run (no recording shell): the bump is written, then `cargo update` fails at
        // once (the fake crates have no source files), and the manifests must be back as they
        // were.
        let root = committed_fake_workspace();
        let before: Vec<(PathBuf, String)> = [
            "Cargo.toml",
            "crates/app/Cargo.toml",
            "Cargo.lock",
            "fuzzing/Cargo.lock",
        ]
        .iter()
        .map(|path| {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(root.path().join(&path)).unwrap();
            (path, text)
        })
        .collect();
        let shell = Shell::new(root.path(), false);
        let error = run(&shell, &options("0.4.0"), false).unwrap_err();
        assert!(
            matches!(&error, Error::StepFailed { step, .. } if step == "bump"),
            "{error:?}"
        );
        for (path, text) in before {
            assert_eq!(
                std::fs::read_to_string(root.path().join(&path)).unwrap(),
                text
            );
        }
        let status = Shell::new(root.path(), false)
            .query(&Cmd::new("git").args(["status", "--porcelain"]))
            .unwrap();
        assert_eq!(status, "");
    }
}
