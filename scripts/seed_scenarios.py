#!/usr/bin/env python3
"""Development only: creates the scenarios table on the local stack's moto_server (if missing) with the
migration guide's key schema, and writes sample scenarios. Usage: seed_scenarios.py STACK_ENV_FILE [COUNT]"""
import datetime
import os
import random
import sys
import uuid

import boto3

env = dict(line.strip().split("=", 1) for line in open(sys.argv[1]) if "=" in line)
count = int(sys.argv[2]) if len(sys.argv) > 2 else 50
table = "what-if-generator-scenarios-development"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = env["WHATIF_AWS_CREDENTIALS_FILE"]
session = boto3.Session(profile_name=env["WHATIF_AWS_PROFILE"])
ddb = session.client("dynamodb", endpoint_url=env["WHATIF_MOTO_ENDPOINT"], region_name="us-east-1")

def exists():
    # DescribeTable rather than ListTables: ListTables answers 100 names a page, and tests leave more.
    try:
        ddb.describe_table(TableName=table)
        return True
    except ddb.exceptions.ResourceNotFoundException:
        return False


if not exists():
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "scenarioId", "AttributeType": "S"},
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "createdAt", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "scenarioId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "userId-createdAt-index",
            "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "createdAt", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )
    ddb.get_waiter("table_exists").wait(TableName=table)

rng = random.Random(42)
topics = ["the printing press was never invented", "Rome never fell", "cats could talk", "the moon had rings",
          "electricity was discovered in 1500", "the internet arrived in 1950"]
start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
items = []
for i in range(count):
    created = start + datetime.timedelta(minutes=rng.randrange(0, 500000))
    items.append({"PutRequest": {"Item": {
        "scenarioId": {"S": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
        "userId": {"S": f"user-{rng.randrange(1, 11):03d}"},
        "title": {"S": f"What if {rng.choice(topics)}?"},
        "content": {"S": "A generated scenario. " * rng.randrange(1, 20)},
        "isPublic": {"BOOL": rng.random() < 0.3},
        "tags": {"L": [{"S": t} for t in rng.sample(["history", "science", "fun", "dark", "tech"], 2)]},
        "createdAt": {"S": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z"},
        "updatedAt": {"S": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z"},
    }}})
for i in range(0, len(items), 25):
    pending = {table: items[i:i + 25]}
    while pending:
        pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None
print(f"{table}: {ddb.describe_table(TableName=table)['Table']['ItemCount']} items")
