#!/usr/bin/env python3
"""The migration guide's transform written with pymongo's bson, independently of the agent's Swift code.

    bson_transform.py FILE.bson [--out FILE.ndjson]      one DynamoDB-JSON item per line
    bson_transform.py --generate N FILE.bson [--seed S] [--bad]   write N scenario documents with bson.encode;
        --bad makes some unmigratable: no userId (k % 1000 == 999), a regex field (k % 1500 == 1499), and
        scenarioId "scenario_1" again (k % 2000 == 1001)

Used two ways: the tests compare the agent's transform with this one item by item, and bench/migration.sh
times it as the peer (pymongo's C extension decodes; Python builds the DynamoDB JSON, as a script
following the guide would).
"""
import base64, datetime, decimal, hashlib, json, random, sys, uuid

import bson
from bson import ObjectId, Decimal128, Int64, Binary
from bson.codec_options import CodecOptions, DatetimeConversion

NAMESPACE = bytes([0x3c, 0x6e, 0x1f, 0x0d, 0x58, 0x2b, 0x4a, 0x8e, 0x9b, 0x41, 0x7a, 0x52, 0xd3, 0x0e, 0x96, 0x1c])
SHARDS = 4
OPTS = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)


def number(d: decimal.Decimal) -> str:
    if d.is_zero():
        return "0"
    # No normalize(): it rounds to the context's 28 digits.
    sign, digits, exp = d.as_tuple()
    full = "".join(map(str, digits)).lstrip("0")
    s = full.rstrip("0")
    exp += len(full) - len(s)
    n = len(s)
    out = "-" if sign else ""
    if exp >= 0 and n + exp <= 40:
        out += s + "0" * exp
    elif exp < 0 and -exp < n:
        out += s[: n + exp] + "." + s[n + exp :]
    elif exp < 0 and n - exp <= 40:
        out += "0." + "0" * (-exp - n) + s
    else:
        adj = exp + n - 1
        out += s[0] + ("." + s[1:] if n > 1 else "") + "E" + ("-" if adj < 0 else "+") + str(abs(adj))
    return out


def iso(ms: int) -> str:
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def value(v):
    if isinstance(v, bool):
        return {"BOOL": v}
    if v is None:
        return {"NULL": True}
    if isinstance(v, (int, Int64)):
        return {"N": str(int(v))}
    if isinstance(v, float):
        return {"N": number(decimal.Decimal(repr(v)))}
    if isinstance(v, Decimal128):
        return {"N": number(v.to_decimal())}
    if isinstance(v, str):
        return {"S": v}
    if isinstance(v, ObjectId):
        return {"S": str(v)}
    if isinstance(v, bson.datetime_ms.DatetimeMS):
        return {"S": iso(int(v))}
    if isinstance(v, (bytes, Binary)):
        return {"B": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, uuid.UUID):
        return {"B": base64.b64encode(v.bytes).decode()}
    if isinstance(v, dict):
        return {"M": {k: value(x) for k, x in v.items()}}
    if isinstance(v, list):
        return {"L": [value(x) for x in v]}
    raise ValueError("unsupported type %s" % type(v).__name__)


def shard(key: str) -> str:
    h = 2166136261
    for b in key.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return "public#%d" % (h % SHARDS)


def transform(raw: bytes):
    doc = bson.decode(raw, codec_options=OPTS)
    item = {}
    for k, v in doc.items():
        if k == "_id":
            continue
        item[k] = value(v)
    if "scenarioId" not in doc:
        # UUIDv5 of the _id element's BSON type byte and value bytes (the agent's rule).
        elem = bson.encode({"_id": doc["_id"]})[4:-1]
        name = elem[:1] + elem[5:]  # type byte, skip "_id\0"
        h = bytearray(hashlib.sha1(NAMESPACE + name).digest()[:16])
        h[6] = (h[6] & 0x0F) | 0x50
        h[8] = (h[8] & 0x3F) | 0x80
        item["scenarioId"] = {"S": str(uuid.UUID(bytes=bytes(h)))}
    if doc.get("isPublic") is True:
        item["publicShard"] = {"S": shard(item["scenarioId"]["S"])}
    return item


def documents(path):
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        n = int.from_bytes(data[i : i + 4], "little")
        yield data[i : i + n]
        i += n


def generate(n, path, seed, bad=False):
    rnd = random.Random(seed)
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "what", "if", "moon", "tides"]
    with open(path, "wb") as f:
        for k in range(n):
            oid = ObjectId(rnd.getrandbits(96).to_bytes(12, "big"))
            created = datetime.datetime(2023, 1, 1) + datetime.timedelta(seconds=rnd.randrange(0, 90_000_000))
            doc = {
                "_id": oid,
                "userId": "user_%d" % rnd.randrange(5000),
                "topic": "What if #%d?" % k,
                "content": " ".join(rnd.choice(words) for _ in range(rnd.randrange(20, 120))),
                "promptType": rnd.choice(["science", "history", "fantasy", "personal"]),
                "tags": [rnd.choice(words) for _ in range(rnd.randrange(0, 4))],
                "isPublic": rnd.random() < 0.2,
                "createdAt": created,
                "updatedAt": created + datetime.timedelta(minutes=rnd.randrange(0, 5000)),
                "settings": {"model": "gpt-4", "temperature": Decimal128("0.7"), "maxTokens": Int64(4096)},
                "views": Int64(rnd.randrange(0, 2**40)),
                "rating": rnd.random() * 5,
            }
            if k % 3:
                doc["scenarioId"] = "scenario_%d" % k
            if bad and k % 1000 == 999:
                del doc["userId"]
            if bad and k % 1500 == 1499:
                doc["pattern"] = bson.regex.Regex("^what if", "i")
            if bad and k % 2000 == 1001:
                doc["scenarioId"] = "scenario_1"
            f.write(bson.encode(doc))


def evolve(src, dst, seed, add=0, drop_every=10, change_every=7, reject_first=False):
    """A newer dump of `src`, as the source database would give after a while: every drop_every-th
    document deleted, every change_every-th edited, `add` new ones; with reject_first the first document
    loses its userId (it cannot be an item). Prints the counts as JSON."""
    rnd = random.Random(seed)
    counts = {"deleted": 0, "changed": 0, "unchanged": 0, "added": 0, "rejected": 0}
    with open(dst, "wb") as f:
        for k, raw in enumerate(documents(src)):
            if drop_every and k % drop_every == 3:
                counts["deleted"] += 1
                continue
            if reject_first and k == 0:
                doc = bson.decode(raw)
                del doc["userId"]
                counts["rejected"] += 1
                f.write(bson.encode(doc))
            elif change_every and k % change_every == 2 % change_every:
                doc = bson.decode(raw)
                doc["content"] = doc["content"] + " (edited %d)" % seed
                counts["changed"] += 1
                f.write(bson.encode(doc))
            else:
                counts["unchanged"] += 1
                f.write(raw)
        for j in range(add):
            created = datetime.datetime(2024, 6, 1) + datetime.timedelta(seconds=rnd.randrange(0, 9_000_000))
            doc = {
                "_id": ObjectId(rnd.getrandbits(96).to_bytes(12, "big")),
                "scenarioId": "scenario_new_%d_%d" % (seed, j),
                "userId": "user_%d" % rnd.randrange(5000),
                "topic": "What if, later, #%d?" % j,
                "content": "added after the first dump",
                "isPublic": j % 2 == 0,
                "createdAt": created,
                "updatedAt": created,
            }
            counts["added"] += 1
            f.write(bson.encode(doc))
    print(json.dumps(counts))


def generate_small(n, path, seed=1):
    """n small documents (about 120 bytes), quickly: for memory figures, where the count matters."""
    rnd = random.Random(seed)
    created = datetime.datetime(2024, 1, 1)
    with open(path, "wb", buffering=1 << 20) as f:
        for k in range(n):
            doc = {
                "_id": ObjectId(rnd.getrandbits(96).to_bytes(12, "big")),
                "userId": "user_%d" % (k % 5000),
                "topic": "What if #%d?" % k,
                "isPublic": k % 5 == 0,
                "createdAt": created,
            }
            if k % 3:
                doc["scenarioId"] = "scenario_%d" % k
            f.write(bson.encode(doc))


def main():
    args = sys.argv[1:]
    if args and args[0] == "--generate-small":
        generate_small(int(args[1]), args[2])
        return
    if args and args[0] == "--evolve":
        def opt(name, default):
            return int(args[args.index(name) + 1]) if name in args else default

        evolve(args[1], args[2], opt("--seed", 1), add=opt("--add", 0), drop_every=opt("--drop-every", 10),
               change_every=opt("--change-every", 7), reject_first="--reject-first" in args)
        return
    if args and args[0] == "--generate":
        seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 1
        generate(int(args[1]), args[2], seed, bad="--bad" in args)
        return
    out = sys.stdout
    if "--out" in args:
        out = open(args[args.index("--out") + 1], "w")
    for raw in documents(args[0]):
        out.write(json.dumps(transform(raw), ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
    out.flush()


if __name__ == "__main__":
    main()
