#!/usr/bin/env python3
"""Writes a recorded history for what-if measurements: N petition-125 cases
(intake, dispatch, acknowledge, contact, respond, close) opened on the working
days (of the shipped 2026 calendar) of March to October 2026 at four grid cells, as NDJSON commands in time
order. One case
in ten is contacted three working days late (a breach and an escalation under
the shipped rules; the town then acts on it). Deterministic; standard library only.

    python3 scripts/gen_history.py --cases 100000 > history.ndjson
    casegrid --data /tmp/h submit --file history.ndjson
    casegrid --data /tmp/h workflow whatif DRAFT.yaml

See docs/PERFORMANCE.md, "What-if over history".
"""

import argparse
import datetime
import json
import os
import re
import sys


def working_days(first, last):
    """The working days from first to last under the shipped calendar of
    2026 (workflows/calendars/cn-2026.yaml): Monday to Friday but its
    holidays, and its make-up Saturdays and Sundays."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workflows", "calendars",
                        "cn-2026.yaml")
    text = open(path, encoding="utf-8").read()
    off = set()
    for start, end in re.findall(r"from: (\d{4}-\d\d-\d\d)\s+to: (\d{4}-\d\d-\d\d)", text):
        day = datetime.date.fromisoformat(start)
        while day <= datetime.date.fromisoformat(end):
            off.add(day)
            day += datetime.timedelta(days=1)
    makeup = {datetime.date.fromisoformat(d) for d in re.findall(r"date: (\d{4}-\d\d-\d\d)", text)}
    days, day = [], first
    while day <= last:
        if (day.weekday() < 5 and day not in off) or day in makeup:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100000)
    args = parser.parse_args()
    grids = ["371302-001-001-01", "371302-002-003-01", "371302-004-019-01", "371302-007-014-01"]
    # Cases open on the working days of March to October; their later steps
    # may fall in November.
    days = working_days(datetime.date(2026, 3, 2), datetime.date(2026, 11, 30))
    opening = sum(1 for d in days if d <= datetime.date(2026, 10, 30))
    out = sys.stdout
    lines = []
    centre = {"user": "c1", "role": "centre", "unit": "371302"}
    for i in range(args.cases):
        k = i * opening // args.cases
        opened, next_day, later = days[k], days[k + 1], days[k + 3]
        case = f"P-{i:06d}"
        grid = grids[i % 4]
        station = grid.rsplit("-", 1)[0]
        unit = {"user": "u-" + station, "role": "unit", "unit": station}
        # A late contact breaches the deadline, and the case goes up to the
        # town (escalation under the shipped rules), which then acts on it.
        town = station.rsplit("-", 1)[0]
        after = unit if i % 10 else {"user": "u-" + town, "role": "unit", "unit": town}
        minute = i % 50

        def at(d, hour):
            return f"{d.isoformat()}T{hour:02d}:{minute:02d}:00+08:00"

        commands = [
            ("intake", at(opened, 9), {"user": "w1", "role": "window", "unit": "371302"},
             {"channel": "window", "category": "village-affairs", "grid": grid, "summary": "s"}),
            ("dispatch", at(opened, 10), centre, None),
            ("acknowledge", at(opened, 11), unit, None),
            ("contact", at(next_day if i % 10 else later, 10), after, None),
            ("respond", at(later, 15), after, {"answer": "done"}),
            ("close", at(later, 16), centre, None),
        ]
        for n, (action, when, actor, data) in enumerate(commands, 1):
            command = {"id": f"{case}-{n}", "case": case, "action": action, "at": when, "actor": actor}
            if data is not None:
                command["data"] = data
            lines.append((when, i, n, json.dumps(command)))
    # In time order, as a district's import would come: the cases interleave
    # and each deadline fires when the clock passes it.
    lines.sort()
    for line in lines:
        out.write(line[3] + "\n")


if __name__ == "__main__":
    main()
