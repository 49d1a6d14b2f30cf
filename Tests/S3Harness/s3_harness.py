#!/usr/bin/env python3
"""An S3-compatible server on 127.0.0.1 for TalkTrace's S3 tests: moto in server mode with
signature checking on, behind a small fault-injecting proxy.

    s3_harness.py PORT_FILE SPEC.json

SPEC: {"bucket": name, "region": r, "uploads": [[local file, key], ...], "out": CREDENTIALS.json}.
Setup runs unauthenticated (an IAM user with an access key and an s3:* policy, a role and an
assumed-role session, the bucket, the uploads); then signature checking is turned on for every
later request (moto's INITIAL_NO_AUTH_ACTION_COUNT set to 0, as its /moto-api/reset-auth does). OUT gets {"motoPort", "accessKeyId", "secretAccessKey",
"session": {...}, "staleSession": {...}}. PORT_FILE gets the proxy's port, written last.

The proxy forwards every request to moto unchanged (Host header included, so signatures hold)
and, as configured by POST /__proxy/config {"latency": s, "faults": bool, "doomed": text}:
- waits `latency` seconds before answering (S3's first-byte latency);
- with `faults`, per distinct request (method, path, Range) deterministically by its CRC-32:
  a third answer 503 SlowDown the first time and drop the connection without a reply the second;
  another third get their headers and half the body, then the connection closes; the rest pass;
- a request whose path contains `doomed` always gets 503 SlowDown.
GET /__proxy/stats counts what it did. GET /__proxy/credentials is a container credentials
endpoint that hands out the stale session first and the live one after. Everything is bounded: it exits with its parent."""
import json, os, socket, sys, threading, time, zlib
import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from moto.server import ThreadedMotoServer

port_file, spec_file = sys.argv[1], sys.argv[2]

# moto 5.2 re-signs a request to check it from its decoded URL, and botocore takes that URL's
# query as already encoded: a query value holding "/" (ListObjectsV2's prefix, for boto3 too)
# is signed as "prefix=connect/" where AWS signs "prefix=connect%2F", and every such request
# fails with SignatureDoesNotMatch. Likewise its path is decoded and botocore signs it as given
# (a key "a b" signed as "/a b" where AWS signs "/a%20b"): every key with a space, colon or "+"
# fails. Give the check the path and the query encoded as AWS's canonical request has them (a key holding "%" or a
# query value holding "&" is not supported here; the tests have none).
from urllib.parse import quote, unquote
from moto.iam import access_control
_create_aws_request = access_control.IAMRequestBase._create_aws_request
def _encoded_query_request(self):
    path, _, query = self._path.partition("?")
    self._path = quote(unquote(path), safe="/~")
    if query:
        pairs = (p.partition("=") for p in query.split("&"))
        self._path = path + "?" + "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~") for k, _, v in pairs)
    request = _create_aws_request(self)
    if os.environ.get("HARNESS_DEBUG"):
        print("moto checks", repr(self._path), dict(request.headers.items()), file=sys.stderr, flush=True)
    return request
access_control.IAMRequestBase._create_aws_request = _encoded_query_request
spec = json.load(open(spec_file))

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

moto_port = free_port()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
server.start()
endpoint = f"http://127.0.0.1:{moto_port}"
boot = dict(endpoint_url=endpoint, region_name=spec["region"], aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **boot)
iam.create_user(UserName="talktrace")
key = iam.create_access_key(UserName="talktrace")["AccessKey"]
policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sts:*"], "Resource": "*"}]})
iam.put_user_policy(UserName="talktrace", PolicyName="s3", PolicyDocument=policy)
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust)["Role"]
iam.put_role_policy(RoleName="reader", PolicyName="s3", PolicyDocument=policy)
sts = boto3.client("sts", **boot)
session = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="night")["Credentials"]
stale = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="stale")["Credentials"]
s3 = boto3.client("s3", **boot)
if spec["region"] == "us-east-1":
    s3.create_bucket(Bucket=spec["bucket"])
else:
    s3.create_bucket(Bucket=spec["bucket"], CreateBucketConfiguration={"LocationConstraint": spec["region"]})
for local, k in spec.get("uploads", []):
    with open(local, "rb") as f:
        s3.put_object(Bucket=spec["bucket"], Key=k, Body=f.read())
# Signature checking on from here (what moto's /moto-api/reset-auth does; moto runs in this process).
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
ActionAuthenticatorMixin.request_count = 0

config = {"latency": 0.0, "faults": False, "doomed": None}
stats = {"requests": 0, "throttled": 0, "dropped": 0, "cut": 0, "doomed": 0}
attempts = {}
lock = threading.Lock()

class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def local(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def slowdown(self):
        body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/__proxy/credentials":
            # A container credentials endpoint: the stale session first, the live one after, so a
            # client must notice the refusal and fetch its credentials again.
            with lock:
                stats["credentials"] = stats.get("credentials", 0) + 1
                use = creds_out["staleSession"] if stats["credentials"] == 1 else creds_out["session"]
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            return self.local(200, json.dumps({"AccessKeyId": use["accessKeyId"], "SecretAccessKey": use["secretAccessKey"],
                                               "Token": use["sessionToken"], "Expiration": expires}).encode())
        if self.path.startswith("/__proxy/"):
            with lock:
                if self.path == "/__proxy/config" and self.command == "POST":
                    config.update(json.loads(body or b"{}")); attempts.clear()
                    for k in stats: stats[k] = 0
                return self.local(200, json.dumps(stats).encode())
        with lock:
            stats["requests"] += 1
            identity = f"{self.command} {self.path} {self.headers.get('Range', '')}"
            n = attempts[identity] = attempts.get(identity, 0) + 1
            latency, faults, doomed = config["latency"], config["faults"], config["doomed"]
        if latency: time.sleep(latency)
        if doomed and doomed in self.path:
            with lock: stats["doomed"] += 1
            return self.slowdown()
        kind = zlib.crc32(identity.encode()) % 3 if faults else 2
        if kind == 0 and n == 1:
            with lock: stats["throttled"] += 1
            return self.slowdown()
        if kind == 0 and n == 2:
            with lock: stats["dropped"] += 1
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", moto_port, timeout=60)
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in ("connection", "keep-alive"): upstream.putheader(k, v)
        upstream.endheaders(body if body else None)
        r = upstream.getresponse()
        data = r.read()
        upstream.close()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"): self.send_header(k, v)
        self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else r.getheader("Content-Length", "0")))
        self.end_headers()
        if self.command == "HEAD": return
        if kind == 1 and n == 1 and len(data) > 1:
            with lock: stats["cut"] += 1
            self.wfile.write(data[: len(data) // 2]); self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_any

proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
proxy.daemon_threads = True
creds_out = {"motoPort": moto_port, "accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"],
           "session": {"accessKeyId": session["AccessKeyId"], "secretAccessKey": session["SecretAccessKey"], "sessionToken": session["SessionToken"]},
           "staleSession": {"accessKeyId": session["AccessKeyId"], "secretAccessKey": session["SecretAccessKey"], "sessionToken": stale["SessionToken"]}}
json.dump(creds_out, open(spec["out"], "w"))
with open(port_file + ".tmp", "w") as f: f.write(str(proxy.server_address[1]))
os.rename(port_file + ".tmp", port_file)
parent = os.getppid()
def watch():
    while os.getppid() == parent: time.sleep(0.5)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
proxy.serve_forever()
