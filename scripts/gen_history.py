#!/usr/bin/env python3
"""Writes a recorded history for what-if measurements: N petition-125 cases
(intake, dispatch, acknowledge, contact, respond, close) opened on the working
days of March to October 2026 at four grid cells, as NDJSON commands. One case
in ten is contacted three working days late (a breach and an escalation under
the shipped rules). Deterministic; standard library only.

    python3 scripts/gen_history.py --cases 100000 > history.ndjson
    casegrid --data /tmp/h submit --file history.ndjson
    casegrid --data /tmp/h workflow whatif DRAFT.yaml

See docs/PERFORMANCE.md, "What-if over history".
"""

import argparse
import datetime
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100000)
    args = parser.parse_args()
    grids = ["371302-001-001-01", "371302-002-003-01", "371302-004-019-01", "371302-007-014-01"]
    days = []
    day = datetime.date(2026, 3, 2)
    while day <= datetime.date(2026, 10, 30):
        if day.weekday() < 5:
            days.append(day)
        day += datetime.timedelta(days=1)
    out = sys.stdout
    centre = {"user": "c1", "role": "centre", "unit": "371302"}
    for i in range(args.cases):
        k = i * len(days) // args.cases
        opened, next_day, later = days[k], days[min(k + 1, len(days) - 1)], days[min(k + 3, len(days) - 1)]
        case = f"P-{i:06d}"
        grid = grids[i % 4]
        station = grid.rsplit("-", 1)[0]
        unit = {"user": "u-" + station, "role": "unit", "unit": station}
        minute = i % 50

        def at(d, hour):
            return f"{d.isoformat()}T{hour:02d}:{minute:02d}:00+08:00"

        commands = [
            ("intake", at(opened, 9), {"user": "w1", "role": "window", "unit": "371302"},
             {"channel": "window", "category": "labour-dispute", "grid": grid, "summary": "s"}),
            ("dispatch", at(opened, 10), centre, None),
            ("acknowledge", at(opened, 11), unit, None),
            ("contact", at(next_day if i % 10 else later, 10), unit, None),
            ("respond", at(later, 15), unit, {"answer": "done"}),
            ("close", at(later, 16), centre, None),
        ]
        for n, (action, when, actor, data) in enumerate(commands, 1):
            command = {"id": f"{case}-{n}", "case": case, "action": action, "at": when, "actor": actor}
            if data is not None:
                command["data"] = data
            out.write(json.dumps(command) + "\n")


if __name__ == "__main__":
    main()
