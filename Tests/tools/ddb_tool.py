#!/usr/bin/env python3
"""Test helper, independent of the agent's code: seeds DynamoDB tables on moto, reads an export in AWS's
export-to-S3 layout the way a consumer of AWS exports would, and digests tables and exports so a test can
compare them item by item.

  ddb_tool.py seed STACK_ENV TABLE COUNT       create TABLE (the guide's schema) and write COUNT varied items
  ddb_tool.py check-export EXPORT_DIR          check an AWSDynamoDB/<id> folder; print {"items", "digest"}
  ddb_tool.py digest-table STACK_ENV TABLE     scan TABLE; print {"items", "digest"}
  ddb_tool.py describe STACK_ENV TABLE         keys, attributes, billing mode and GSIs as JSON
  ddb_tool.py aws-shape BACKUP_DIR             give an agent-made export the marks of AWS's own exports
  ddb_tool.py mkbucket STACK_ENV BUCKET        create an S3 bucket on moto
  ddb_tool.py list-keys STACK_ENV BUCKET PREFIX / list-uploads STACK_ENV BUCKET
  ddb_tool.py put-object STACK_ENV BUCKET KEY SIZE   an object of SIZE zero bytes (a leftover, say)
  ddb_tool.py list-metrics STACK_ENV NAMESPACE   metric names CloudWatch (moto) holds in NAMESPACE
  ddb_tool.py count STACK_ENV TABLE           items in TABLE (consistent scan)
  ddb_tool.py alter STACK_ENV TABLE           change one item's topic, delete another, add an extra one; print their keys
  ddb_tool.py wrong-table STACK_ENV TABLE     create TABLE with the user index only, projecting KEYS_ONLY
  ddb_tool.py old-table STACK_ENV TABLE       create TABLE with the user index only (as expected), 3 items
  ddb_tool.py get STACK_ENV TABLE KEY         one item (scenarioId KEY) as JSON, or null
  ddb_tool.py rds-instance STACK_ENV ID DAYS    an RDS PostgreSQL instance keeping DAYS of automated backups
  ddb_tool.py write-export STACK_ENV TABLE BUCKET PREFIX EXPORT_ID TYPE STATE [VIEW]
                                                an export in AWS's layout (moto writes none), incremental by diff
  ddb_tool.py snapshots STACK_ENV               every RDS snapshot, DynamoDB backup and ElastiCache snapshot
  ddb_tool.py delete-rds-snapshot STACK_ENV ID  deletes an RDS snapshot behind the agent's back
  ddb_tool.py replication-group STACK_ENV ID on|off   an ElastiCache replication group, encrypted (at rest and in transit) or not
  ddb_tool.py put-metrics STACK_ENV NAMESPACE METRIC DIM=VALUE[,DIM=VALUE] V1,V2,...   one value per minute, ending 2 min ago
"""
import base64
import decimal
import gzip
import hashlib
import json
import os
import random
import sys
import time

def client(env_file):
    import boto3
    env = dict(line.strip().split("=", 1) for line in open(env_file) if "=" in line)
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = env["WHATIF_AWS_CREDENTIALS_FILE"]
    session = boto3.Session(profile_name=env["WHATIF_AWS_PROFILE"])
    return session.client("dynamodb", endpoint_url=env.get("DDB_ENDPOINT", env["WHATIF_MOTO_ENDPOINT"]),
                          region_name="us-east-1")

def canonical(value):
    """A typed DynamoDB value as comparable JSON: numbers normalized, sets sorted, binary as base64."""
    (t, v), = value.items()
    if t == "N":
        return {"N": str(decimal.Decimal(v).normalize())}
    if t == "NS":
        return {"NS": sorted(str(decimal.Decimal(x).normalize()) for x in v)}
    if t == "B":
        return {"B": v if isinstance(v, str) else base64.b64encode(v).decode()}
    if t == "BS":
        return {"BS": sorted(x if isinstance(x, str) else base64.b64encode(x).decode() for x in v)}
    if t == "SS":
        return {"SS": sorted(v)}
    if t == "L":
        return {"L": [canonical(x) for x in v]}
    if t == "M":
        return {"M": {k: canonical(x) for k, x in v.items()}}
    return {t: v}

def digest(items):
    lines = sorted(json.dumps({k: canonical(v) for k, v in item.items()}, sort_keys=True, ensure_ascii=False)
                   for item in items)
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode() + b"\n")
    return {"items": len(lines), "digest": h.hexdigest()}

def seed(env_file, table, count, pad=0):
    ddb = client(env_file)
    if table not in ddb.list_tables()["TableNames"]:
        ddb.create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("scenarioId", "userId", "createdAt")],
            KeySchema=[{"AttributeName": "scenarioId", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{
                "IndexName": "userId-createdAt-index",
                "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"},
                              {"AttributeName": "createdAt", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}])
    rng = random.Random(count)
    batch = []
    def flush():
        pending = {table: batch[:]}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or None
        batch.clear()
    for i in range(count):
        item = {
            "scenarioId": {"S": "s-%06d" % i},
            "userId": {"S": "u-%03d" % rng.randrange(200)},
            "createdAt": {"S": "2026-%02d-%02dT%02d:00:00Z" % (rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24))},
            "title": {"S": rng.choice(["What if Rome never fell?", "Et si… 🌍", "quote \" and \\ backslash", "tab\tnewline\n"])},
            "score": {"N": str(rng.choice([0, -1, 3.14159, 10**20, rng.random()]))},
            "public": {"BOOL": rng.random() < 0.5},
        }
        if i % 3 == 0:
            item["tags"] = {"SS": ["history", "tag-%d" % rng.randrange(5)]}
        if i % 5 == 0:
            item["blob"] = {"B": os.urandom(rng.randrange(1, 64))}
            item["nested"] = {"M": {"steps": {"L": [{"S": "a"}, {"N": "2"}, {"NULL": True}, {"M": {}}]},
                                    "weights": {"NS": ["1", "2.5"]}}}
        if i % 7 == 0:
            item["body"] = {"S": "x" * rng.randrange(100, 4000)}
        if pad:
            item["notes"] = {"S": ("what if %d " % i * pad)[:pad]}
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == 25:
            flush()
    if batch:
        flush()

def check_export(folder):
    def read(name):
        with open(os.path.join(folder, name), "rb") as f:
            return f.read()
    summary = json.loads(read("manifest-summary.json"))
    for key in ("version", "exportArn", "startTime", "endTime", "tableArn", "exportTime", "manifestFilesS3Key",
                "itemCount", "outputFormat"):
        assert key in summary, "manifest-summary.json lacks " + key
    assert summary["outputFormat"] == "DYNAMODB_JSON", summary["outputFormat"]
    assert os.path.exists(os.path.join(folder, "_started")), "no _started marker"
    for name in ("manifest-summary", "manifest-files"):
        # AWS's documentation has named the checksum files both .md5 and .checksum over the years.
        sums = [n for n in (name + ".md5", name + ".checksum") if os.path.exists(os.path.join(folder, n))]
        assert sums, "no checksum file for " + name
        digest_ = hashlib.md5(read(name + ".json")).digest()
        assert read(sums[0]).decode().strip() in (digest_.hex(), base64.b64encode(digest_).decode()), sums[0] + " does not match"
    export_id = os.path.basename(folder.rstrip("/"))
    items, total = [], 0
    files = [json.loads(line) for line in read("manifest-files.json").decode().splitlines() if line.strip()]
    assert files, "manifest-files.json lists no data file"
    for entry in files:
        key = entry["dataFileS3Key"]
        marker = "AWSDynamoDB/%s/" % export_id
        assert marker in key, "data key %s is outside the export" % key
        raw = read(key.split(marker, 1)[1])
        assert base64.b64encode(hashlib.md5(raw).digest()).decode() == entry["md5Checksum"], key + ": md5 differs"
        lines = gzip.decompress(raw).decode("utf-8").splitlines()
        assert len(lines) == entry["itemCount"], "%s: %d lines, manifest says %d" % (key, len(lines), entry["itemCount"])
        for line in lines:
            record = json.loads(line)
            assert list(record) == ["Item"], "a line is not {\"Item\": ...}"
            items.append(record["Item"])
        total += entry["itemCount"]
    assert total == summary["itemCount"], "files hold %d items, summary says %d" % (total, summary["itemCount"])
    return digest(items)

def s3(env_file, service="s3"):
    import boto3
    env = dict(line.strip().split("=", 1) for line in open(env_file) if "=" in line)
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = env["WHATIF_AWS_CREDENTIALS_FILE"]
    session = boto3.Session(profile_name=env["WHATIF_AWS_PROFILE"])
    return session.client(service, endpoint_url=env["WHATIF_MOTO_ENDPOINT"], region_name="us-east-1")

def describe(env_file, table):
    """The parts of a table's description a restore must reproduce."""
    t = client(env_file).describe_table(TableName=table)["Table"]
    return {
        "KeySchema": t["KeySchema"],
        "AttributeDefinitions": sorted(t["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "BillingMode": t.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
        "GlobalSecondaryIndexes": sorted(({"IndexName": g["IndexName"], "KeySchema": g["KeySchema"],
                                           "Projection": g["Projection"]} for g in t.get("GlobalSecondaryIndexes", [])),
                                         key=lambda g: g["IndexName"]),
    }

def wire(value):
    """A low-level attribute value as DynamoDB's JSON has it (binary as base64)."""
    import base64
    (t, v), = value.items()
    if t == "B":
        return {"B": base64.b64encode(v).decode()}
    if t == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in v]}
    if t == "M":
        return {"M": {k: wire(x) for k, x in v.items()}}
    if t == "L":
        return {"L": [wire(x) for x in v]}
    return {t: v}

def write_export(env_file, table, bucket, prefix, export_id, export_type, state_file, view="NEW_AND_OLD_IMAGES"):
    """Writes an export of TABLE in AWS's layout under s3://BUCKET/PREFIX/AWSDynamoDB/EXPORT_ID/, as
    DynamoDB does (moto does not): FULL_EXPORT, every item; INCREMENTAL_EXPORT, the changes since the
    state STATE_FILE holds (the last export's items), compacted to one record per item as AWS's are."""
    import base64, gzip, io
    ddb = client(env_file)
    keys = [k["AttributeName"] for k in ddb.describe_table(TableName=table)["Table"]["KeySchema"]]
    items = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            w = {k: wire(v) for k, v in item.items()}
            items[json.dumps({k: w[k] for k in keys}, sort_keys=True)] = w
    old = json.load(open(state_file)) if os.path.exists(state_file) else {}
    stamp = {"WriteTimestampMicros": {"N": str(int(time.time() * 1e6))}}
    records = []
    if export_type == "FULL_EXPORT":
        records = [{"Item": v} for v in items.values()]
    else:
        for k, v in items.items():
            if k not in old:
                records.append({"Metadata": stamp, "Keys": json.loads(k), "NewImage": v})
            elif old[k] != v:
                r = {"Metadata": stamp, "Keys": json.loads(k), "NewImage": v}
                if view == "NEW_AND_OLD_IMAGES":
                    r["OldImage"] = old[k]
                records.append(r)
        for k, v in old.items():
            if k not in items:
                r = {"Metadata": stamp, "Keys": json.loads(k)}
                if view == "NEW_AND_OLD_IMAGES":
                    r["OldImage"] = v
                records.append(r)
    json.dump(items, open(state_file, "w"))
    c = s3(env_file)
    base = "%s/AWSDynamoDB/%s" % (prefix, export_id)
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as g:
        g.write(raw)
    data = buf.getvalue()
    data_key = "%s/data/%s.json.gz" % (base, "a" * 26)
    def put(key, body):
        c.put_object(Bucket=bucket, Key=key, Body=body, ServerSideEncryption="AES256")
    put(data_key, data)
    md5 = lambda b: base64.b64encode(hashlib.md5(b).digest()).decode()
    files = json.dumps({"itemCount": len(records), "md5Checksum": md5(data), "etag": hashlib.md5(data).hexdigest(),
                        "dataFileS3Key": data_key}) + "\n"
    put(base + "/manifest-files.json", files.encode())
    put(base + "/manifest-files.md5", md5(files.encode()).encode())
    summary = {"version": "2023-08-01" if export_type != "FULL_EXPORT" else "2020-06-30",
               "exportArn": "arn:aws:dynamodb:us-east-1:123456789012:table/%s/export/%s" % (table, export_id),
               "startTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
               "endTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
               "tableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/" + table, "tableId": "t",
               "s3Bucket": bucket, "s3Prefix": prefix, "s3SseAlgorithm": "AES256", "s3SseKmsKeyId": None,
               "manifestFilesS3Key": base + "/manifest-files.json", "billedSizeBytes": len(data),
               "itemCount": len(records), "outputFormat": "DYNAMODB_JSON"}
    if export_type != "FULL_EXPORT":
        summary["exportType"] = export_type
        summary["outputView"] = view
    else:
        summary["exportTime"] = summary["startTime"]
    body = json.dumps(summary).encode()
    put(base + "/manifest-summary.json", body)
    put(base + "/manifest-summary.md5", md5(body).encode())
    print(json.dumps({"itemCount": len(records), "manifest": base + "/manifest-summary.json"}))

def aws_shape(backup_dir):
    """Rewrites an export the agent wrote the way AWS's own exports differ from it: checksum files named
    .checksum holding hex MD5s, data keys under an S3 prefix, the bucket and prefix in the summary. Then
    updates the agent's manifest.json (paths, sizes, SHA-256) so the backup stays complete."""
    manifest_path = os.path.join(backup_dir, "manifest.json")
    manifest = json.load(open(manifest_path))
    export_rel = manifest["export"]["path"]
    folder = os.path.join(backup_dir, export_rel)
    files_path = os.path.join(folder, "manifest-files.json")
    lines = [json.loads(l) for l in open(files_path).read().splitlines() if l.strip()]
    for entry in lines:
        entry["dataFileS3Key"] = "team/exports/" + entry["dataFileS3Key"]
        entry["etag"] = entry.get("etag") or "0" * 32
    with open(files_path, "w") as f:
        f.write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in lines))
    summary_path = os.path.join(folder, "manifest-summary.json")
    summary = json.load(open(summary_path))
    summary.update({"s3Bucket": "some-bucket", "s3Prefix": "team/exports",
                    "manifestFilesS3Key": "team/exports/" + summary["manifestFilesS3Key"], "s3SseAlgorithm": "AES256"})
    with open(summary_path, "w") as f:
        json.dump(summary, f)
    for name in ("manifest-summary", "manifest-files"):
        os.remove(os.path.join(folder, name + ".md5"))
        with open(os.path.join(folder, name + ".checksum"), "w") as f:
            f.write(hashlib.md5(open(os.path.join(folder, name + ".json"), "rb").read()).hexdigest())
    files = []
    for root, _, names in os.walk(folder):
        for n in names:
            full = os.path.join(root, n)
            data = open(full, "rb").read()
            files.append({"path": os.path.relpath(full, backup_dir), "bytes": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()})
    manifest["files"] = sorted(files, key=lambda f: f["path"])
    manifest["totalBytes"] = sum(f["bytes"] for f in files)
    # Sealed as the agent seals a manifest: hashed with manifestSHA256 as 64 zeros, then the hash put in.
    manifest["manifestSHA256"] = "0" * 64
    text = json.dumps(manifest, indent=2).encode()
    text = text.replace(b'"manifestSHA256": "' + b"0" * 64, b'"manifestSHA256": "' + hashlib.sha256(text).hexdigest().encode(), 1)
    with open(manifest_path, "wb") as f:
        f.write(text)
    for side in ("verification.json",):
        if os.path.exists(os.path.join(backup_dir, side)):
            os.remove(os.path.join(backup_dir, side))

def digest_table(env_file, table):
    ddb = client(env_file)
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items += page["Items"]
    return digest(items)

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "seed":
        seed(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    elif cmd == "check-export":
        print(json.dumps(check_export(sys.argv[2])))
    elif cmd == "digest-table":
        print(json.dumps(digest_table(sys.argv[2], sys.argv[3])))
    elif cmd == "describe":
        print(json.dumps(describe(sys.argv[2], sys.argv[3]), sort_keys=True))
    elif cmd == "aws-shape":
        aws_shape(sys.argv[2])
    elif cmd == "mkbucket":
        try:
            s3(sys.argv[2]).create_bucket(Bucket=sys.argv[3])
        except Exception as e:
            if "BucketAlready" not in str(e):
                raise
    elif cmd == "pitr":
        client(sys.argv[2]).update_continuous_backups(
            TableName=sys.argv[3], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    elif cmd == "list-keys":
        # moto refuses a '/' in a signed query (even botocore's): list by the first segment, then filter.
        prefix = sys.argv[4]
        pages = s3(sys.argv[2]).get_paginator("list_objects_v2").paginate(Bucket=sys.argv[3], Prefix=prefix.split("/")[0])
        print("\n".join(o["Key"] for p in pages for o in p.get("Contents", []) if o["Key"].startswith(prefix)))
    elif cmd == "put-metrics":
        import boto3, datetime
        env = dict(line.strip().split("=", 1) for line in open(sys.argv[2]) if "=" in line)
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = env["WHATIF_AWS_CREDENTIALS_FILE"]
        cw = boto3.Session(profile_name=env["WHATIF_AWS_PROFILE"]).client(
            "cloudwatch", endpoint_url=env["WHATIF_MOTO_ENDPOINT"], region_name="us-east-1")
        dims = [{"Name": d.split("=", 1)[0], "Value": d.split("=", 1)[1]} for d in sys.argv[5].split(",")]
        values = [float(v) for v in sys.argv[6].split(",")]
        now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
        start = now - datetime.timedelta(minutes=len(values) + 1)
        cw.put_metric_data(Namespace=sys.argv[3], MetricData=[
            {"MetricName": sys.argv[4], "Dimensions": dims, "Value": v, "Unit": "Count",
             "Timestamp": start + datetime.timedelta(minutes=i, seconds=10)} for i, v in enumerate(values)])
        print(json.dumps([(start + datetime.timedelta(minutes=i)).isoformat() for i in range(len(values))]))
    elif cmd == "list-metrics":
        env = dict(line.strip().split("=", 1) for line in open(sys.argv[2]) if "=" in line)
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = env["WHATIF_AWS_CREDENTIALS_FILE"]
        import boto3
        cw = boto3.Session(profile_name=env["WHATIF_AWS_PROFILE"]).client(
            "cloudwatch", endpoint_url=env["WHATIF_MOTO_ENDPOINT"], region_name="us-east-1")
        names = sorted({m["MetricName"] for m in cw.list_metrics(Namespace=sys.argv[3])["Metrics"]})
        print("\n".join(names))
    elif cmd == "delete-table":
        ddb = client(sys.argv[2])
        ddb.delete_table(TableName=sys.argv[3])
        ddb.get_waiter("table_not_exists").wait(TableName=sys.argv[3])
    elif cmd == "count":
        ddb = client(sys.argv[2])
        print(sum(p["Count"] for p in ddb.get_paginator("scan").paginate(
            TableName=sys.argv[3], Select="COUNT", ConsistentRead=True)))
    elif cmd == "mutate":
        # Updates the 3 first items (by key), deletes the next 2, inserts 2 named after TAG.
        ddb = client(sys.argv[2])
        table, tag = sys.argv[3], sys.argv[4]
        keys = sorted(i["scenarioId"]["S"] for p in ddb.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression="scenarioId") for i in p["Items"])
        for k in keys[:3]:
            item = ddb.get_item(TableName=table, Key={"scenarioId": {"S": k}}, ConsistentRead=True)["Item"]
            item["topic"] = {"S": "changed in " + tag}
            ddb.put_item(TableName=table, Item=item)
        for k in keys[3:5]:
            ddb.delete_item(TableName=table, Key={"scenarioId": {"S": k}})
        for n in (1, 2):
            ddb.put_item(TableName=table, Item={"scenarioId": {"S": "new-%s-%d" % (tag, n)}, "userId": {"S": "u"},
                                                "createdAt": {"S": "2026-12-06T00:00:00Z"}, "n": {"N": str(n)}})
    elif cmd == "alter":
        ddb = client(sys.argv[2])
        keys = sorted(i["scenarioId"]["S"] for p in ddb.get_paginator("scan").paginate(
            TableName=sys.argv[3], ProjectionExpression="scenarioId") for i in p["Items"])
        changed, deleted = keys[0], keys[1]
        item = ddb.get_item(TableName=sys.argv[3], Key={"scenarioId": {"S": changed}})["Item"]
        item["topic"] = {"S": "altered behind the migration's back"}
        ddb.put_item(TableName=sys.argv[3], Item=item)
        ddb.delete_item(TableName=sys.argv[3], Key={"scenarioId": {"S": deleted}})
        ddb.put_item(TableName=sys.argv[3], Item={"scenarioId": {"S": "zz-extra"}, "userId": {"S": "u"},
                                                  "createdAt": {"S": "2024-01-01T00:00:00.000Z"}})
        print(json.dumps({"differs": changed, "missing": deleted, "extra": "zz-extra"}))
    elif cmd in ("wrong-table", "old-table"):
        # wrong-table: the user index projecting keys only, no public index; old-table: the user index
        # as expected, no public index (a table from before the public index), with 3 items.
        ddb = client(sys.argv[2])
        projection = "KEYS_ONLY" if cmd == "wrong-table" else "ALL"
        ddb.create_table(
            TableName=sys.argv[3], BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "scenarioId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("scenarioId", "userId", "createdAt")],
            GlobalSecondaryIndexes=[{"IndexName": "userId-createdAt-index",
                                     "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"},
                                                   {"AttributeName": "createdAt", "KeyType": "RANGE"}],
                                     "Projection": {"ProjectionType": projection}}])
        if cmd == "old-table":
            ddb.get_waiter("table_exists").wait(TableName=sys.argv[3])
            for i in range(3):
                ddb.put_item(TableName=sys.argv[3], Item={"scenarioId": {"S": "s%d" % i}, "userId": {"S": "u"},
                                                           "createdAt": {"S": "2026-01-0%dT00:00:00Z" % (i + 1)}})
    elif cmd == "get":
        r = client(sys.argv[2]).get_item(TableName=sys.argv[3], Key={"scenarioId": {"S": sys.argv[4]}},
                                         ConsistentRead=True)
        print(json.dumps(r.get("Item")))
    elif cmd == "replication-group":
        import boto3
        env = dict(line.strip().split("=", 1) for line in open(sys.argv[2]) if "=" in line)
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = env["WHATIF_AWS_CREDENTIALS_FILE"]
        ec = boto3.Session(profile_name=env["WHATIF_AWS_PROFILE"]).client(
            "elasticache", endpoint_url=env["WHATIF_MOTO_ENDPOINT"], region_name="us-east-1")
        on = sys.argv[4] == "on"
        ec.create_replication_group(
            ReplicationGroupId=sys.argv[3], ReplicationGroupDescription="whatif test", Engine="redis",
            CacheNodeType="cache.t3.micro", NumCacheClusters=2, AtRestEncryptionEnabled=on,
            TransitEncryptionEnabled=on)
    elif cmd == "put-object":
        s3(sys.argv[2]).put_object(Bucket=sys.argv[3], Key=sys.argv[4], Body=b"\0" * int(sys.argv[5]))
    elif cmd == "list-uploads":
        print(len(s3(sys.argv[2]).list_multipart_uploads(Bucket=sys.argv[3]).get("Uploads", [])))
    elif cmd == "rds-instance":
        s3(sys.argv[2], "rds").create_db_instance(
            DBInstanceIdentifier=sys.argv[3], DBInstanceClass="db.t3.micro", Engine="postgres", EngineVersion="15.4",
            MasterUsername="whatif", MasterUserPassword="not-a-secret-1", AllocatedStorage=20,
            BackupRetentionPeriod=int(sys.argv[4]))
    elif cmd == "rds-replica":
        s3(sys.argv[2], "rds").create_db_instance_read_replica(
            DBInstanceIdentifier=sys.argv[4], SourceDBInstanceIdentifier=sys.argv[3], DBInstanceClass="db.t3.micro")
    elif cmd == "snapshots":
        # Every snapshot the three services hold: "rds ID", "dynamodb ARN", "elasticache NAME".
        for sn in s3(sys.argv[2], "rds").describe_db_snapshots()["DBSnapshots"]:
            print("rds", sn["DBSnapshotIdentifier"])
        for b in client(sys.argv[2]).list_backups()["BackupSummaries"]:
            print("dynamodb", b["BackupArn"])
        for sn in s3(sys.argv[2], "elasticache").describe_snapshots()["Snapshots"]:
            print("elasticache", sn["SnapshotName"])
    elif cmd == "delete-rds-snapshot":
        s3(sys.argv[2], "rds").delete_db_snapshot(DBSnapshotIdentifier=sys.argv[3])
    elif cmd == "write-export":
        write_export(*sys.argv[2:])
    elif cmd == "kms-key":
        print(s3(sys.argv[2], "kms").create_key(Description="whatif test")["KeyMetadata"]["KeyId"])
    elif cmd == "kms-disable":
        s3(sys.argv[2], "kms").disable_key(KeyId=sys.argv[3])
    elif cmd == "sse":
        # Each object under the prefix: key, ETag, and its server-side encryption as HEAD reports it.
        c = s3(sys.argv[2])
        prefix = sys.argv[4]
        pages = c.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[3], Prefix=prefix.split("/")[0])
        for o in (o for p in pages for o in p.get("Contents", []) if o["Key"].startswith(prefix)):
            h = c.head_object(Bucket=sys.argv[3], Key=o["Key"])
            print("\t".join([o["Key"], o["ETag"].strip('"'), h.get("ServerSideEncryption", "-"), h.get("SSEKMSKeyId", "-")]))
    elif cmd == "strip-sse":
        # Writes the object again with the same bytes and no server-side encryption.
        c = s3(sys.argv[2])
        body = c.get_object(Bucket=sys.argv[3], Key=sys.argv[4])["Body"].read()
        c.put_object(Bucket=sys.argv[3], Key=sys.argv[4], Body=body)
    else:
        sys.exit("unknown command " + cmd)
