"""The approach gcp-aws-cred replaces, as people write it: fetch the ID token
from the metadata server with requests, exchange it with boto3's
assume_role_with_web_identity, print the credential_process document.

Used by bench/run.py only, against the same loopback fakes as the binary.
It writes nothing to disk (the usual script overwrites ~/.aws/credentials;
that part is left out so both contenders do the same work).
"""
import json
import os
import sys

import boto3
import requests


def main():
    role = sys.argv[1]
    host = os.environ.get("GCE_METADATA_HOST", "169.254.169.254")
    token = requests.get(
        f"http://{host}/computeMetadata/v1/instance/service-accounts/default/identity",
        params={"audience": "sts.amazonaws.com", "format": "full"},
        headers={"Metadata-Flavor": "Google"},
        timeout=5,
    ).text
    sts = boto3.client(
        "sts",
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL_STS"),
    )
    resp = sts.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="python-contender", WebIdentityToken=token, DurationSeconds=3600
    )
    c = resp["Credentials"]
    sys.stdout.write(json.dumps({
        "Version": 1,
        "AccessKeyId": c["AccessKeyId"],
        "SecretAccessKey": c["SecretAccessKey"],
        "SessionToken": c["SessionToken"],
        "Expiration": c["Expiration"].isoformat(),
        "AccountId": resp["AssumedRoleUser"]["Arn"].split(":")[4],
    }) + "\n")


if __name__ == "__main__":
    main()
