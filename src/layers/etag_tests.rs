//! The ETag layer in process: the ETag header made canonical, `<ETag>` elements of XML
//! answers rewritten as they stream (their Content-Length dropped), the empty `<ETag>` of
//! a completion filled from the part list the store was sent; error answers and other
//! bodies untouched.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, ETAG};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use md5::{Digest as _, Md5};
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::error::ProxyError;
use crate::layers::test_support::{
    Answer, Log, Seen, TestBody, answer, body_bytes, object, pieces, recorder, upload,
};

const A: &str = "0cc175b9c0f1b6a831c399e269772661";
const B: &str = "92eb5ffee6ae2fec3ad71c777531578f";

fn request(s3: Option<S3Request>, body: &'static str) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(Method::GET)
        .uri("/b")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a test request");
    if let Some(s3) = s3 {
        req.extensions_mut().insert(s3);
    }
    req
}

async fn send<F>(
    req: Request<Full<Bytes>>,
    reply: F,
) -> (Result<Response<EtagBody<Full<Bytes>>>, ProxyError>, Log)
where
    F: Fn(&Seen) -> Answer + Send + Sync + 'static,
{
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(EtagLayer::default())
        .service(recorder(&log, reply));
    (svc.oneshot(req).await, log)
}

fn list() -> S3Request {
    crate::layers::test_support::target(S3Op::ListObjectsV2, Some("b"), None, None)
}

#[tokio::test]
async fn repairs_and_collapses_the_etag_header() {
    let upper = A.to_uppercase();
    let (result, _) = send(request(Some(object(S3Op::HeadObject)), ""), move |_| {
        Ok(answer(
            StatusCode::OK,
            &[("etag", &upper), ("etag", &upper)],
            "",
        ))
    })
    .await;
    let response = result.expect("passed");
    let etags: Vec<_> = response.headers().get_all(ETAG).iter().collect();
    assert_eq!(etags, [format!("\"{A}\"").as_str()]);
    // Different values are left for the client to see; a weak tag is left alone.
    let (result, _) = send(request(None, ""), |_| {
        Ok(answer(StatusCode::OK, &[("etag", "W/\"x\"")], ""))
    })
    .await;
    assert_eq!(result.expect("passed").headers()[ETAG], "W/\"x\"");
}

#[tokio::test]
async fn an_object_read_shows_no_aws_chunked_coding() {
    let cases = [
        (S3Op::GetObject, "/b/k", "aws-chunked", None),
        (S3Op::HeadObject, "/b/k", "AWS-Chunked", None),
        (S3Op::GetObject, "/b/k", "aws-chunked,gzip", Some("gzip")),
        (
            S3Op::HeadObject,
            "/b/k",
            "gzip, aws-chunked, br",
            Some("gzip, br"),
        ),
        (S3Op::GetObject, "/b/k", "gzip", Some("gzip")),
        // The client named the coding it wants back: it gets it.
        (
            S3Op::GetObject,
            "/b/k?response-content-encoding=aws-chunked",
            "aws-chunked",
            Some("aws-chunked"),
        ),
        // Not an object's coding.
        (S3Op::PutObject, "/b/k", "aws-chunked", Some("aws-chunked")),
    ];
    for (op, uri, kept, shown) in cases {
        let mut req = request(Some(object(op)), "");
        *req.uri_mut() = uri.parse().expect("a test URI");
        let (result, _) = send(req, move |_| {
            Ok(answer(StatusCode::OK, &[("content-encoding", kept)], ""))
        })
        .await;
        let response = result.expect("passed");
        let codings: Vec<_> = response
            .headers()
            .get_all(http::header::CONTENT_ENCODING)
            .iter()
            .map(|v| v.to_str().expect("text"))
            .collect();
        assert_eq!(codings, Vec::from_iter(shown), "{op:?} {uri} {kept}");
    }
}

#[tokio::test]
async fn rewrites_the_etags_of_listing_bodies_and_drops_their_length() {
    let listing = format!(
        "<ListBucketResult><Contents><Key>a</Key><ETag>\"{}\"</ETag></Contents><Contents><Key>b</Key><ETag>{B}-3</ETag></Contents></ListBucketResult>",
        A.to_uppercase()
    );
    let want = format!(
        "<ListBucketResult><Contents><Key>a</Key><ETag>&quot;{A}&quot;</ETag></Contents><Contents><Key>b</Key><ETag>&quot;{B}-3&quot;</ETag></Contents></ListBucketResult>"
    );
    let length = listing.len().to_string();
    let body = listing.clone();
    let (result, _) = send(request(Some(list()), ""), move |_| {
        Ok(answer(
            StatusCode::OK,
            &[
                ("content-length", &length),
                ("content-type", "application/xml"),
            ],
            body.clone(),
        ))
    })
    .await;
    let response = result.expect("passed");
    assert!(response.headers().get(CONTENT_LENGTH).is_none());
    assert_eq!(response.headers()["content-type"], "application/xml");
    assert_eq!(body_bytes(response.into_body()).await, want);
}

#[tokio::test]
async fn rewrites_etags_split_between_frames_and_unquoted_for_attributes() {
    let svc = ServiceBuilder::new()
        .layer(EtagLayer::default())
        .service_fn(|req: Request<TapBody<Full<Bytes>>>| async move {
            let op = req.extensions().get::<S3Request>().map(|s| s.op);
            let body: TestBody = match op {
                Some(S3Op::GetObjectAttributes) => pieces(&[
                    b"<GetObjectAttributesResponse><ET",
                    b"ag>\"0CC175B9C0F1B6A831C399E269772661\"</E",
                    b"Tag></GetObjectAttributesResponse>",
                ]),
                _ => pieces(&[
                    b"<R><ETag>\"0CC175B9C0F1B6A8",
                    b"31C399E269772661\"</ETag></R>",
                ]),
            };
            Ok::<_, ProxyError>(Response::new(body))
        });
    let attributes = request(Some(object(S3Op::GetObjectAttributes)), "");
    let response = svc.clone().oneshot(attributes).await.expect("passed");
    assert_eq!(
        body_bytes(response.into_body()).await,
        format!("<GetObjectAttributesResponse><ETag>{A}</ETag></GetObjectAttributesResponse>")
    );
    let response = svc
        .oneshot(request(Some(list()), ""))
        .await
        .expect("passed");
    assert_eq!(
        body_bytes(response.into_body()).await,
        format!("<R><ETag>&quot;{A}&quot;</ETag></R>")
    );
}

#[tokio::test]
async fn leaves_error_bodies_and_other_operations_untouched() {
    let body = format!(
        "<Error><Code>X</Code><ETag>\"{}\"</ETag></Error>",
        A.to_uppercase()
    );
    let length = body.len().to_string();
    for (s3, status) in [
        (Some(list()), StatusCode::BAD_REQUEST),
        (Some(object(S3Op::GetObject)), StatusCode::OK),
        (None, StatusCode::OK),
    ] {
        let (b, l) = (body.clone(), length.clone());
        let (result, _) = send(request(s3, ""), move |_| {
            Ok(answer(status, &[("content-length", &l)], b.clone()))
        })
        .await;
        let response = result.expect("passed");
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()[CONTENT_LENGTH], length.as_str());
        assert_eq!(body_bytes(response.into_body()).await, body);
    }
}

/// The multipart ETag of parts `A` and `B`, computed here from their digests.
fn multipart_etag() -> String {
    let mut concat = Vec::new();
    for hex in [A, B] {
        concat
            .extend((0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex")));
    }
    let hex: String = Md5::digest(&concat)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}-2")
}

const PARTS: &str = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"0cc175b9c0f1b6a831c399e269772661\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>92eb5ffee6ae2fec3ad71c777531578f</ETag></Part></CompleteMultipartUpload>";

const COMPLETED: &str = "<CompleteMultipartUploadResult><Location>/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag></ETag></CompleteMultipartUploadResult>";

#[tokio::test]
async fn fills_the_empty_etag_of_a_completion_from_the_part_list_sent() {
    let mut req = request(Some(upload(S3Op::CompleteMultipartUpload)), PARTS);
    *req.method_mut() = Method::POST;
    let (result, log) = send(req, |_| Ok(answer(StatusCode::OK, &[], COMPLETED))).await;
    assert_eq!(
        log.only().body,
        PARTS,
        "the part list reaches the store unchanged"
    );
    let body = body_bytes(result.expect("completed").into_body()).await;
    assert_eq!(
        body,
        COMPLETED.replace(
            "<ETag></ETag>",
            &format!("<ETag>&quot;{}&quot;</ETag>", multipart_etag())
        )
    );
}

#[tokio::test]
async fn leaves_the_etag_empty_when_the_part_list_was_not_sent_whole() {
    let svc = ServiceBuilder::new()
        .layer(EtagLayer::default())
        .service_fn(|_req: Request<TapBody<Full<Bytes>>>| async {
            // The store answers without reading the request body.
            Ok::<_, ProxyError>(answer(StatusCode::OK, &[], COMPLETED))
        });
    let req = request(Some(upload(S3Op::CompleteMultipartUpload)), PARTS);
    let response = svc.oneshot(req).await.expect("completed");
    assert_eq!(body_bytes(response.into_body()).await, COMPLETED);
}

#[tokio::test]
async fn passes_the_inner_error() {
    let (result, _) = send(request(Some(list()), ""), |_| {
        Err(ProxyError::UpstreamTimeout)
    })
    .await;
    assert!(matches!(result, Err(ProxyError::UpstreamTimeout)));
}

/// A CompleteMultipartUpload body with these part ETags, as a client writes it.
fn completion(etags: &[String]) -> String {
    let parts: String = (1..)
        .zip(etags)
        .map(|(n, e)| format!("<Part><PartNumber>{n}</PartNumber><ETag>\"{e}\"</ETag></Part>"))
        .collect();
    format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>")
}

/// The permutation of `b`/`k`'s ETags.
fn object_etags() -> ObjectEtags {
    Arc::new(OpaqueEtags::new(&[9; 32]).expect("AES-256")).object("b", "k")
}

async fn reveal(body: &str, md5: Option<String>) -> Seen {
    let etags = object_etags();
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(EtagRevealLayer)
        .service(recorder(&log, |_| Ok(answer(StatusCode::OK, &[], ""))));
    let split = body.len() / 3;
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/b/k?uploadId=u")
        .body(pieces(&[
            &body.as_bytes()[..split],
            &body.as_bytes()[split..],
        ]))
        .expect("a test request");
    req.extensions_mut().insert(RevealParts(etags));
    if let Some(md5) = md5 {
        req.headers_mut()
            .insert(CONTENT_MD5, HeaderValue::from_str(&md5).expect("base64"));
    }
    let _ = svc.oneshot(req).await;
    log.only()
}

#[tokio::test]
async fn reveals_a_part_list_in_place_and_checks_its_content_md5() {
    let etags = object_etags();
    let store = [A.to_owned(), format!("{B}-3")];
    let shown: Vec<String> = store
        .iter()
        .map(|e| etags.map_bare(e, Direction::Hide).expect("an S3 ETag"))
        .collect();
    let sent = completion(&shown);
    let md5 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Md5::digest(sent.as_bytes()),
    );
    let seen = reveal(&sent, Some(md5)).await;
    assert_eq!(seen.body, completion(&store).as_bytes());
    assert_eq!(seen.body.len(), sent.len());
    assert!(seen.headers.get(CONTENT_MD5).is_none(), "not forwarded");
    assert!(seen.body_error.is_none());

    // A Content-MD5 that does not match the body as sent fails the body: none of it is
    // sent.
    let seen = reveal(&sent, Some("1B2M2Y8AsgTpgAmY7PhCfg==".to_owned())).await;
    let error = seen.body_error.expect("the body failed");
    assert!(error.contains("Content-MD5"), "{error}");
    assert!(seen.body.is_empty(), "nothing was sent");

    // Spellings a store's XML parser reads as an ETag the byte-level mapping would miss.
    for odd in [
        format!("<ETag >\"{A}\"</ETag >"),
        format!("<ETag><![CDATA[\"{A}\"]]></ETag>"),
        format!("<ETag>&#34;{A}&#34;</ETag>"),
        format!("<s3:ETag>\"{A}\"</s3:ETag>"),
        format!("<Etag>\"{A}\"</Etag>"),
        format!("<ETag>\"{A}</ETag>"),
        "<!DOCTYPE x [<!ENTITY e \"a\">]><ETag>&e;</ETag>".to_owned(),
    ] {
        let body = format!(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>{odd}</Part></CompleteMultipartUpload>"
        );
        let seen = reveal(&body, None).await;
        assert!(seen.body.is_empty(), "{odd}: sent");
        let error = seen.body_error.expect("refused");
        assert!(
            error.contains("MalformedXML") || error.contains("part list"),
            "{odd}: {error}"
        );
    }
}

#[tokio::test]
async fn resign_mode_sends_copy_conditions_under_rgws_names_too() {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(EtagLayer::new(
            EtagMode::Canonical,
            true,
            LiveCredentials::default(),
        ))
        .service(recorder(&log, |_| {
            Ok(answer(StatusCode::NOT_MODIFIED, &[], ""))
        }));
    let mut req = request(Some(object(S3Op::CopyObject)), "");
    let tag = format!("\"{A}\"");
    req.headers_mut().insert(
        COPY_SOURCE_IF_NONE_MATCH,
        HeaderValue::from_str(&tag).expect("a tag"),
    );
    // A client's own value under RGW's name is replaced, not forwarded.
    req.headers_mut()
        .insert("x-amz-copy-if-match", HeaderValue::from_static("\"guess\""));
    let result = svc.oneshot(req).await;
    let seen = log.only();
    assert_eq!(seen.headers["x-amz-copy-if-none-match"], tag.as_str());
    assert!(seen.headers.get("x-amz-copy-if-match").is_none());
    // RGW's 304 for a copy is AWS's 412.
    match result {
        Err(ProxyError::Translated(e)) => assert_eq!(e.code, S3ErrorCode::PreconditionFailed),
        other => panic!("{:?}", other.map(|r| r.status())),
    }
}

#[test]
fn hides_the_etag_of_a_form_redirect() {
    let etags = object_etags();
    let hidden = etags.map_bare(A, Direction::Hide).expect("an S3 ETag");
    let location = |etag: &str| {
        let mut headers = HeaderMap::new();
        let value = format!("https://app.example/done?bucket=b&key=k&etag={etag}");
        headers.insert(LOCATION, HeaderValue::from_str(&value).expect("a value"));
        hide_location(&mut headers, &etags);
        headers[LOCATION].to_str().expect("text").to_owned()
    };
    assert_eq!(
        location(&format!("%22{A}%22")),
        format!("https://app.example/done?bucket=b&key=k&etag=%22{hidden}%22")
    );
    assert_eq!(
        location(A),
        format!("https://app.example/done?bucket=b&key=k&etag={hidden}")
    );
    // A value the proxy cannot map is not passed on.
    assert_eq!(
        location("%22abc%22"),
        "https://app.example/done?bucket=b&key=k&etag="
    );
}

#[test]
fn a_form_redirect_maps_only_the_stores_etag() {
    let etags = object_etags();
    let hidden = etags.map_bare(A, Direction::Hide).expect("an S3 ETag");
    let mut headers = HeaderMap::new();
    // The client's URL had its own `etag`s; the store's comes last.
    let value = format!("https://app.example/?etag=%22{B}%22&x=1&ETag={B}&bucket=b&etag=%22{A}%22");
    headers.insert(LOCATION, HeaderValue::from_str(&value).expect("a value"));
    hide_location(&mut headers, &etags);
    assert_eq!(
        headers[LOCATION],
        format!("https://app.example/?etag=&x=1&ETag=&bucket=b&etag=%22{hidden}%22")
    );
    // A Location that is not text is not passed on.
    let mut headers = HeaderMap::new();
    let raw = format!("https://app.example/\u{e9}?etag=%22{A}%22");
    headers.insert(
        LOCATION,
        HeaderValue::from_bytes(raw.as_bytes()).expect("bytes"),
    );
    hide_location(&mut headers, &etags);
    assert!(headers.get(LOCATION).is_none());
}

#[test]
fn an_etag_header_that_cannot_be_hidden_passes_only_without_a_digest() {
    let etags = object_etags();
    let hidden = etags.map_bare(A, Direction::Hide).expect("an S3 ETag");
    let with = |values: &[&[u8]]| {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(ETAG, HeaderValue::from_bytes(v).expect("bytes"));
        }
        hide_header(&mut headers, &etags);
        headers
            .get_all(ETAG)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
    };
    let quoted = format!("\"{A}\"");
    assert_eq!(
        with(&[quoted.as_bytes(), b"\"other\""]),
        [format!("\"{hidden}\"")]
    );
    assert_eq!(with(&[b"\"other\"", quoted.as_bytes()]), ["\"other\""]);
    let odd = format!("\"{A}\u{e9}\"");
    assert!(with(&[odd.as_bytes()]).is_empty());
    let spaced = format!("\"{A} \"");
    assert!(with(&[spaced.as_bytes()]).is_empty());
}

#[tokio::test]
async fn trailers_follow_what_the_rewriter_held() {
    use http_body_util::{BodyExt as _, StreamBody};
    let etags = Arc::new(OpaqueEtags::new(&[9; 32]).expect("AES-256"));
    let mut rewriter = EtagRewriter::new(true);
    // Held whole until the end: the trailers must not overtake it.
    rewriter.hide_listing_with(etags, "b", true);
    let mut trailers = HeaderMap::new();
    trailers.insert("x-trailer", HeaderValue::from_static("1"));
    let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = vec![
        Ok(Frame::data(Bytes::from_static(b"<R><Key>k</Key>"))),
        Ok(Frame::trailers(trailers)),
    ];
    let body = EtagBody {
        inner: StreamBody::new(futures_util::stream::iter(frames)),
        rewriter: Some(Box::new(rewriter)),
        finished: false,
        trailers: None,
    };
    let mut body = std::pin::pin!(body);
    let mut seen = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("a frame");
        seen.push(if frame.is_data() { "data" } else { "trailers" });
    }
    assert_eq!(seen, ["data", "trailers"]);
    assert!(body.is_end_stream());
}
