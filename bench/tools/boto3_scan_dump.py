#!/usr/bin/env python3
"""The peer: what dynamodump does for a backup, single-threaded: boto3's low-level Scan, page after page,
each page's answer written as a JSON file. (dynamodump indents its JSON; this writes it compact, which
only makes the peer faster.) Prints items and seconds.

  boto3_scan_dump.py ENDPOINT TABLE OUTDIR
"""
import json
import os
import sys
import time

import boto3
from botocore.config import Config

endpoint, table, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                   aws_secret_access_key="bench", config=Config(retries={"max_attempts": 10}))
start = time.monotonic()
items, n, kwargs = 0, 0, {"TableName": table}
while True:
    page = ddb.scan(**kwargs)
    with open(os.path.join(out, "%04d.json" % n), "w") as f:
        json.dump(page, f)
    items += page["Count"]
    n += 1
    if "LastEvaluatedKey" not in page:
        break
    kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
print("items=%d seconds=%.3f" % (items, time.monotonic() - start))
