#!/usr/bin/env python3
"""A DynamoDB endpoint that replays canned answers, so a benchmark measures the client, not moto.

Serves one table of N generated items (the guide's scenario shape, ~700 bytes each): DescribeTable,
DescribeContinuousBackups (point-in-time recovery off), ListTables, and Scan with Segment/TotalSegments,
Limit and ExclusiveStartKey, in pages of at most 1 MB as DynamoDB does. Pages are built once and cached,
so every run after a warm-up reads the same bytes at memory speed. Signatures are not checked.

  ddb_replay.py PORT TABLE ITEMS
"""
import json
import random
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, table, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = random.Random(7)
topics = ["the printing press was never invented", "Rome never fell", "cats could talk", "the moon had rings"]
items = []
for i in range(count):
    item = {
        "scenarioId": {"S": "s-%07d" % i},
        "userId": {"S": "u-%05d" % rng.randrange(20000)},
        "createdAt": {"S": "2026-%02d-%02dT%02d:%02d:00Z" % (rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60))},
        "title": {"S": "What if " + rng.choice(topics) + "?"},
        "content": {"S": " ".join(rng.choice(topics) for _ in range(12))},
        "likes": {"N": str(rng.randrange(10000))},
        "public": {"BOOL": rng.random() < 0.5},
        "tags": {"SS": ["history", "tag-%d" % rng.randrange(50)]},
        "meta": {"M": {"model": {"S": "gpt"}, "tokens": {"N": str(rng.randrange(5000))}}},
    }
    items.append((i, json.dumps(item, separators=(",", ":")).encode()))
describe = json.dumps({"Table": {
    "TableName": table, "TableStatus": "ACTIVE", "ItemCount": count, "TableSizeBytes": sum(len(b) for _, b in items),
    "TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/" + table, "TableId": "00000000-0000-0000-0000-000000000000",
    "KeySchema": [{"AttributeName": "scenarioId", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in ("scenarioId", "userId", "createdAt")],
    "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    "GlobalSecondaryIndexes": [{"IndexName": "userId-createdAt-index", "IndexStatus": "ACTIVE",
        "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "createdAt", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}]}}).encode()
cache, lock = {}, threading.Lock()

def page(segment, total, start, limit):
    key = (segment, total, start, limit)
    with lock:
        if key in cache:
            return cache[key]
    parts, size, last = [], 0, None
    i = start
    while i < count:
        if i % total == segment:
            body = items[i][1]
            if parts and (size + len(body) > 1 << 20 or (limit and len(parts) >= limit)):
                break
            parts.append(body)
            size += len(body)
            last = i
        i += 1
    answer = b'{"Items":[' + b",".join(parts) + b'],"Count":%d,"ScannedCount":%d' % (len(parts), len(parts))
    if i < count and last is not None:
        answer += b',"LastEvaluatedKey":{"scenarioId":{"S":"s-%07d"}}' % last
    answer += b"}"
    with lock:
        cache[key] = answer
    return answer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        op = (self.headers.get("X-Amz-Target") or "").split(".")[-1]
        status, answer = 200, b"{}"
        if op == "Scan":
            req = json.loads(body)
            start = 0
            if "ExclusiveStartKey" in req:
                start = int(req["ExclusiveStartKey"]["scenarioId"]["S"][2:]) + 1
            if req.get("Select") == "COUNT":
                answer = json.dumps({"Count": count, "ScannedCount": count}).encode()
            else:
                answer = page(req.get("Segment", 0), req.get("TotalSegments", 1), start, req.get("Limit"))
        elif op == "DescribeTable":
            answer = describe
        elif op == "DescribeContinuousBackups":
            answer = b'{"ContinuousBackupsDescription":{"ContinuousBackupsStatus":"ENABLED","PointInTimeRecoveryDescription":{"PointInTimeRecoveryStatus":"DISABLED"}}}'
        elif op == "ListTables":
            answer = json.dumps({"TableNames": [table]}).encode()
        else:
            status = 400
            answer = b'{"__type":"com.amazonaws.dynamodb.v20120810#UnknownOperationException","message":"replay: ' + op.encode() + b'"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("x-amzn-RequestId", "replay")
        self.end_headers()
        self.wfile.write(answer)

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
