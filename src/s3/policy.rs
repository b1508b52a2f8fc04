//! Per-bucket SSE-C policy: `require`, `allow` or `forbid`, with an optional allow-list
//! of key digests. First matching rule wins, then `ssec.default`.

use super::error::{Reason, S3Error, S3ErrorCode};
use super::op::S3Op;
use super::ssec::{Checked, KeyDigest};

/// What a bucket demands of SSE-C.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Every object write and read must carry SSE-C.
    Require,
    /// SSE-C is validated when present.
    Allow,
    /// No request may carry SSE-C.
    Forbid,
    /// No write may carry SSE-C; reads of SSE-C objects keep working (AWS's
    /// `BlockedEncryptionTypes = [SSE-C]`, the default for new buckets since April 2026).
    #[serde(rename = "block_writes")]
    BlockWrites,
}

/// One `[[ssec.buckets]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Bucket name or glob (`*`, `?`, `[…]`).
    pub pattern: glob::Pattern,
    /// The policy for matching buckets.
    pub policy: Policy,
    /// When set, only keys with these digests are accepted.
    pub allowlist: Option<Vec<KeyDigest>>,
}

/// The policy and allow-list that apply to one bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Effective<'a> {
    /// The policy.
    pub policy: Policy,
    /// The allowed key digests, if restricted.
    pub allowlist: Option<&'a [KeyDigest]>,
}

/// All bucket rules.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketPolicies {
    /// `ssec.default`.
    pub default: Policy,
    /// `ssec.buckets`, in file order.
    pub rules: Vec<Rule>,
}

/// Which side of a copy a check is about (for messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Destination,
    Source,
}

impl BucketPolicies {
    /// The rule for `bucket`: the first matching entry, else the default. Requests
    /// without a bucket get the default.
    pub fn for_bucket(&self, bucket: Option<&str>) -> Effective<'_> {
        let matched = bucket.and_then(|b| self.rules.iter().find(|r| r.pattern.matches(b)));
        match matched {
            Some(rule) => Effective {
                policy: rule.policy,
                allowlist: rule.allowlist.as_deref(),
            },
            None => Effective {
                policy: self.default,
                allowlist: None,
            },
        }
    }

    /// Applies the bucket policies to a request that passed header validation.
    ///
    /// `present` says whether any SSE-C header of the destination and copy-source
    /// groups was sent (also on operations that ignore them); `injected`, which of them
    /// the proxy filled in with the bucket's own key (which its rule allows, allow-list
    /// or not: a rule that injects cannot forbid).
    pub fn enforce(
        &self,
        op: S3Op,
        bucket: Option<&str>,
        source_bucket: Option<&str>,
        present: (bool, bool),
        injected: (bool, bool),
        checked: &Checked,
    ) -> Result<(), S3Error> {
        if !injected.0 {
            let dest = self.for_bucket(bucket);
            check_side(
                dest,
                Side::Destination,
                present.0,
                checked.destination,
                requires_destination(op),
            )?;
            if dest.policy == Policy::BlockWrites && present.0 && writes(op) {
                return Err(denied(
                    "SSE-C writes are blocked on this bucket (BlockedEncryptionTypes: SSE-C); existing SSE-C objects can still be read.".to_owned(),
                )
                .with_reason(Reason::PolicyBlockWrites));
            }
        }
        if !injected.1 && (source_bucket.is_some() || present.1) {
            let source = self.for_bucket(source_bucket.or(bucket));
            let copies = matches!(op, S3Op::CopyObject | S3Op::UploadPartCopy);
            check_side(source, Side::Source, present.1, checked.source, copies)?;
        }
        Ok(())
    }

    /// Applies the bucket's rule as it is now to the upload a CompleteMultipartUpload
    /// joins, as the proxy knows it from the upload's creation: with SSE-C (`created`
    /// tells whether a digest is the upload's key) or without (`None`). Parts were
    /// checked under the rule of their time; without this, an upload opened before a
    /// stricter rule was loaded would still become an object (plaintext in a `require`
    /// bucket, SSE-C in a `forbid` or `block_writes` one, a key since dropped from the
    /// allow-list). `injected`: the completion carries the bucket's own key, which the
    /// upload was checked to be under and which passes the rule.
    pub fn enforce_completion(
        &self,
        bucket: &str,
        created: Option<&dyn Fn(&KeyDigest) -> bool>,
        injected: bool,
    ) -> Result<(), S3Error> {
        let encrypted = created.is_some();
        let rule = self.for_bucket(Some(bucket));
        let refused = |reason: &str, why: Reason| {
            Err(denied(format!(
                "{reason} The multipart upload was created before this rule applied: abort it and start it again."
            ))
            .with_reason(why))
        };
        match rule.policy {
            Policy::Require if !encrypted => refused(
                "this bucket requires SSE-C, and the multipart upload was created without it.",
                Reason::PolicyRequire,
            ),
            Policy::Forbid if encrypted => refused(
                "SSE-C is not allowed on this bucket, and the multipart upload was created with it.",
                Reason::PolicyForbid,
            ),
            Policy::BlockWrites if encrypted => refused(
                "SSE-C writes are blocked on this bucket (BlockedEncryptionTypes: SSE-C), and the multipart upload was created with SSE-C.",
                Reason::PolicyBlockWrites,
            ),
            _ => match (rule.allowlist, created) {
                (Some(list), Some(same)) if !injected && !list.iter().any(same) => refused(
                    "the customer-provided key of the multipart upload is not allowed on this bucket.",
                    Reason::PolicyAllowlist,
                ),
                _ => Ok(()),
            },
        }
    }
}

/// Operations that write or read object data with the destination key (issue contract:
/// PutObject, PostObject, CreateMultipartUpload, UploadPart, UploadPartCopy, CopyObject's
/// destination, GetObject, HeadObject, GetObjectAttributes, SelectObjectContent; GetObjectTorrent,
/// which serves the object's data too).
pub fn requires_destination(op: S3Op) -> bool {
    matches!(
        op,
        S3Op::PutObject
            | S3Op::PostObject
            | S3Op::CreateMultipartUpload
            | S3Op::UploadPart
            | S3Op::UploadPartCopy
            | S3Op::CopyObject
            | S3Op::GetObject
            | S3Op::HeadObject
            | S3Op::GetObjectAttributes
            | S3Op::GetObjectTorrent
            | S3Op::SelectObjectContent
    )
}

/// Operations that write object data (or finish a write) with the destination key:
/// what `block_writes` refuses SSE-C on, as AWS's block does.
fn writes(op: S3Op) -> bool {
    matches!(
        op,
        S3Op::PutObject
            | S3Op::PostObject
            | S3Op::CreateMultipartUpload
            | S3Op::UploadPart
            | S3Op::UploadPartCopy
            | S3Op::CopyObject
            | S3Op::CompleteMultipartUpload
    )
}

fn check_side(
    rule: Effective<'_>,
    side: Side,
    present: bool,
    digest: Option<KeyDigest>,
    covered: bool,
) -> Result<(), S3Error> {
    let whose = match side {
        Side::Destination => "this bucket",
        Side::Source => "the copy source's bucket",
    };
    match rule.policy {
        Policy::Forbid if present => {
            Err(denied(format!("SSE-C is not allowed on {whose}."))
                .with_reason(Reason::PolicyForbid))
        }
        Policy::Require if covered && digest.is_none() => Err(denied(format!(
            "{whose} requires SSE-C: send the {}server-side-encryption-customer-* headers.",
            match side {
                Side::Destination => "x-amz-",
                Side::Source => "x-amz-copy-source-",
            }
        ))
        .with_reason(Reason::PolicyRequire)),
        _ => match (rule.allowlist, digest) {
            (Some(list), Some(d)) if !list.iter().any(|a| a.matches(&d)) => Err(denied(format!(
                "the customer-provided key is not allowed on {whose}."
            ))
            .with_reason(Reason::PolicyAllowlist)),
            _ => Ok(()),
        },
    }
}

fn denied(reason: String) -> S3Error {
    S3Error::new(
        S3ErrorCode::AccessDenied,
        format!("Access Denied: {reason}"),
    )
}

/// The bucket named by an `x-amz-copy-source` value (`bucket/key`, optionally with a
/// leading `/`, percent-encoded, optionally with `?versionId=`). Access-point ARNs
/// name no bucket.
pub fn copy_source_bucket(value: &str) -> Option<String> {
    let value = value.strip_prefix('/').unwrap_or(value);
    if value.starts_with("arn:") {
        return None;
    }
    let bucket = value.split(['/', '?']).next()?;
    let decoded = percent_encoding::percent_decode_str(bucket)
        .decode_utf8()
        .ok()?;
    (!decoded.is_empty()).then(|| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing injected.
    const NONE: (bool, bool) = (false, false);

    fn policies() -> BucketPolicies {
        let k = KeyDigest::of_key(&[1u8; 32]);
        BucketPolicies {
            default: Policy::Require,
            rules: vec![
                Rule {
                    pattern: glob::Pattern::new("public-*").unwrap(),
                    policy: Policy::Forbid,
                    allowlist: None,
                },
                Rule {
                    pattern: glob::Pattern::new("open").unwrap(),
                    policy: Policy::Allow,
                    allowlist: None,
                },
                Rule {
                    pattern: glob::Pattern::new("vault-?").unwrap(),
                    policy: Policy::Require,
                    allowlist: Some(vec![k]),
                },
                Rule {
                    pattern: glob::Pattern::new("*").unwrap(),
                    policy: Policy::Allow,
                    allowlist: None,
                },
            ],
        }
    }

    fn with(dest: Option<u8>, source: Option<u8>) -> Checked {
        Checked {
            destination: dest.map(|b| KeyDigest::of_key(&[b; 32])),
            source: source.map(|b| KeyDigest::of_key(&[b; 32])),
        }
    }

    #[test]
    fn first_match_wins_then_default() {
        let p = policies();
        assert_eq!(p.for_bucket(Some("public-www")).policy, Policy::Forbid);
        assert_eq!(p.for_bucket(Some("open")).policy, Policy::Allow);
        assert!(p.for_bucket(Some("vault-a")).allowlist.is_some());
        assert_eq!(p.for_bucket(Some("anything")).policy, Policy::Allow);
        assert_eq!(p.for_bucket(None).policy, Policy::Require);
        let only_default = BucketPolicies {
            default: Policy::Forbid,
            rules: vec![],
        };
        assert_eq!(only_default.for_bucket(Some("x")).policy, Policy::Forbid);
    }

    #[test]
    fn require_covers_object_data_operations_only() {
        let p = BucketPolicies {
            default: Policy::Require,
            rules: vec![],
        };
        for op in [
            S3Op::PutObject,
            S3Op::PostObject,
            S3Op::CreateMultipartUpload,
            S3Op::UploadPart,
            S3Op::UploadPartCopy,
            S3Op::CopyObject,
            S3Op::GetObject,
            S3Op::HeadObject,
            S3Op::GetObjectAttributes,
            S3Op::SelectObjectContent,
        ] {
            let err = p
                .enforce(op, Some("b"), None, (false, false), NONE, &with(None, None))
                .unwrap_err();
            assert_eq!(err.code, S3ErrorCode::AccessDenied, "{}", op.as_str());
            assert!(
                p.enforce(
                    op,
                    Some("b"),
                    None,
                    (true, false),
                    NONE,
                    &with(Some(1), None)
                )
                .is_ok()
            );
        }
        for op in [
            S3Op::DeleteObject,
            S3Op::ListObjectsV2,
            S3Op::CompleteMultipartUpload,
            S3Op::AbortMultipartUpload,
            S3Op::ListParts,
            S3Op::CreateBucket,
            S3Op::PutObjectTagging,
        ] {
            assert!(
                p.enforce(op, Some("b"), None, (false, false), NONE, &with(None, None))
                    .is_ok(),
                "{}",
                op.as_str()
            );
        }
    }

    #[test]
    fn block_writes_refuses_sse_c_writes_and_keeps_reads() {
        let p = BucketPolicies {
            default: Policy::BlockWrites,
            rules: vec![],
        };
        let keyed = with(Some(1), Some(1));
        for op in [
            S3Op::PutObject,
            S3Op::PostObject,
            S3Op::CreateMultipartUpload,
            S3Op::UploadPart,
            S3Op::UploadPartCopy,
            S3Op::CopyObject,
            S3Op::CompleteMultipartUpload,
        ] {
            let err = p
                .enforce(op, Some("b"), None, (true, false), NONE, &keyed)
                .unwrap_err();
            assert_eq!(err.code, S3ErrorCode::AccessDenied, "{}", op.as_str());
            assert_eq!(err.reason, Some(Reason::PolicyBlockWrites));
            // Without SSE-C the write is allowed.
            assert!(
                p.enforce(op, Some("b"), None, (false, false), NONE, &with(None, None))
                    .is_ok()
            );
        }
        for op in [
            S3Op::GetObject,
            S3Op::HeadObject,
            S3Op::GetObjectAttributes,
            S3Op::SelectObjectContent,
        ] {
            assert!(
                p.enforce(op, Some("b"), None, (true, false), NONE, &keyed)
                    .is_ok(),
                "{}",
                op.as_str()
            );
        }
        // A copy out of a blocked bucket into another reads its source with the key.
        let out = BucketPolicies {
            default: Policy::Allow,
            rules: vec![Rule {
                pattern: glob::Pattern::new("blocked").unwrap(),
                policy: Policy::BlockWrites,
                allowlist: None,
            }],
        };
        assert!(
            out.enforce(
                S3Op::CopyObject,
                Some("open"),
                Some("blocked"),
                (true, true),
                NONE,
                &keyed
            )
            .is_ok()
        );
    }

    #[test]
    fn an_injected_side_passes_require_and_the_allow_list() {
        let p = BucketPolicies {
            default: Policy::Require,
            rules: vec![Rule {
                pattern: glob::Pattern::new("listed").unwrap(),
                policy: Policy::Require,
                allowlist: Some(vec![]),
            }],
        };
        let keyed = with(Some(3), Some(3));
        let copy = |injected| {
            p.enforce(
                S3Op::CopyObject,
                Some("listed"),
                Some("listed"),
                (true, true),
                injected,
                &keyed,
            )
        };
        assert!(copy(NONE).is_err(), "an empty allow-list refuses sent keys");
        assert!(
            copy((true, false)).is_err(),
            "the sent source key is still checked"
        );
        assert!(
            copy((false, true)).is_err(),
            "the sent destination key is still checked"
        );
        assert!(copy((true, true)).is_ok());
    }

    #[test]
    fn require_on_the_source_bucket_needs_copy_source_keys() {
        let mut p = policies();
        p.rules.pop(); // no catch-all: "secret" falls to the default, require
        // Destination allows, source bucket (default: require) needs a source key.
        let err = p
            .enforce(
                S3Op::CopyObject,
                Some("open"),
                Some("secret"),
                (false, false),
                NONE,
                &with(None, None),
            )
            .unwrap_err();
        assert!(err.message.contains("copy source"), "{}", err.message);
        assert!(
            p.enforce(
                S3Op::CopyObject,
                Some("open"),
                Some("secret"),
                (false, true),
                NONE,
                &with(None, Some(2))
            )
            .is_ok()
        );
    }

    #[test]
    fn forbid_rejects_any_sse_c_header_on_any_operation() {
        let p = policies();
        for op in [
            S3Op::PutObject,
            S3Op::GetObject,
            S3Op::DeleteObject,
            S3Op::ListObjects,
        ] {
            let err = p
                .enforce(
                    op,
                    Some("public-x"),
                    None,
                    (true, false),
                    NONE,
                    &with(None, None),
                )
                .unwrap_err();
            assert_eq!(err.status().as_u16(), 403);
            assert!(
                p.enforce(
                    op,
                    Some("public-x"),
                    None,
                    (false, false),
                    NONE,
                    &with(None, None)
                )
                .is_ok()
            );
        }
        // Copying an SSE-C object out of a forbid bucket is refused too.
        assert!(
            p.enforce(
                S3Op::CopyObject,
                Some("open"),
                Some("public-x"),
                (false, true),
                NONE,
                &with(None, Some(1))
            )
            .is_err()
        );
    }

    #[test]
    fn allowlist_accepts_listed_digests_only() {
        let p = policies();
        assert!(
            p.enforce(
                S3Op::PutObject,
                Some("vault-a"),
                None,
                (true, false),
                NONE,
                &with(Some(1), None)
            )
            .is_ok()
        );
        let err = p
            .enforce(
                S3Op::PutObject,
                Some("vault-a"),
                None,
                (true, false),
                NONE,
                &with(Some(2), None),
            )
            .unwrap_err();
        assert!(err.message.contains("not allowed"));
        assert!(
            p.enforce(
                S3Op::CopyObject,
                Some("open"),
                Some("vault-b"),
                (false, true),
                NONE,
                &with(None, Some(2))
            )
            .is_err()
        );
    }

    #[test]
    fn finds_the_copy_source_bucket() {
        assert_eq!(copy_source_bucket("b/k").as_deref(), Some("b"));
        assert_eq!(
            copy_source_bucket("/b/dir/k?versionId=1").as_deref(),
            Some("b")
        );
        assert_eq!(
            copy_source_bucket("my%2Dbucket/k").as_deref(),
            Some("my-bucket")
        );
        assert_eq!(
            copy_source_bucket("arn:aws:s3:us-east-1:1:accesspoint/ap/object/k"),
            None
        );
        assert_eq!(copy_source_bucket(""), None);
    }

    #[test]
    fn completion_meets_the_rule_of_its_time() {
        let p = policies();
        let k = KeyDigest::of_key(&[1u8; 32]);
        let other = KeyDigest::of_key(&[2u8; 32]);
        let under_k = |d: &KeyDigest| d.matches(&k);
        let under_other = |d: &KeyDigest| d.matches(&other);
        let reason = |bucket: &str, created: Option<&dyn Fn(&KeyDigest) -> bool>, injected| {
            p.enforce_completion(bucket, created, injected)
                .map_err(|e| (e.code, e.reason))
        };
        let denied = |why| Err((S3ErrorCode::AccessDenied, Some(why)));
        // `require`: a plaintext upload is refused, an SSE-C one completes.
        assert_eq!(
            reason("vault-a", None, false),
            denied(Reason::PolicyRequire)
        );
        assert_eq!(reason("vault-a", Some(&under_k), false), Ok(()));
        // `forbid`: the reverse.
        assert_eq!(
            reason("public-www", Some(&under_k), false),
            denied(Reason::PolicyForbid)
        );
        assert_eq!(reason("public-www", None, false), Ok(()));
        // `allow` takes either.
        assert_eq!(reason("open", None, false), Ok(()));
        assert_eq!(reason("open", Some(&under_k), false), Ok(()));
        // An allow-list takes the upload's key only when it is listed, or when the
        // completion carries the bucket's injected key.
        assert_eq!(
            reason("vault-a", Some(&under_other), false),
            denied(Reason::PolicyAllowlist)
        );
        assert_eq!(reason("vault-a", Some(&under_other), true), Ok(()));
        assert_eq!(reason("vault-a", None, true), denied(Reason::PolicyRequire));
        // `block_writes` refuses SSE-C uploads.
        let blocked = BucketPolicies {
            default: Policy::BlockWrites,
            rules: vec![],
        };
        assert_eq!(
            blocked
                .enforce_completion("b", Some(&under_k), false)
                .map_err(|e| e.reason),
            Err(Some(Reason::PolicyBlockWrites))
        );
        assert!(blocked.enforce_completion("b", None, false).is_ok());
        let message = p
            .enforce_completion("vault-a", None, false)
            .unwrap_err()
            .message;
        assert!(message.contains("abort it and start it again"), "{message}");
    }
}
