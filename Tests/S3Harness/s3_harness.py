#!/usr/bin/env python3
"""An S3-compatible server on 127.0.0.1 for TalkTrace's S3 tests: moto in server mode with
signature checking on, behind a small fault-injecting proxy.

    s3_harness.py PORT_FILE SPEC.json

SPEC: {"bucket": name, "region": r, "uploads": [[local file, key], ...], "out": CREDENTIALS.json}.
Setup runs unauthenticated (an IAM user with an access key and an s3:* policy, a role and two
assumed-role sessions, the bucket, the uploads); then signature checking is turned on for every
later request (moto's INITIAL_NO_AUTH_ACTION_COUNT set to 0, as its /moto-api/reset-auth does).
OUT gets {"motoPort", "accessKeyId", "secretAccessKey", "session": {...}, "staleSession": {...},
"expiredSession": {...}, "uploaded": [first, last]}: "staleSession" and "expiredSession" are the
same session, whose token the proxy treats as expired; "uploaded" are the Unix times just before
the first upload and just after the last. PORT_FILE gets the proxy's port, written last.

The proxy forwards every request to moto unchanged (Host header included, so signatures hold),
streaming the answer through, and, as configured by POST /__proxy/config {"latency": s,
"faults": bool, "doomed": text, "serve": "moto"|"files", "expireAfter": n}:
- waits `latency` seconds before answering (S3's first-byte latency);
- a request signed with an expired session token (the "expiredSession"'s, and with
  `"expireAfter": n` any session token after n requests signed with it) gets what S3 answers
  for one: HTTP 400, `<Error><Code>ExpiredToken</Code><Message>The provided token has
  expired.</Message><Token-0>…</Token-0><RequestId>…</RequestId><HostId>…</HostId></Error>`, the
  connection closed;
- with `faults`, per distinct request (method, path, Range) deterministically by its CRC-32:
  a third answer 503 SlowDown the first time and drop the connection without a reply the second;
  another third get their headers and half the body, then the connection closes; the rest pass;
- a request whose path contains `doomed` always gets 503 SlowDown;
- with `serve` "files" (the benchmark), a GetObject of an uploaded key is answered by the proxy
  itself from the uploaded file (`sendfile`, no copy through Python): its Signature Version 4 is
  checked here as S3 checks it (access key, secret, session token, signature), Range, If-Match,
  ETag and Last-Modified as moto answers them. Everything else still goes to moto.
GET /__proxy/stats counts what it did; GET /__proxy/uploaded is OUT's "uploaded". GET /__proxy/credentials is a container credentials
endpoint that hands out the expired session first and the live one after (`?process` prints it
as a credential_process does); POST /__proxy/sts/ is an STS AssumeRoleWithWebIdentity that does
the same. Everything is bounded: it exits with its parent, and then removes the files it was
given and made (the spec's folder, the port file's folder)."""
import calendar, email.utils, hashlib, hmac, json, os, shutil, socket, sys, threading, time, zlib
import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

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
bucket = spec["bucket"]

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
# A real session of its own that the proxy treats as expired (moto never expires a token).
expired = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="expired")["Credentials"]
s3 = boto3.client("s3", **boot)
if spec["region"] == "us-east-1":
    s3.create_bucket(Bucket=bucket)
else:
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": spec["region"]})
uploaded_from = time.time()
files = {}  # key -> (local file, ETag, Last-Modified) for serve "files"
digests = {}
for local, k in spec.get("uploads", []):
    with open(local, "rb") as f:
        data = f.read()
    s3.put_object(Bucket=bucket, Key=k, Body=data)
    if local not in digests: digests[local] = hashlib.md5(data).hexdigest()
    files[k] = [local, digests[local], None]
uploaded_until = time.time()
for k, entry in files.items():
    entry[2] = s3.head_object(Bucket=bucket, Key=k)["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
# Signature checking on from here (what moto's /moto-api/reset-auth does; moto runs in this process).
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
ActionAuthenticatorMixin.request_count = 0

config = {"latency": 0.0, "faults": False, "doomed": None, "serve": "moto", "expireAfter": None}
stats = {"requests": 0, "throttled": 0, "dropped": 0, "cut": 0, "doomed": 0, "expired": 0, "served": 0}
attempts = {}
lock = threading.Lock()
expired_tokens = {expired["SessionToken"]}
uses = {}  # session token -> requests signed with it (for "expireAfter")
# Who may sign (serve "files"): access key -> (secret, session token or None).
signers = {key["AccessKeyId"]: (key["SecretAccessKey"], None),
           session["AccessKeyId"]: (session["SecretAccessKey"], session["SessionToken"]),
           expired["AccessKeyId"]: (expired["SecretAccessKey"], expired["SessionToken"])}

def error_xml(code, message, extra=""):
    request_id = os.urandom(8).hex().upper()
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}'
            f'<RequestId>{request_id}</RequestId><HostId>{os.urandom(24).hex()}</HostId></Error>').encode(), request_id

def signature_problem(handler, path, query):
    """Why S3 would refuse this request's Signature Version 4 (None: it holds), as (status, code, message)."""
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return 403, "AccessDenied", "Access Denied"
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    akid, date, region, service, _ = parts["Credential"].split("/")
    if akid not in signers:
        return 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
    secret, token = signers[akid]
    if token is not None and handler.headers.get("X-Amz-Security-Token") != token:
        return 400, "InvalidToken", "The provided token is malformed or otherwise invalid."
    signed = parts["SignedHeaders"].split(";")
    canonical_query = "&".join(sorted(quote(unquote(k), safe="-_.~") + "=" + quote(unquote(v), safe="-_.~")
                                      for k, _, v in (p.partition("=") for p in query.split("&") if p)))
    canonical = "\n".join([handler.command, quote(unquote(path), safe="/-_.~"), canonical_query,
                           "".join(f"{h}:{' '.join((handler.headers.get(h) or '').split())}\n" for h in signed),
                           parts["SignedHeaders"], handler.headers.get("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", handler.headers.get("X-Amz-Date", ""), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest(), parts["Signature"]):
        return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
    return None

class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def version_string(self): return "AmazonS3"

    def local(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def s3_error(self, status, code, message, extra="", close=False):
        body, request_id = error_xml(code, message, extra)
        self.send_response(status)
        self.send_header("x-amz-request-id", request_id)
        self.send_header("x-amz-id-2", os.urandom(32).hex())
        self.send_header("Content-Type", "application/xml")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)

    def slowdown(self):
        self.s3_error(503, "SlowDown", "Please reduce your request rate.")

    def hand_out(self, n):
        """The n-th temporary credentials handed out: the expired session first, the live one after."""
        use = expired if n == 1 else session
        return use, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))

    def send_body(self, length, write_range, cut):
        """Writes `length` bytes with write_range(offset, count); with `cut`, half of them, then closes."""
        if cut and length > 1:
            with lock: stats["cut"] += 1
            write_range(0, length // 2)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        write_range(0, length)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__proxy/credentials"):
            # A container credentials endpoint (or, with ?process, what a credential_process prints).
            with lock:
                stats["credentials"] = stats.get("credentials", 0) + 1
                use, expires = self.hand_out(stats["credentials"])
            if self.path.endswith("?process"):
                out = {"Version": 1, "AccessKeyId": use["AccessKeyId"], "SecretAccessKey": use["SecretAccessKey"],
                       "SessionToken": use["SessionToken"], "Expiration": expires}
            else:
                out = {"AccessKeyId": use["AccessKeyId"], "SecretAccessKey": use["SecretAccessKey"],
                       "Token": use["SessionToken"], "Expiration": expires}
            return self.local(200, json.dumps(out).encode())
        if self.path.startswith("/__proxy/sts/"):
            # STS AssumeRoleWithWebIdentity, as the web identity source asks it.
            with lock:
                stats["credentials"] = stats.get("credentials", 0) + 1
                use, expires = self.hand_out(stats["credentials"])
            xml = (f'<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>'
                   f'<Credentials><AccessKeyId>{use["AccessKeyId"]}</AccessKeyId><SecretAccessKey>{use["SecretAccessKey"]}</SecretAccessKey>'
                   f'<SessionToken>{use["SessionToken"]}</SessionToken><Expiration>{expires}</Expiration></Credentials>'
                   f'</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>').encode()
            return self.local(200, xml, "text/xml")
        if self.path == "/__proxy/uploaded":
            return self.local(200, json.dumps([uploaded_from, uploaded_until]).encode())
        if self.path.startswith("/__proxy/"):
            with lock:
                if self.path == "/__proxy/config" and self.command == "POST":
                    config.update(json.loads(body or b"{}")); attempts.clear(); uses.clear()
                    expired_tokens.intersection_update({expired["SessionToken"]})
                    for k in stats: stats[k] = 0
                return self.local(200, json.dumps(stats).encode())
        with lock:
            stats["requests"] += 1
            identity = f"{self.command} {self.path} {self.headers.get('Range', '')}"
            n = attempts[identity] = attempts.get(identity, 0) + 1
            latency, faults, doomed, serve = config["latency"], config["faults"], config["doomed"], config["serve"]
        if latency: time.sleep(latency)
        token = self.headers.get("X-Amz-Security-Token")
        if token and config["expireAfter"] is not None:
            with lock:
                uses[token] = uses.get(token, 0) + 1
                if uses[token] > config["expireAfter"]: expired_tokens.add(token)
        if token in expired_tokens:
            with lock: stats["expired"] += 1
            return self.s3_error(400, "ExpiredToken", "The provided token has expired.", f"<Token-0>{token}</Token-0>", close=True)
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
        cut = kind == 1 and n == 1
        path, _, query = self.path.partition("?")
        object_key = unquote(path[len(bucket) + 2:]) if path.startswith(f"/{bucket}/") else None
        if serve == "files" and self.command == "GET" and not query and object_key in files:
            return self.serve_file(path, query, *files[object_key], cut)
        upstream = http.client.HTTPConnection("127.0.0.1", moto_port, timeout=60)
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in ("connection", "keep-alive"): upstream.putheader(k, v)
        upstream.endheaders(body if body else None)
        r = upstream.getresponse()
        size = r.getheader("Content-Length")
        data = None
        if size is None and self.command != "HEAD":
            data = r.read()  # no length given (chunked): a small answer, read whole
            size = str(len(data))
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"): self.send_header(k, v)
        self.send_header("Content-Length", size or "0")
        self.end_headers()
        if self.command != "HEAD":
            def relay(offset, count):
                # Streamed through in pieces: the proxy holds at most 256 KiB of a body.
                if data is not None:
                    self.wfile.write(data[offset:offset + count]); return
                while count > 0:
                    piece = r.read(min(count, 1 << 18))
                    if not piece: break
                    self.wfile.write(piece)
                    count -= len(piece)
            self.send_body(int(size), relay, cut)
        upstream.close()

    def serve_file(self, path, query, local, etag, last_modified, cut):
        """GetObject from the uploaded file, its signature checked here, the body sent by the kernel."""
        problem = signature_problem(self, path, query)
        if problem: return self.s3_error(*problem)
        match = self.headers.get("If-Match")
        if match is not None and match.strip('"') != etag:
            return self.s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
        total = os.path.getsize(local)
        start, end, status = 0, total - 1, 200
        ask = self.headers.get("Range")
        if ask and ask.startswith("bytes="):
            a, _, b = ask[6:].partition("-")
            start, end = int(a), min(int(b) if b else total - 1, total - 1)
            if start >= total:
                return self.s3_error(416, "InvalidRange", "The requested range is not satisfiable")
            status = 206
        with lock: stats["served"] += 1
        self.send_response(status)
        self.send_header("ETag", f'"{etag}"')
        self.send_header("Last-Modified", last_modified)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "binary/octet-stream")
        if status == 206: self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        with open(local, "rb") as f:
            def send(offset, count):
                at, left = start + offset, count
                while left > 0:
                    sent = os.sendfile(self.connection.fileno(), f.fileno(), at, left)
                    if sent == 0: break
                    at += sent; left -= sent
            self.send_body(end - start + 1, send, cut)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_any

class Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: 32 reads connecting at once overflow it and the
    # kernel drops SYNs, which the client resends only after a second. S3 takes them all.
    request_queue_size = 1024
proxy = Server(("127.0.0.1", 0), Proxy)
def triple(c): return {"accessKeyId": c["AccessKeyId"], "secretAccessKey": c["SecretAccessKey"], "sessionToken": c["SessionToken"]}
creds_out = {"motoPort": moto_port, "accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"],
             "session": triple(session), "staleSession": triple(expired), "expiredSession": triple(expired),
             "uploaded": [uploaded_from, uploaded_until]}
json.dump(creds_out, open(spec["out"], "w"))
with open(port_file + ".tmp", "w") as f: f.write(str(proxy.server_address[1]))
os.rename(port_file + ".tmp", port_file)

def clean_up():
    """Removes what the harness was given and made, once its parent is gone: the spec's folder
    (a test's `talktrace-tests-s3harness…` folder: the spec and the credentials) and the port
    file's folder (`talktrace-server-…`: the port and the log)."""
    for folder, mark in ((os.path.dirname(os.path.abspath(spec_file)), "talktrace-tests-s3harness"),
                         (os.path.dirname(os.path.abspath(port_file)), "talktrace-server-")):
        if os.path.basename(folder).startswith(mark):
            shutil.rmtree(folder, ignore_errors=True)

parent = os.getppid()
def watch():
    while os.getppid() == parent: time.sleep(0.5)
    clean_up()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
proxy.serve_forever()
