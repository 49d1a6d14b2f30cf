#!/usr/bin/env python3
"""Fake credential endpoints on 127.0.0.1 for CredentialTests: EC2 instance metadata (IMDSv2),
a container credentials endpoint and STS AssumeRoleWithWebIdentity. Each checks what the real one
checks (the IMDSv2 session token, the container Authorization header, the web identity token)
and counts its hits (GET /hits). Writes its port to argv[1]; exits when its parent test does."""
import datetime, json, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

hits = {}
lock = threading.Lock()

def stamp(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a): pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def count(self):
        with lock:
            hits[self.path] = hits.get(self.path, 0) + 1
            return hits[self.path]

    def do_PUT(self):
        n = self.count()
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(200, "imds-session-token")
        self.reply(400, "bad token request")

    def do_GET(self):
        n = self.count()
        p = self.path
        if p == "/hits":
            return self.reply(200, json.dumps(hits), "application/json")
        if p.startswith("/latest/meta-data/"):
            if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
                return self.reply(401, "")
            if p == "/latest/meta-data/iam/security-credentials/":
                return self.reply(200, "talktrace-role\n")
            if p == "/latest/meta-data/iam/security-credentials/talktrace-role":
                return self.reply(200, json.dumps({"Code": "Success", "AccessKeyId": f"ASIAIMDS{n}", "SecretAccessKey": "imds-secret",
                                                   "Token": f"imds-token-{n}", "Expiration": stamp(3600)}), "application/json")
        if p.startswith("/container/"):
            if self.headers.get("Authorization") != "container-auth-token":
                return self.reply(403, "missing or wrong Authorization")
            lifetime = 60 if p == "/container/soon" else 3600   # 60 s: inside the refresh window
            return self.reply(200, json.dumps({"AccessKeyId": f"ASIACONTAINER{n}", "SecretAccessKey": "container-secret",
                                               "Token": f"container-token-{n}", "Expiration": stamp(lifetime)}), "application/json")
        self.reply(404, "not found")

    def do_POST(self):
        n = self.count()
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if form.get("Action") != ["AssumeRoleWithWebIdentity"]:
            return self.reply(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>")
        if form.get("WebIdentityToken") != ["web-identity-token"]:
            return self.reply(400, "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad token &amp; more</Message></Error></ErrorResponse>")
        role = form["RoleArn"][0]
        self.reply(200, f"""<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>
<Credentials><AccessKeyId>ASIAWEB{n}</AccessKeyId><SecretAccessKey>web/secret+key</SecretAccessKey>
<SessionToken>web-token-{n}&amp;x</SessionToken><Expiration>{stamp(3600)}</Expiration></Credentials>
<AssumedRoleUser><Arn>{role}/{form['RoleSessionName'][0]}</Arn></AssumedRoleUser>
</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>""", "text/xml")

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
parent = os.getppid()
def watch():
    import time
    while os.getppid() == parent: time.sleep(0.5)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
server.serve_forever()
