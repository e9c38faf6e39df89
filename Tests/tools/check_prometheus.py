#!/usr/bin/env python3
"""Checks Prometheus text exposition (format 0.0.4) read from stdin with prometheus_client's own
parser, which refuses malformed input, then with promtool's rules that the parser does not enforce:
every family has HELP and TYPE, a counter's samples end in _total and a gauge's do not, no sample
carries a timestamp. Prints {"families": {name: type}, "samples": {name: [[labels, value], ...]}} as
JSON; exits 1 with the problems otherwise."""
import json
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
problems = []
helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
out = {"families": {}, "samples": {}}
try:
    for family in text_string_to_metric_families(text):
        out["families"][family.name] = family.type
        if family.type == "unknown":
            problems.append("%s has no TYPE" % family.name)
        for s in family.samples:
            if s.timestamp is not None:
                problems.append("%s carries a timestamp" % s.name)
            if family.type == "counter" and not s.name.endswith("_total"):
                problems.append("counter sample %s does not end in _total" % s.name)
            if family.type == "gauge" and s.name.endswith("_total"):
                problems.append("gauge sample %s ends in _total" % s.name)
            out["samples"].setdefault(s.name, []).append([s.labels, s.value])
except ValueError as e:
    problems.append("the parser refused it: %s" % e)
for name in types:
    if name not in helps:
        problems.append("%s has TYPE but no HELP" % name)
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(json.dumps(out))
