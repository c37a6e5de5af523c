//! Opening an SQLite store that cannot be used fails with `Unavailable` naming the problem,
//! never a panic; a good file is shared by several instances and survives reopening.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use nox_authenticator_store::{OpenError, Stores, open};

fn open_path(path: &Path) -> Result<Stores, OpenError> {
    open(&format!("sqlite:{}", path.display()), 60)
}

fn unavailable(result: Result<Stores, OpenError>, needle: &str) -> String {
    match result {
        Err(e @ OpenError::Unavailable { .. }) => {
            let text = e.to_string();
            eprintln!("{text}");
            assert!(text.contains(needle), "{text:?} should say {needle:?}");
            text
        }
        other => panic!("expected Unavailable ({needle}), got {other:?}"),
    }
}

#[test]
fn a_missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("nox.db");
    let text = unavailable(open_path(&path), "does not exist");
    assert!(text.contains("no-such-dir"), "{text}");
}

#[test]
fn a_directory_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    unavailable(open_path(dir.path()), "is a directory");
}

#[test]
fn a_file_of_garbage_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, [0x5a_u8; 8192]).unwrap();
    unavailable(open_path(&path), "not a database");
    // A truncated real database (a header without its pages) is refused too.
    let good = dir.path().join("good.db");
    drop(open_path(&good).unwrap());
    let bytes = std::fs::read(&good).unwrap();
    let broken = dir.path().join("broken.db");
    let mut header = bytes[..100].to_vec();
    header[16] = 0x7f; // an impossible page size
    std::fs::write(&broken, header).unwrap();
    assert!(matches!(
        open_path(&broken),
        Err(OpenError::Unavailable { .. })
    ));
}

/// Whether this process may write files it has no permission for (root, or CAP_DAC_OVERRIDE).
fn permissions_are_bypassed(dir: &Path) -> bool {
    let probe = dir.join("probe");
    std::fs::write(&probe, b"x").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o444)).unwrap();
    let bypassed = std::fs::OpenOptions::new()
        .append(true)
        .open(&probe)
        .is_ok();
    std::fs::remove_file(&probe).unwrap();
    bypassed
}

/// A read-only bind mount of a directory, unmounted on drop.
struct ReadOnlyMount(std::path::PathBuf);
impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn read_only_mount(source: &Path, target: &Path) -> Option<ReadOnlyMount> {
    std::fs::create_dir_all(target).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["--bind", "-o", "ro"])
        .arg(source)
        .arg(target)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| ReadOnlyMount(target.to_owned()))
}

#[test]
fn a_read_only_file_or_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let writable = dir.path().join("rw");
    std::fs::create_dir(&writable).unwrap();
    drop(open_path(&writable.join("nox.db")).unwrap());
    if permissions_are_bypassed(dir.path()) {
        // chmod does not stop this process (root): a read-only bind mount does.
        let mount = dir.path().join("ro");
        let Some(_mounted) = read_only_mount(&writable, &mount) else {
            eprintln!(
                "skipped the read-only assertions: this process ignores file permissions (root) \
                 and cannot make a read-only bind mount"
            );
            return;
        };
        unavailable(open_path(&mount.join("nox.db")), "read-only");
        unavailable(open_path(&mount.join("new.db")), "cannot open the file");
        return;
    }
    let path = writable.join("nox.db");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    unavailable(open_path(&path), "read");
    // A new file in a read-only directory.
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let result = open_path(&ro.join("nox.db"));
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(
        matches!(result, Err(OpenError::Unavailable { .. })),
        "{result:?}"
    );
    // Unreadable.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    assert!(matches!(
        open_path(&path),
        Err(OpenError::Unavailable { .. })
    ));
}

#[test]
fn the_file_is_in_wal_mode_and_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nox.db");
    for setting in ["", "?synchronous=normal", "?synchronous=full"] {
        let stores = open(&format!("sqlite:{}{setting}", path.display()), 60).unwrap();
        assert!(stores.blocking);
        stores.sessions.ping().unwrap();
    }
    let c = rusqlite::Connection::open(&path).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = c
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, nox_authenticator_store::SCHEMA_VERSION);
    assert!(matches!(
        open(&format!("sqlite:{}?synchronous=off", path.display()), 60),
        Err(OpenError::BadSetting { .. })
    ));
}
