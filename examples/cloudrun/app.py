"""A Cloud Run service that answers GET / with the AWS identity it has.

boto3 finds no AWS key; it runs the credential_process of AWS_CONFIG_FILE,
gcp-aws-cred, which trades the service account's Google ID token for
temporary AWS credentials, and runs it again before they expire.
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

sts = boto3.client("sts")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            ident = sts.get_caller_identity()
            status, body = 200, {"Account": ident["Account"], "Arn": ident["Arn"]}
        except Exception as e:  # gcp-aws-cred's message says what to fix
            status, body = 502, {"error": str(e)}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
