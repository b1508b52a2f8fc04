//! Which file-system events wake the reloader. The directories of the configuration,
//! TLS and secret files are watched (a file replaced by rename, or a Kubernetes Secret's
//! `..data` symlink swap, is only visible there), but only events naming a file the
//! proxy reads count. Anything else in those directories — a log file, an editor's
//! swap file — is dropped without a trace, so the proxy's own output cannot drive it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use notify::EventKind;
use tokio::sync::mpsc;

use crate::config::Config;

/// Kubernetes projects Secret and ConfigMap volumes as symlinks into `..data`, itself
/// a symlink swapped by rename on update: the files the proxy reads never see an event.
const KUBERNETES_DATA: &str = "..data";

/// File-change notifications for the files a configuration names.
pub(super) struct FileEvents {
    tx: mpsc::UnboundedSender<()>,
    /// A message per relevant event.
    pub(super) rx: mpsc::UnboundedReceiver<()>,
    watched: Watched,
    /// Kept alive while watching; replaced when the watched set changes.
    _watcher: Option<notify::RecommendedWatcher>,
}

impl FileEvents {
    /// Watches the files `config` names (starting now, so no change after start-up is
    /// missed).
    pub(super) fn new(config: &Config) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let watched = Watched::of(config);
        let watcher = watch(&watched, tx.clone());
        Self {
            tx,
            rx,
            watched,
            _watcher: watcher,
        }
    }

    /// Follows the files of `config` if they moved or were renamed.
    pub(super) fn follow(&mut self, config: &Config) {
        let watched = Watched::of(config);
        if watched != self.watched {
            self._watcher = watch(&watched, self.tx.clone());
            self.watched = watched;
        }
    }
}

/// The files the proxy reads and the directories watched for them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Watched {
    /// Watched non-recursively.
    dirs: BTreeSet<PathBuf>,
    /// Paths whose events count: the files read, and each directory's `..data`.
    paths: BTreeSet<PathBuf>,
}

impl Watched {
    /// The configuration file and the certificate, key, client CA and secret files it
    /// names.
    fn of(config: &Config) -> Self {
        Self::new(config.watched_files())
    }

    fn new<'a>(files: impl IntoIterator<Item = &'a Path>) -> Self {
        let mut dirs = BTreeSet::new();
        let mut paths = BTreeSet::new();
        for file in files {
            // notify reports paths under the directory as it was given, made absolute
            // against the working directory; so is everything here, to compare equal.
            let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
            let dir = match file.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => PathBuf::from("."),
            };
            paths.insert(dir.join(KUBERNETES_DATA));
            dirs.insert(dir);
            paths.insert(file);
        }
        Self { dirs, paths }
    }

    /// Whether `event` is a reason to read the files again.
    fn wakes(&self, event: &notify::Event) -> bool {
        match event.kind {
            // Opening and reading (including the proxy's own reads) change nothing.
            EventKind::Access(_) => false,
            // The kernel's queue overflowed: a change to one of ours may be lost.
            _ if event.need_rescan() => true,
            // A path equal to a directory is the directory itself moving or going away.
            _ => event
                .paths
                .iter()
                .any(|p| self.paths.contains(p) || self.dirs.contains(p)),
        }
    }
}

/// Watches the directories of `watched` (not recursively) and sends on `tx` for each
/// event that counts. Nothing here logs per event: a log file in a watched directory
/// would turn every line into the next event. Without a watcher (no inotify), SIGHUP
/// and the periodic check still work.
fn watch(watched: &Watched, tx: mpsc::UnboundedSender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    let filter = watched.clone();
    let mut watcher = match notify::recommended_watcher(
        move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| filter.wakes(&e)) {
                let _ = tx.send(());
            }
        },
    ) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch files; relying on SIGHUP and the periodic check");
            return None;
        }
    };
    for dir in &watched.dirs {
        if let Err(e) = watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
            tracing::warn!(error = %e, dir = %dir.display(), "cannot watch directory");
        }
    }
    Some(watcher)
}

#[cfg(test)]
mod tests {
    use notify::event::{AccessKind, CreateKind, DataChange, Flag, ModifyKind, RenameMode};

    use super::*;

    fn event(kind: EventKind, paths: &[&str]) -> notify::Event {
        paths
            .iter()
            .fold(notify::Event::new(kind), |e, p| e.add_path(p.into()))
    }

    fn write() -> EventKind {
        EventKind::Modify(ModifyKind::Data(DataChange::Any))
    }

    fn proxy() -> Watched {
        Watched::new(
            [
                "/etc/ssec/proxy.toml",
                "/etc/ssec/tls/tls.crt",
                "/etc/ssec/tls/tls.key",
            ]
            .map(Path::new),
        )
    }

    #[test]
    fn watches_the_directories_of_the_files_it_reads() {
        let dirs: Vec<_> = proxy().dirs.into_iter().collect();
        assert_eq!(dirs, ["/etc/ssec", "/etc/ssec/tls"].map(PathBuf::from));
    }

    #[test]
    fn wakes_for_a_write_to_a_file_it_reads() {
        let watched = proxy();
        for file in ["/etc/ssec/proxy.toml", "/etc/ssec/tls/tls.key"] {
            assert!(watched.wakes(&event(write(), &[file])), "{file}");
        }
    }

    #[test]
    fn ignores_other_files_in_a_watched_directory() {
        let watched = proxy();
        for file in [
            "/etc/ssec/proxy.log",
            "/etc/ssec/.proxy.toml.swp",
            "/etc/ssec/tls/..data_tmp",
            "/etc/ssec/tls/..2026_11_27_01",
        ] {
            for kind in [write(), EventKind::Create(CreateKind::File), EventKind::Any] {
                assert!(!watched.wakes(&event(kind, &[file])), "{file} {kind:?}");
            }
        }
    }

    #[test]
    fn ignores_reads_of_the_files_it_reads() {
        let e = event(
            EventKind::Access(AccessKind::Any),
            &["/etc/ssec/proxy.toml"],
        );
        assert!(!proxy().wakes(&e));
    }

    #[test]
    fn wakes_for_a_rename_over_a_file_it_reads() {
        let e = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            &["/etc/ssec/proxy.tmp", "/etc/ssec/proxy.toml"],
        );
        assert!(proxy().wakes(&e));
    }

    #[test]
    fn wakes_for_a_kubernetes_data_swap() {
        let watched = proxy();
        let to = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            &["/etc/ssec/tls/..data"],
        );
        let both = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            &["/etc/ssec/tls/..data_tmp", "/etc/ssec/tls/..data"],
        );
        assert!(watched.wakes(&to));
        assert!(watched.wakes(&both));
    }

    #[test]
    fn ignores_a_file_of_the_same_name_elsewhere() {
        let e = event(write(), &["/var/log/proxy.toml"]);
        assert!(!proxy().wakes(&e));
    }

    #[test]
    fn wakes_when_events_were_lost() {
        let e = event(EventKind::Other, &[]).set_flag(Flag::Rescan);
        assert!(proxy().wakes(&e));
    }

    #[test]
    fn matches_relative_files_against_the_absolute_paths_notify_reports() {
        let watched = Watched::new([Path::new("conf/proxy.toml"), Path::new("tls.crt")]);
        let cwd = std::env::current_dir().unwrap();
        for reported in [cwd.join("conf/proxy.toml"), cwd.join("./tls.crt")] {
            let e = notify::Event::new(write()).add_path(reported.clone());
            assert!(watched.wakes(&e), "{}", reported.display());
        }
        let log = notify::Event::new(write()).add_path(cwd.join("conf/proxy.log"));
        assert!(!watched.wakes(&log));
    }
}
