#!/usr/bin/env python3
"""One POST Object (browser form upload) through ssec-proxy, signed with a SigV4 POST
policy by boto3; run by tests/ssec_stores.rs.

Usage: post_object.py BUCKET KEY MODE DATA_FILE
MODE: k1 (valid SSE-C fields), bad-md5 (MD5 of another key), none (no SSE-C fields).
Environment: S3_ENDPOINT, S3_CA, S3_ACCESS_KEY, S3_SECRET_KEY.
Prints "STATUS <code>" and then the response body.
"""

import base64
import hashlib
import os
import sys

import boto3
import botocore.config
import urllib3

bucket, key, mode, data_file = sys.argv[1:5]
k1 = bytes(range(32))
fields = {}
if mode in ("k1", "bad-md5"):
    md5_of = k1 if mode == "k1" else bytes(range(1, 33))
    fields = {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(k1).decode(),
        "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(hashlib.md5(md5_of).digest()).decode(),
    }
s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["S3_ENDPOINT"],
    region_name="us-east-1",
    aws_access_key_id=os.environ["S3_ACCESS_KEY"],
    aws_secret_access_key=os.environ["S3_SECRET_KEY"],
    verify=os.environ["S3_CA"],
    config=botocore.config.Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
)
post = s3.generate_presigned_post(
    bucket, key, Fields=dict(fields), Conditions=[{k: v} for k, v in fields.items()], ExpiresIn=300
)
with open(data_file, "rb") as f:
    content = f.read()
form = list(post["fields"].items()) + [("file", ("upload.bin", content, "application/octet-stream"))]
body, content_type = urllib3.encode_multipart_formdata(form)
http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=os.environ["S3_CA"])
r = http.request("POST", post["url"], body=body, headers={"Content-Type": content_type})
print(f"STATUS {r.status}")
print(r.data.decode(errors="replace"))
