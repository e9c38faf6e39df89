#!/usr/bin/env python3
"""An independent reference for the maintenance windows' cron schedules: croniter.

Reads lines "EXPRESSION<TAB>EPOCH" (EPOCH a whole minute, UTC) and prints, per line, "NEXT PREV":
the first match at or after EPOCH and the last at or before it (seconds since 1970), or "none" when
croniter finds none within five years or refuses the expression.
"""
import sys
from datetime import datetime, timedelta, timezone

from croniter import croniter

FIVE_YEARS = 5 * 366 * 86400

for line in sys.stdin:
    expr, epoch = line.rstrip("\n").split("\t")
    t = int(epoch)
    out = []
    for direction in ("next", "prev"):
        try:
            if direction == "next":
                base = datetime.fromtimestamp(t - 1, tz=timezone.utc)
                v = int(croniter(expr, base, day_or=True).get_next(float))
                ok = v - t <= FIVE_YEARS
            else:
                base = datetime.fromtimestamp(t + 1, tz=timezone.utc)
                v = int(croniter(expr, base, day_or=True).get_prev(float))
                ok = t - v <= FIVE_YEARS
            out.append(str(v) if ok else "none")
        except Exception:
            out.append("none")
    print(" ".join(out))
