//! Everything that went wrong over a table of variants, so that one run reports every
//! variant: a store whose reading changed (a positive control), a request the proxy let
//! through.

use super::{Env, Reply, contains};

/// The findings of one test against one store; [`Findings::finish`] fails on any.
pub struct Findings {
    test: String,
    failed: Vec<String>,
}

impl Findings {
    pub fn new(e: &Env, test: &str) -> Self {
        Self {
            test: format!("{} {test}", e.store.name),
            failed: Vec::new(),
        }
    }

    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.failed.push(what());
        }
    }

    /// A positive control: the store's answer to the request sent straight to it.
    pub fn control(&mut self, label: &str, reply: &Reply, ok: bool, expected: &str) {
        eprintln!("[{}] {label}: direct {}", self.test, reply.summary());
        self.check(ok, || {
            format!(
                "control, {label}: direct {} ({}), expected {expected}",
                reply.summary(),
                reply.snippet()
            )
        });
    }

    /// A positive control pinned by the store's status alone.
    pub fn control_status(&mut self, label: &str, reply: &Reply, want: u16) {
        let ok = reply.status == want;
        self.control(label, reply, ok, &format!("status {want}"));
    }

    /// The proxy refused the request with `status` and `code`.
    pub fn refused(&mut self, label: &str, reply: &Reply, status: u16, code: &str) {
        eprintln!("[{}] {label}: proxy {}", self.test, reply.summary());
        self.check(reply.status == status && reply.code() == code, || {
            format!(
                "proxy, {label}: {} ({}), want {status} {code}",
                reply.summary(),
                reply.snippet()
            )
        });
    }

    /// The refusal is the proxy's own: its answer carries `message`, which a store's
    /// refusal with the same status and code would not.
    pub fn said(&mut self, label: &str, reply: &Reply, message: &str) {
        self.check(contains(&reply.body, message.as_bytes()), || {
            format!(
                "proxy, {label}: {} is not the proxy's refusal",
                reply.summary()
            )
        });
    }

    /// The proxy refused the request, whatever its answer.
    pub fn rejected(&mut self, label: &str, reply: &Reply) {
        eprintln!("[{}] {label}: proxy {}", self.test, reply.summary());
        self.check(reply.status >= 400, || {
            format!(
                "proxy, {label}: {} ({}), want a refusal",
                reply.summary(),
                reply.snippet()
            )
        });
    }

    pub fn finish(self) {
        assert!(
            self.failed.is_empty(),
            "{}: {} finding(s):\n  {}",
            self.test,
            self.failed.len(),
            self.failed.join("\n  ")
        );
    }
}
