#!/usr/bin/env python3
"""The peer for bench/migration.sh: the migration guide's migrate-to-aws.js as a boto3 script.

    boto3_migrate.py FILE.bson TABLE ENDPOINT WORKERS

Reads mongodump output with pymongo's bson, transforms each document as the guide says (drop _id, dates to
ISO 8601, Decimal128/float to Decimal, a UUIDv5 for a missing scenarioId) and writes with WORKERS threads,
each with its own Table.batch_writer() (25-item BatchWriteItem, UnprocessedItems resent). Prints
"N items in S s, R items/s". Credentials from the environment (moto without signature checks takes any).
"""
import datetime, decimal, hashlib, sys, threading, time, uuid

import boto3, bson
from bson import Decimal128, ObjectId
from bson.codec_options import CodecOptions

OPTS = CodecOptions(tz_aware=True)
NAMESPACE = uuid.UUID(bytes=bytes([0x3c, 0x6e, 0x1f, 0x0d, 0x58, 0x2b, 0x4a, 0x8e, 0x9b, 0x41, 0x7a, 0x52, 0xd3, 0x0e, 0x96, 0x1c]))


def value(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return decimal.Decimal(v)
    if isinstance(v, float):
        return decimal.Decimal(repr(v))
    if isinstance(v, Decimal128):
        return v.to_decimal()
    if isinstance(v, ObjectId):
        return str(v)
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (v.microsecond // 1000)
    if isinstance(v, bytes):
        return v
    if isinstance(v, dict):
        return {k: value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [value(x) for x in v]
    raise ValueError(type(v).__name__)


def transform(doc):
    item = {k: value(v) for k, v in doc.items() if k != "_id"}
    if "scenarioId" not in item:
        item["scenarioId"] = str(uuid.uuid5(NAMESPACE, str(doc["_id"])))
    return item


def documents(path):
    with open(path, "rb") as f:
        data = f.read()
    return bson.decode_all(data, codec_options=OPTS)


def main():
    path, table_name, endpoint, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    start = time.monotonic()
    docs = documents(path)
    chunks = [docs[i::workers] for i in range(workers)]

    def run(chunk):
        # A session per thread: boto3 sessions and resources are not thread-safe.
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
        table = session.resource("dynamodb", endpoint_url=endpoint).Table(table_name)
        with table.batch_writer() as w:
            for d in chunk:
                w.put_item(Item=transform(d))

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - start
    print("boto3 batch_writer: %d items in %.2f s, %d items/s" % (len(docs), secs, len(docs) / secs))


if __name__ == "__main__":
    main()
