#!/usr/bin/env python3
"""Generates workflows/org/reference-district.yaml, the reference organisation.

The shape and the counts follow the published description of Lanshan district,
Linyi (兰山区, code 371302): 1 district centre, 12 town sub-centres, 343
village/community stations, 2,532 basic grid cells, a "10+1+N" window hall
(10 resident department windows, 1 on-call window, 1 comprehensive window) and
14 professional mediation organisations. The town names are real; station and
grid names, and how stations and grids are spread over the towns, are made up
(plausible, not official). See docs/organisation.md.

Deterministic: no randomness; running it twice writes the same bytes.
Standard library only.

    python3 scripts/gen_org.py            # writes the file in the checkout
    python3 scripts/gen_org.py --check    # exits 1 if the file is stale
    python3 scripts/gen_org.py -o PATH    # writes somewhere else
"""

import argparse
import os
import sys

DISTRICT = "371302"
DISTRICT_NAME = "临沂市兰山区"
CENTRE_NAME = "兰山区社会治理综合服务中心(群众公社)"

TOTAL_STATIONS = 343
TOTAL_GRIDS = 2532

# (name, stations). The first four are urban sub-districts (街道): their
# stations are residential communities (社区) with more, smaller-area grids.
TOWNS = [
    ("兰山街道", 20),
    ("银雀山街道", 15),
    ("金雀山街道", 16),
    ("柳青街道", 25),
    ("白沙埠镇", 40),
    ("枣园镇", 30),
    ("半程镇", 30),
    ("义堂镇", 35),
    ("李官镇", 33),
    ("方城镇", 40),
    ("汪沟镇", 30),
    ("马厂湖镇", 29),
]

# "10+1+N": D01-D10 resident windows (常驻窗口), D11 the on-call window
# (随驻窗口: a department called in on demand), D12 the comprehensive window
# (综合窗口: catches everything else, next to the coordination command room).
DEPARTMENTS = [
    "兰山区住房和城乡建设局(常驻窗口)",
    "兰山区人力资源和社会保障局(常驻窗口)",
    "兰山区民政局(常驻窗口)",
    "兰山区司法局(常驻窗口)",
    "兰山区市场监督管理局(常驻窗口)",
    "兰山区自然资源局(常驻窗口)",
    "兰山区信访局(常驻窗口)",
    "临沂市公安局兰山分局(常驻窗口)",
    "兰山区卫生健康局(常驻窗口)",
    "兰山区教育和体育局(常驻窗口)",
    "随驻窗口(按需指令入驻部门)",
    "综合窗口(对接综合协调指挥室)",
]

# The first five are named in the source; 诉调对接 is the committee it says is
# resident at the centre; the rest are plausible fields of dispute.
MEDIATION = [
    "婚姻家庭",
    "道路交通事故",
    "物业纠纷",
    "消费纠纷",
    "访调对接",
    "诉调对接",
    "劳动人事争议",
    "医疗纠纷",
    "征地拆迁",
    "农村土地承包",
    "环境污染",
    "商贸物流",
    "金融借贷",
    "校园纠纷",
]

# Name parts. Stride-based picking (strides coprime with the pool size) gives
# every station a district-wide unique name without randomness.
VILLAGE_PREFIX = ["东", "西", "南", "北", "前", "后", "大", "小",
                  "上", "下", "新", "老", "中", "高", "双", "三"]
VILLAGE_CORE = ["王庄", "李庄", "张庄", "刘庄", "官庄", "店子", "河头", "岭",
                "屯", "埠", "湖", "沟", "疃", "桥", "寨", "埠子", "集", "河",
                "坡", "湾"]
COMMUNITY_FIRST = ["和", "新", "兴", "金", "银", "沂", "华", "锦",
                   "康", "泰", "安", "福", "瑞", "祥", "丰", "乐"]
COMMUNITY_SECOND = ["平", "园", "苑", "城", "河", "山", "宁", "盛",
                    "阳", "德", "源", "馨", "庭", "府", "湾", "桥"]


def is_urban(town_name):
    return town_name.endswith("街道")


def village_name(k):
    pool = len(VILLAGE_PREFIX) * len(VILLAGE_CORE)
    c = (k * 13) % pool
    return VILLAGE_PREFIX[c // len(VILLAGE_CORE)] + VILLAGE_CORE[c % len(VILLAGE_CORE)] + "村"


def community_name(k):
    pool = len(COMMUNITY_FIRST) * len(COMMUNITY_SECOND)
    c = (k * 37) % pool
    return COMMUNITY_FIRST[c // len(COMMUNITY_SECOND)] + COMMUNITY_SECOND[c % len(COMMUNITY_SECOND)] + "社区"


def spread(weights, total):
    """Scales integer weights to integers summing to exactly `total`
    (largest remainder; ties go to the earlier entry)."""
    w_sum = sum(weights)
    base = [w * total // w_sum for w in weights]
    rest = total - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (-(weights[i] * total % w_sum), i))
    for i in order[:rest]:
        base[i] += 1
    return base


def build():
    """Returns (units, grids) as lists of dicts in code order."""
    assert len(TOWNS) == 12
    assert sum(n for _, n in TOWNS) == TOTAL_STATIONS
    assert len(DEPARTMENTS) == 12
    assert len(MEDIATION) == 14

    units = [{"code": DISTRICT, "name": CENTRE_NAME, "kind": "district_centre"}]
    stations = []  # (code, name, town_index, urban)
    villages = communities = 0
    for t, (town, count) in enumerate(TOWNS, start=1):
        town_code = "%s-%03d" % (DISTRICT, t)
        units.append({"code": town_code, "name": town + "社会治理综合服务分中心",
                      "kind": "town_centre", "parent": DISTRICT})
        for s in range(1, count + 1):
            if is_urban(town):
                place = community_name(communities)
                communities += 1
            else:
                place = village_name(villages)
                villages += 1
            code = "%s-%03d" % (town_code, s)
            units.append({"code": code, "name": place + "工作站",
                          "kind": "village_station", "parent": town_code})
            stations.append((code, place, t, is_urban(town)))
    for d, name in enumerate(DEPARTMENTS, start=1):
        units.append({"code": "%s-D%02d" % (DISTRICT, d), "name": name,
                      "kind": "department", "parent": DISTRICT})
    for m, field in enumerate(MEDIATION, start=1):
        units.append({"code": "%s-M%02d" % (DISTRICT, m),
                      "name": "兰山区%s人民调解委员会" % field,
                      "kind": "mediation", "parent": DISTRICT})

    # Urban communities are dense: about 11 grids each; villages about 6. The
    # +-3 variation is a fixed pattern, then everything is scaled to the total.
    weights = []
    for i, (_, _, t, urban) in enumerate(stations):
        weights.append((11 if urban else 6) + (i * 37 + t * 11) % 7 - 3)
    per_station = spread(weights, TOTAL_GRIDS)
    assert sum(per_station) == TOTAL_GRIDS
    assert min(per_station) >= 1 and max(per_station) <= 99

    grids = []
    for (code, place, _, _), n in zip(stations, per_station):
        for g in range(1, n + 1):
            grids.append({"code": "%s-%02d" % (code, g), "station": code,
                          "name": "%s第%02d网格" % (place, g)})

    names = [u["name"] for u in units]
    assert len(set(names)) == len(names), "unit names must be unique"
    codes = [u["code"] for u in units] + [g["code"] for g in grids]
    assert len(set(codes)) == len(codes), "codes must be unique"
    return units, grids


def quote(s):
    # Double-quoted YAML scalar; our strings have no control characters.
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render():
    units, grids = build()
    kinds = {}
    for u in units:
        kinds[u["kind"]] = kinds.get(u["kind"], 0) + 1
    out = []
    out.append("# GENERATED by scripts/gen_org.py: edit the script and rerun it, do not edit by hand.")
    out.append("# Reference organisation shaped like Lanshan district, Linyi (see docs/organisation.md).")
    out.append("# %d units: %d district centre, %d town centres, %d village stations, "
               "%d departments, %d mediation organisations; %d grid cells."
               % (len(units), kinds["district_centre"], kinds["town_centre"],
                  kinds["village_station"], kinds["department"], kinds["mediation"],
                  len(grids)))
    out.append("# Town names are real; station/grid names and their spread are illustrative.")
    out.append("district: %s" % quote(DISTRICT))
    out.append("name: %s" % quote(DISTRICT_NAME))
    out.append("units:")
    for u in units:
        fields = ["code: %s" % quote(u["code"]), "name: %s" % quote(u["name"]),
                  "kind: %s" % u["kind"]]
        if "parent" in u:
            fields.append("parent: %s" % quote(u["parent"]))
        out.append("  - {%s}" % ", ".join(fields))
    out.append("grids:")
    for g in grids:
        out.append("  - {code: %s, station: %s, name: %s}"
                   % (quote(g["code"]), quote(g["station"]), quote(g["name"])))
    return "\n".join(out) + "\n"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default = os.path.join(root, "workflows", "org", "reference-district.yaml")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=default)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the output file differs from what would be generated")
    args = parser.parse_args()
    text = render()
    if args.check:
        try:
            with open(args.output, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            print("%s is stale; run scripts/gen_org.py" % args.output, file=sys.stderr)
            return 1
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
