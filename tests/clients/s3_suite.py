#!/usr/bin/env python3
"""S3 operations through ssec-proxy with boto3, the aws CLI, and a hand-signed
STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload; run by tests/python_clients.rs.

Environment: S3_ENDPOINT, S3_CA (PEM the proxy's certificate chains to), S3_ACCESS_KEY,
S3_SECRET_KEY, S3_BUCKET (created here), SSE=1 to add SSE-C everywhere,
COPY_SSE_STATUS (status expected for an SSE-C CopyObject, 200 where the store supports
it), WHEN_REQUIRED=1 for stores that cannot read aws-chunked trailers (RGW 16.2),
BAD_SIGNATURE_CODE (the store's code for a bad signature: SignatureDoesNotMatch, or
AccessDenied from Garage).
Exits non-zero on the first failed check; prints one line per check.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import os
import ssl
import subprocess
import sys
import tempfile
import urllib.parse

import boto3
import botocore.config
import botocore.exceptions
import urllib3

ENDPOINT = os.environ["S3_ENDPOINT"]
CA = os.environ["S3_CA"]
ACCESS = os.environ["S3_ACCESS_KEY"]
SECRET = os.environ["S3_SECRET_KEY"]
BUCKET = os.environ["S3_BUCKET"]
SSE = os.environ.get("SSE") == "1"
WHEN_REQUIRED = os.environ.get("WHEN_REQUIRED") == "1"
COPY_SSE_STATUS = int(os.environ.get("COPY_SSE_STATUS", "200"))
BAD_SIGNATURE_CODE = os.environ.get("BAD_SIGNATURE_CODE", "SignatureDoesNotMatch")
REGION = "us-east-1"

KEY1 = bytes(range(32))
KEY2 = bytes(range(1, 33))


def check(cond, what):
    if not cond:
        print(f"FAIL {what}", flush=True)
        sys.exit(1)
    print(f"ok   {what}", flush=True)


def sse_args(key, prefix="SSECustomer"):
    if not SSE:
        return {}
    return {
        f"{prefix}Algorithm": "AES256",
        f"{prefix}Key": base64.b64encode(key).decode(),
        f"{prefix}KeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


def client(secret=SECRET):
    checksum = "when_required" if WHEN_REQUIRED else "when_supported"
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=secret,
        verify=CA,
        config=botocore.config.Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            request_checksum_calculation=checksum,
            response_checksum_validation=checksum,
            retries={"max_attempts": 1},
        ),
    )


def error_of(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    return 200, ""


def data(n, seed):
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def boto3_suite(s3):
    body = data(1011, 1)
    put = s3.put_object(Bucket=BUCKET, Key="obj", Body=body, **sse_args(KEY1))
    check(put["ResponseMetadata"]["HTTPStatusCode"] == 200, "boto3 PutObject")
    if SSE:
        check(put.get("SSECustomerAlgorithm") == "AES256", "boto3 PutObject echoes the SSE-C algorithm")
    got = s3.get_object(Bucket=BUCKET, Key="obj", **sse_args(KEY1))["Body"].read()
    check(got == body, "boto3 GetObject returns the content")
    rng = s3.get_object(Bucket=BUCKET, Key="obj", Range="bytes=5-14", **sse_args(KEY1))
    check(rng["ResponseMetadata"]["HTTPStatusCode"] == 206 and rng["Body"].read() == body[5:15], "boto3 ranged GetObject")
    head = s3.head_object(Bucket=BUCKET, Key="obj", **sse_args(KEY1))
    check(head["ContentLength"] == 1011, "boto3 HeadObject")
    if SSE:
        status, _ = error_of(lambda: s3.get_object(Bucket=BUCKET, Key="obj"))
        check(status == 400, "boto3 GetObject without the key is refused by the store")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    check("obj" in keys, "boto3 ListObjectsV2")

    parts = [data(5 << 20, 10 + i) for i in range(3)]
    mpu = s3.create_multipart_upload(Bucket=BUCKET, Key="mpu", **sse_args(KEY1))
    done = []
    for i, part in enumerate(parts, start=1):
        out = s3.upload_part(Bucket=BUCKET, Key="mpu", UploadId=mpu["UploadId"], PartNumber=i, Body=part, **sse_args(KEY1))
        done.append({"PartNumber": i, "ETag": out["ETag"]})
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mpu", UploadId=mpu["UploadId"], MultipartUpload={"Parts": done})
    got = s3.get_object(Bucket=BUCKET, Key="mpu", **sse_args(KEY1))["Body"].read()
    check(hashlib.md5(got).digest() == hashlib.md5(b"".join(parts)).digest(), "boto3 multipart upload, 3 x 5 MiB")

    copy_args = {}
    if SSE:
        copy_args = {**sse_args(KEY1, "CopySourceSSECustomer"), **sse_args(KEY2)}
    status, code = error_of(lambda: s3.copy_object(Bucket=BUCKET, Key="copy", CopySource={"Bucket": BUCKET, "Key": "obj"}, **copy_args))
    expected = COPY_SSE_STATUS if SSE else 200
    check(status == expected, f"boto3 CopyObject answers {expected} (got {status} {code})")
    if status == 200:
        got = s3.get_object(Bucket=BUCKET, Key="copy", **sse_args(KEY2))["Body"].read()
        check(got == body, "boto3 CopyObject content (re-keyed when SSE-C)")

    http_pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=CA)
    sse_headers = {}
    if SSE:
        sse_headers = {
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY1).decode(),
            "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(hashlib.md5(KEY1).digest()).decode(),
        }
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned", **sse_args(KEY1)}, ExpiresIn=300)
    r = http_pool.request("PUT", url, body=b"presigned body", headers=sse_headers)
    check(r.status == 200, f"presigned PUT (got {r.status})")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned", **sse_args(KEY1)}, ExpiresIn=300)
    r = http_pool.request("GET", url, headers=sse_headers)
    check(r.status == 200 and r.data == b"presigned body", "presigned GET")

    s3.delete_object(Bucket=BUCKET, Key="presigned")
    status, code = error_of(lambda: s3.head_object(Bucket=BUCKET, Key="presigned", **sse_args(KEY1)))
    check(status == 404, "boto3 DeleteObject")

    status, code = error_of(lambda: client("not-the-secret-not-the-secret-0000000000").put_object(Bucket=BUCKET, Key="x", Body=b"x"))
    check((status, code) == (403, BAD_SIGNATURE_CODE), f"wrong secret: store answers {BAD_SIGNATURE_CODE} (got {status} {code})")


def cli_suite():
    env = dict(os.environ)
    env.update({
        "AWS_ACCESS_KEY_ID": ACCESS,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CA_BUNDLE": CA,
        "AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED" if WHEN_REQUIRED else "WHEN_SUPPORTED",
        "AWS_RESPONSE_CHECKSUM_VALIDATION": "WHEN_REQUIRED" if WHEN_REQUIRED else "WHEN_SUPPORTED",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    })
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src.bin")
        dst = os.path.join(tmp, "dst.bin")
        keyfile = os.path.join(tmp, "key.bin")
        with open(src, "wb") as f:
            f.write(data(9 << 20, 3))  # above the CLI's 8 MiB multipart threshold
        with open(keyfile, "wb") as f:
            f.write(KEY1)
        sse = ["--sse-c", "AES256", "--sse-c-key", f"fileb://{keyfile}"] if SSE else []
        base = [aws, "--endpoint-url", ENDPOINT, "s3"]
        up = subprocess.run(base + ["cp", src, f"s3://{BUCKET}/cli.bin"] + sse, env=env, capture_output=True, text=True)
        check(up.returncode == 0, f"aws s3 cp upload (multipart) {up.stderr.strip()[-300:]}")
        down = subprocess.run(base + ["cp", f"s3://{BUCKET}/cli.bin", dst] + sse, env=env, capture_output=True, text=True)
        check(down.returncode == 0, f"aws s3 cp download {down.stderr.strip()[-300:]}")
        with open(src, "rb") as a, open(dst, "rb") as b:
            check(a.read() == b.read(), "aws CLI round trip content")
        ls = subprocess.run(base + ["ls", f"s3://{BUCKET}/"], env=env, capture_output=True, text=True)
        check(ls.returncode == 0 and "cli.bin" in ls.stdout, "aws s3 ls")
        rm = subprocess.run(base + ["rm", f"s3://{BUCKET}/cli.bin"], env=env, capture_output=True, text=True)
        check(rm.returncode == 0, "aws s3 rm")


def streaming_signed_put(s3):
    """PUT with STREAMING-AWS4-HMAC-SHA256-PAYLOAD: every chunk carries a signature
    chained from the request's, so the body must arrive byte for byte."""
    u = urllib.parse.urlparse(ENDPOINT)
    host = u.netloc
    path = f"/{BUCKET}/signed-chunks"
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    scope = f"{day}/{REGION}/s3/aws4_request"
    chunks = [data(65536, 20), data(65536, 21), data(1000, 22)]
    decoded = b"".join(chunks)

    def hm(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    signing_key = hm(hm(hm(hm(("AWS4" + SECRET).encode(), day), REGION), "s3"), "aws4_request")
    sig_len = 64
    encoded_len = sum(len(f"{len(c):x};chunk-signature=".encode()) + sig_len + 2 + len(c) + 2 for c in chunks + [b""])
    headers = {
        "content-encoding": "aws-chunked",
        "content-length": str(encoded_len),
        "host": host,
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-date": amz_date,
        "x-amz-decoded-content-length": str(len(decoded)),
    }
    if SSE:
        headers.update({
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY1).decode(),
            "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(hashlib.md5(KEY1).digest()).decode(),
        })
    names = sorted(headers)
    canonical = "\n".join([
        "PUT", path, "",
        "".join(f"{n}:{headers[n]}\n" for n in names),
        ";".join(names),
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    ])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    seed = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={ACCESS}/{scope}, SignedHeaders={';'.join(names)}, Signature={seed}"
    empty = hashlib.sha256(b"").hexdigest()
    prev = seed
    body = b""
    for c in chunks + [b""]:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty, hashlib.sha256(c).hexdigest()])
        prev = hmac.new(signing_key, sts.encode(), hashlib.sha256).hexdigest()
        body += f"{len(c):x};chunk-signature={prev}\r\n".encode() + c + b"\r\n"
    assert len(body) == encoded_len
    ctx = ssl.create_default_context(cafile=CA)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)
    conn.request("PUT", path, body=body, headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode(errors="replace")
    check(resp.status == 200, f"signed aws-chunked PUT (got {resp.status} {text[:200]})")
    got = s3.get_object(Bucket=BUCKET, Key="signed-chunks", **sse_args(KEY1))["Body"].read()
    check(got == decoded, "signed aws-chunked PUT stored the decoded content")


def main():
    s3 = client()
    s3.create_bucket(Bucket=BUCKET)
    boto3_suite(s3)
    streaming_signed_put(s3)
    cli_suite()
    print("ALL OK", flush=True)


if __name__ == "__main__":
    main()
