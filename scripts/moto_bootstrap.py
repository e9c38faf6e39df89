#!/usr/bin/env python3
"""Creates an IAM user with full access in a fresh moto_server, writes its keys as an AWS shared
credentials profile, then turns on moto's signature checking (INITIAL_NO_AUTH_ACTION_COUNT=0 at run
time, through /moto-api/reset-auth): from then on every request must be SigV4-signed with those keys."""
import json
import os
import sys
import urllib.request

import boto3

endpoint, credentials_path, profile = sys.argv[1], sys.argv[2], sys.argv[3]
iam = boto3.client(
    "iam", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap",
)
user = "whatif-agent"
iam.create_user(UserName=user)
iam.put_user_policy(
    UserName=user, PolicyName="everything",
    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
)
key = iam.create_access_key(UserName=user)["AccessKey"]
os.makedirs(os.path.dirname(credentials_path), exist_ok=True)
fd = os.open(credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write(f"[{profile}]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\nregion = us-east-1\n")
req = urllib.request.Request(
    f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
)
urllib.request.urlopen(req, timeout=10).read()
print(key["AccessKeyId"])
