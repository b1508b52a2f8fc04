//! POST Object forms as browsers and SDKs send them: a `multipart/form-data` body built
//! part by part, and the SigV4 fields of a POST policy signed with a key pair (AWS S3 API
//! reference, "Browser-Based Uploads Using POST (AWS Signature Version 4)").

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::unique;

/// A multipart/form-data body under construction.
pub struct Form {
    pub boundary: String,
    pub body: Vec<u8>,
}

impl Form {
    pub fn new() -> Self {
        Self {
            boundary: format!("----ssecform{}", unique().replace('-', "")),
            body: Vec::new(),
        }
    }

    /// A part with this header block (lines joined by CRLF) and value.
    pub fn part(mut self, head: &str, value: &[u8]) -> Self {
        let b = &self.boundary;
        self.body
            .extend_from_slice(format!("--{b}\r\n{head}\r\n\r\n").as_bytes());
        self.body.extend_from_slice(value);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn field(self, name: &str, value: &str) -> Self {
        let head = format!("Content-Disposition: form-data; name=\"{name}\"");
        self.part(&head, value.as_bytes())
    }

    pub fn fields<S: AsRef<str>>(self, fields: &[(S, S)]) -> Self {
        fields
            .iter()
            .fold(self, |f, (n, v)| f.field(n.as_ref(), v.as_ref()))
    }

    /// The fields as parts with a `filename` parameter (`<name>.txt`), which Go files
    /// under files, not values.
    pub fn fields_as_files(self, fields: &[(String, String)]) -> Self {
        fields.iter().fold(self, |f, (name, value)| {
            let head =
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}.txt\"");
            f.part(&head, value.as_bytes())
        })
    }

    pub fn file(self, content: &[u8]) -> Self {
        self.named_file("upload.bin", content)
    }

    /// The file part with this `filename`.
    pub fn named_file(self, filename: &str, content: &[u8]) -> Self {
        self.part(
            &format!(
                "Content-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream"
            ),
            content,
        )
    }

    /// The closing boundary: the form as a request with its Content-Type.
    pub fn close(mut self) -> Post {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        Post {
            headers: vec![(
                "content-type".to_owned(),
                format!("multipart/form-data; boundary={}", self.boundary),
            )],
            body: self.body,
        }
    }
}

/// A form upload as sent: request headers (the form's Content-Type first) and body.
pub struct Post {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Post {
    /// The same request with these headers after the ones it has.
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers.extend(headers);
        self
    }

    /// The request to `url`.
    pub fn request(&self, url: &str) -> http::Request<http_body_util::Full<bytes::Bytes>> {
        let mut req = http::Request::post(url);
        for (n, v) in &self.headers {
            req = req.header(n.as_str(), v.as_str());
        }
        req.body(http_body_util::Full::new(bytes::Bytes::from(
            self.body.clone(),
        )))
        .unwrap()
    }
}

/// Who signs a POST policy, and for how long it holds.
pub struct Signer<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub region: &'a str,
    /// Seconds from now to the policy's expiration (negative: already expired).
    pub expires_in: i64,
}

/// The SigV4 fields of a POST policy with these `conditions` (the algorithm, credential
/// and date conditions are added), signed by `signer` with AWS's own functions:
/// `x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `policy`, `x-amz-signature`.
pub fn signed_fields(signer: &Signer<'_>, mut conditions: Vec<Value>) -> Vec<(String, String)> {
    let now = SystemTime::now();
    let date = humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace(['-', ':'], "");
    let credential = format!(
        "{}/{}/{}/s3/aws4_request",
        signer.access_key,
        &date[..8],
        signer.region
    );
    conditions.extend([
        json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
        json!({ "x-amz-credential": credential }),
        json!({ "x-amz-date": date }),
    ]);
    let offset = Duration::from_secs(signer.expires_in.unsigned_abs());
    let expiration = if signer.expires_in >= 0 {
        now + offset
    } else {
        now - offset
    };
    let expiration = humantime::format_rfc3339_seconds(expiration);
    let policy = json!({ "expiration": expiration.to_string(), "conditions": conditions });
    let policy = B64.encode(policy.to_string());
    let signing_key =
        aws_sigv4::sign::v4::generate_signing_key(signer.secret_key, now, signer.region, "s3");
    let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes());
    [
        ("x-amz-algorithm", "AWS4-HMAC-SHA256".to_owned()),
        ("x-amz-credential", credential),
        ("x-amz-date", date),
        ("policy", policy),
        ("x-amz-signature", signature),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v))
    .collect()
}
