#!/usr/bin/env python3
"""Generates workflows/org/reference-district.yaml, the reference organisation.

The shape and the counts follow the published description of Lanshan district,
Linyi (兰山区, code 371302): 1 district centre, 12 town sub-centres, 343
village/community stations, 2,532 basic grid cells, a "10+1+N" window hall
(10 resident department windows, 1 on-call window, 1 comprehensive window) and
14 professional mediation organisations. The town names are real; station and
grid names, and how stations and grids are spread over the towns, are made up
(plausible, not official). See docs/organisation.md.

It also writes the district's responsibility list (责任清单, `responsibilities:`):
which unit handles a demand of each category. The source gives the counts of
two of its parts, 54 service matters devolved to the towns and 18 matters
shared by the district and the towns, and names the first three of each
(工商登记, 食品经营许可, 卫生许可; 城管执法, 道路维护, 城乡环卫一体化). The other
devolved and shared matters, the departments' own duties and the general
disputes (and which mediation organisation takes each) are plausible, not
official.

Deterministic: no randomness; running it twice writes the same bytes.
Standard library only.

    python3 scripts/gen_org.py            # writes the file in the checkout
    python3 scripts/gen_org.py --check    # exits 1 if the file is stale
    python3 scripts/gen_org.py -o PATH    # writes somewhere else
"""

import argparse
import os
import re
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

# The responsibility list (责任清单): which unit handles a demand of each
# category. The source says 54 public-facing service matters were devolved to
# the towns (下放镇街), naming 工商登记, 食品经营许可 and 卫生许可, and that 18
# matters shared by district and towns (区镇共担) had their duties clarified,
# naming 城管执法, 道路维护 and 城乡环卫一体化. Those counts and those six are
# from the source; every other entry below is plausible, not official.
# Categories are the intake's `category` slug: lower-case ASCII with hyphens,
# unique across the whole list.

# Devolved to the towns: (category, title). handled_by town.
DEVOLVED = [
    ("business-registration", "工商登记"),
    ("food-business-licence", "食品经营许可"),
    ("health-licence", "卫生许可"),
    # Social assistance and welfare (民政).
    ("minimum-living-allowance", "最低生活保障申请"),
    ("temporary-assistance", "临时救助"),
    ("extreme-poverty-support", "特困人员供养"),
    ("disability-subsidies", "残疾人两项补贴"),
    ("disability-certificate", "残疾人证办理"),
    ("old-age-allowance", "高龄津贴"),
    ("elderly-care-subsidy", "经济困难老年人养老服务补贴"),
    ("senior-citizen-card", "老年人优待证"),
    ("orphan-allowance", "孤儿基本生活费发放"),
    ("left-behind-children-care", "农村留守儿童关爱"),
    ("funeral-subsidy", "惠民殡葬补贴"),
    ("medical-assistance", "医疗救助"),
    # Social insurance and employment (人社).
    ("resident-pension-enrolment", "城乡居民养老保险参保登记"),
    ("resident-medical-insurance-enrolment", "城乡居民医疗保险参保登记"),
    ("pension-eligibility-check", "养老金领取资格认证"),
    ("social-security-card", "社会保障卡申领"),
    ("employment-registration", "就业登记"),
    ("unemployment-registration", "失业登记"),
    ("employment-difficulty-certification", "就业困难人员认定"),
    ("public-welfare-job", "公益性岗位申请"),
    ("vocational-training-subsidy", "职业技能培训补贴申请"),
    ("business-startup-loan", "创业担保贷款申请"),
    # Health and family (卫健).
    ("birth-registration", "生育登记"),
    ("family-planning-assistance", "计划生育特别扶助"),
    ("only-child-parent-award", "独生子女父母奖励"),
    # Residence and public order.
    ("residence-permit", "居住证办理"),
    ("housing-rental-registration", "房屋租赁登记"),
    ("house-number-assignment", "门牌编制"),
    ("dog-registration", "犬只登记"),
    # Licences and permits.
    ("food-workshop-registration", "食品小作坊登记"),
    ("small-catering-registration", "小餐饮登记"),
    ("fireworks-retail-licence", "烟花爆竹零售经营许可"),
    ("outdoor-advertising-permit", "户外广告设置许可"),
    ("temporary-road-occupation-permit", "临时占用道路许可"),
    ("construction-waste-disposal-approval", "建筑垃圾处置核准"),
    ("rural-construction-planning-permit", "乡村建设规划许可"),
    ("rural-homestead-approval", "农村宅基地审批"),
    ("dilapidated-house-renovation", "农村危房改造申请"),
    ("tree-felling-permit", "林木采伐许可"),
    # Agriculture and rural affairs.
    ("agricultural-subsidies", "农业补贴发放"),
    ("agricultural-insurance", "农业保险投保"),
    ("land-transfer-filing", "农村土地经营权流转备案"),
    ("livestock-farm-filing", "畜禽养殖场备案"),
    ("animal-epidemic-prevention", "动物防疫"),
    ("rural-toilet-renovation", "农村改厕"),
    # Veterans and military service (退役军人事务, 武装部).
    ("veterans-preferential-treatment", "退役军人优待抚恤"),
    ("conscript-family-allowance", "义务兵家庭优待金"),
    ("military-service-registration", "兵役登记"),
    # Education and legal services.
    ("student-financial-aid", "学生资助申请"),
    ("people-mediation", "人民调解"),
    ("legal-aid-application", "法律援助申请受理"),
]

# Shared by the district and the towns: (category, title, department). The
# town handles it; the department (its D code, see DEPARTMENTS) shares it.
# Duties of bureaus without a window (城管, 生态环境, 水利, 应急) go to D12,
# the comprehensive window.
SHARED = [
    ("urban-management", "城管执法", "D12"),
    ("road-maintenance", "道路维护", "D01"),
    ("urban-rural-sanitation", "城乡环卫一体化", "D12"),
    ("illegal-construction", "违法建设治理", "D06"),
    ("street-vending", "占道经营", "D12"),
    ("drainage-and-flood-control", "排水防汛", "D01"),
    ("environment", "大气污染防治", "D12"),
    ("river-management", "河道治理", "D12"),
    ("food-safety-supervision", "食品安全监管", "D05"),
    ("work-safety", "安全生产监管", "D12"),
    ("property-management", "物业管理", "D01"),
    ("land-acquisition-compensation", "征地拆迁补偿", "D06"),
    ("wage-arrears", "农民工欠薪治理", "D02"),
    ("school-surroundings", "校园周边环境治理", "D10"),
    ("migrant-population-management", "流动人口服务管理", "D08"),
    ("farmland-protection", "耕地保护", "D06"),
    ("gas-safety", "燃气安全", "D01"),
    ("disease-vector-control", "病媒生物防治", "D09"),
]

# A department's own duty, handled at its window: (category, title, D code).
DEPARTMENT_DUTIES = [
    ("building-quality", "房屋质量", "D01"),
    ("labour-dispute", "劳动争议", "D02"),
    ("elderly-care-services", "养老服务", "D03"),
    ("legal-services", "法律服务", "D04"),
    ("consumer-dispute", "消费纠纷", "D05"),
    ("land-and-housing", "土地房屋", "D06"),
    ("petition-review", "信访事项复查复核", "D07"),
    ("public-security", "治安问题", "D08"),
    ("health", "医疗卫生", "D09"),
    ("education", "教育问题", "D10"),
]

# Demands and disputes the platform handles in general: (category, title,
# handler). The handler is "village" (the grid cell's station: 小事不出村,
# what a station does itself), "town" (the town may hand a small matter down
# to its village station) or a mediation organisation's M code, matching its
# field in MEDIATION (M01 婚姻家庭, M02 道路交通事故, M08 医疗纠纷, M10 农村
# 土地承包, M12 商贸物流, M13 金融借贷).
GENERAL = [
    ("village-affairs", "村(居)务诉求", "village"),
    ("neighbour-dispute", "邻里纠纷", "town"),
    ("social-assistance", "社会救助", "town"),
    ("marriage-family", "婚姻家庭纠纷", "M01"),
    ("traffic-accident-dispute", "道路交通事故纠纷", "M02"),
    ("medical-dispute", "医疗纠纷", "M08"),
    ("rural-land-contract-dispute", "农村土地承包纠纷", "M10"),
    ("logistics-dispute", "商贸物流纠纷", "M12"),
    ("private-lending-dispute", "民间借贷纠纷", "M13"),
]

# The categories the simulator (sim/simulation.cc) draws intakes from.
SIMULATOR_CATEGORIES = [
    "labour-dispute", "property-management", "neighbour-dispute", "land-and-housing",
    "environment", "marriage-family", "social-assistance", "consumer-dispute",
    "urban-management", "public-security", "education", "health",
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


SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# Plain scalars YAML 1.1 would read as booleans or null; a slug must not be one.
YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def build_responsibilities(units):
    """Returns the responsibility list as dicts in file order: devolved,
    shared, department, general."""
    assert len(DEVOLVED) == 54
    assert [c for c, _ in DEVOLVED[:3]] == [
        "business-registration", "food-business-licence", "health-licence"]
    assert len(SHARED) == 18
    assert [c for c, _, _ in SHARED[:3]] == [
        "urban-management", "road-maintenance", "urban-rural-sanitation"]
    kind_of = {u["code"]: u["kind"] for u in units}

    def code(suffix, kind):
        c = "%s-%s" % (DISTRICT, suffix)
        assert kind_of.get(c) == kind, "%s is not a %s" % (c, kind)
        return c

    out = []
    for category, title in DEVOLVED:
        out.append({"category": category, "title": title, "handled_by": "town",
                    "source": "devolved"})
    for category, title, dept in SHARED:
        out.append({"category": category, "title": title, "handled_by": "town",
                    "source": "shared", "shared_with": [code(dept, "department")]})
    for category, title, dept in DEPARTMENT_DUTIES:
        out.append({"category": category, "title": title, "handled_by": "unit",
                    "unit": code(dept, "department"), "source": "department"})
    for category, title, handler in GENERAL:
        r = {"category": category, "title": title}
        if handler in ("town", "village"):
            r["handled_by"] = handler
        else:
            r["handled_by"] = "unit"
            r["unit"] = code(handler, "mediation")
        r["source"] = "general"
        out.append(r)

    categories = [r["category"] for r in out]
    assert len(set(categories)) == len(categories), "categories must be unique"
    for c in categories:
        assert SLUG.match(c) and c not in YAML_WORDS, "bad category slug %r" % c
    titles = [r["title"] for r in out]
    assert len(set(titles)) == len(titles), "titles must be unique"
    missing = set(SIMULATOR_CATEGORIES) - set(categories)
    assert not missing, "simulator categories missing: %s" % sorted(missing)
    return out


def quote(s):
    # Double-quoted YAML scalar; our strings have no control characters.
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render():
    units, grids = build()
    responsibilities = build_responsibilities(units)
    sources = {}
    for r in responsibilities:
        sources[r["source"]] = sources.get(r["source"], 0) + 1
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
    out.append("# Responsibility list: %d devolved to towns, %d shared by district and towns, "
               "%d department, %d general."
               % (sources["devolved"], sources["shared"], sources["department"],
                  sources["general"]))
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
    out.append("responsibilities:")
    for r in responsibilities:
        fields = ["category: %s" % r["category"], "title: %s" % quote(r["title"]),
                  "handled_by: %s" % r["handled_by"]]
        if "unit" in r:
            fields.append("unit: %s" % quote(r["unit"]))
        fields.append("source: %s" % r["source"])
        if r.get("shared_with"):
            fields.append("shared_with: [%s]" % ", ".join(quote(c) for c in r["shared_with"]))
        out.append("  - {%s}" % ", ".join(fields))
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
