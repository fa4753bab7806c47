#!/usr/bin/env python3
"""make_demo.py — regenerates the demo data set in deploy/demo/<policy>/.

For each of the five policies: department identity lists (identity-<DEPT>.csv,
the templates of deploy/templates/), the enrollment export (enrollment.csv) and
the tax export (payment.csv), for a few dozen ordinary residents plus showcase
persons covering the interesting cases (multi-identity, late flags, refunds,
revocations, deaths, enrollments elsewhere, Shantou half-years, Yubei refunds
to persons). What tax applied at payment time, and the decision expected at the
end, come from the real policy engine (`zizhu policy eval`), so the files agree
with the policies; expected.jsonl holds one decision per person (ID numbers are
synthetic but valid; names are placeholders).

usage: deploy/demo/make_demo.py [path/to/zizhu]   (default build-feed/cli/zizhu)
Deterministic: the same script gives the same files.
"""
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ZIZHU = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-feed", "cli", "zizhu")

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
C = "10X98765432"


def idno(county, birth, seq):
    s = "%s%s%03d" % (county, birth.replace("-", ""), seq)
    return s + C[sum(int(a) * w for a, w in zip(s, W)) % 11]


DEPT_CN = {"MCA": "民政", "RRB": "乡村振兴", "DPF": "残联", "NHC": "卫健", "MVA": "退役军人事务", "EDU": "高校"}
CLASS_CN = {"adult": "成年居民", "student_child": "学生儿童", "college": "大学生"}
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "一二三四五六七八九十"

HUILONG_VILLAGES = [("回龙村", 2854), ("杨柳社区", 1797), ("鹞子村", 1860), ("双龙村", 2210),
                    ("龙华社区", 1679), ("红星村", 1539), ("云阳村", 1916), ("安居社区", 2028),
                    ("天福村", 2051), ("寒岭村", 2195), ("清平村", 2452), ("民胜村", 3274),
                    ("八一村", 2158), ("山河村", 2699), ("兴农村", 3080), ("青杠村", 2882)]


def ident(cat, attrs=None, vf=None, vt=None, rep=None, revoke=None, approving=None):
    return dict(cat=cat, attrs=attrs or {}, vf=vf, vt=vt, rep=rep, revoke=revoke, approving=approving)


def person(label, ids=(), tier=1, cls="adult", kind="ANNUAL", reg=None, enrolled=True, paid=True,
           region=None, enroll_region=None, died=None, refund=False, unit=None, birth=None,
           household=None, paid_at=None):
    return dict(label=label, ids=list(ids), tier=tier, cls=cls, kind=kind, reg=reg, enrolled=enrolled,
                paid=paid, region=region, enroll_region=enroll_region, died=died, refund=refund,
                unit=unit, birth=birth, household=household, paid_at=paid_at)


POLICIES = [
    dict(name="huilong-2020", dir="huilong", year=2020, county="500155",
         villages=["500155107%03d" % (i + 1) for i in range(16)],
         window=("2019-10-01", "2019-12-10"), exchange="2019-09-20T09:00:00+08:00",
         filler_per_village=8, filler_cat=("MCA.DIBAO", {}), reg_from="2019-10-08",
         showcase=[
             person("hl-dibao-t1", [ident("MCA.DIBAO")]),
             person("hl-dibao-t2", [ident("MCA.DIBAO")], tier=2),
             person("hl-disabled1-fp-special", [ident("DPF.DISABLED", {"level": "1"}),
                                                ident("NHC.FP_SPECIAL", {"relation": "self"})]),
             person("hl-disabled1-poor", [ident("DPF.DISABLED", {"level": "1"}),
                                          ident("RRB.POOR", {"lifted": "false"})]),
             person("hl-disabled1-poor-lifted", [ident("DPF.DISABLED", {"level": "1"}),
                                                 ident("RRB.POOR", {"lifted": "true", "benefits_enjoyed": "true"})]),
             person("hl-poor-lifted-tier2", [ident("RRB.POOR", {"lifted": "true", "benefits_enjoyed": "true"})], tier=2),
             person("hl-late-flag-refund-due", [ident("MCA.DIBAO", vf="2019-09-01", rep="2019-11-20T10:00:00+08:00")],
                    reg="2019-10-20"),
             person("hl-late-flag-refunded-by-tax", [ident("MCA.TEKUN", {"supported": "dispersed"}, vf="2019-09-01",
                                                          rep="2019-11-20T10:00:00+08:00")], reg="2019-10-21", refund=True),
             person("hl-revoked-recovery", [ident("MCA.DIBAO", revoke="2019-12-01T09:00:00+08:00")]),
             person("hl-deceased-after-paying", [ident("DPF.DISABLED", {"level": "2"})], died=("2019-11-15", "2019-11-25T09:00:00+08:00")),
             person("hl-eligible-not-enrolled", [ident("MCA.DIBAO")], enrolled=False),
             person("hl-enrolled-elsewhere", [ident("MCA.DIBAO")], enroll_region="500155108003"),
             person("hl-enrolled-not-paid", [ident("MCA.ORPHAN", {"supported": "dispersed"})], paid=False),
             person("hl-ended-before-year", [ident("MCA.DIBAO", vt="2019-06-30")]),
             person("hl-household-tier-mismatch-a", [], tier=1, household="HL-MIX"),
             person("hl-household-tier-mismatch-b", [], tier=2, household="HL-MIX"),
         ]),
    dict(name="tongnan-2021", dir="tongnan", year=2021, county="500152",
         villages=["500152%03d%03d" % (100 + t, v) for t in range(3) for v in range(1, 5)],
         window=("2020-09-01", "2021-06-30"), exchange="2020-08-31T09:00:00+08:00",
         filler_per_village=6, filler_cat=("MCA.DIBAO", {}), reg_from="2020-09-10",
         showcase=[
             person("tn-dibao", [ident("MCA.DIBAO")]),
             person("tn-old-demobilized-tier2", [ident("MVA.PRIORITY_CARE", {"old_demobilized": "true"})], tier=2),
             person("tn-disabled-veteran-grade3", [ident("MVA.PRIORITY_CARE", {"disabled_veteran_grade": "3", "old_demobilized": "false"})]),
             person("tn-fp-reward-80pct", [ident("NHC.FP_REWARD")]),
             person("tn-dibao-and-fp-reward-max", [ident("MCA.DIBAO"), ident("NHC.FP_REWARD")]),
             person("tn-poor-lifted-no-benefits", [ident("RRB.POOR", {"lifted": "true", "benefits_enjoyed": "false"})]),
             person("tn-edge-fixed", [ident("RRB.EDGE")]),
             person("tn-college-low-income", [ident("MCA.LOW_INCOME", {"subgroup": "college_student"})], cls="college", birth="2001-05-06"),
             person("tn-late-flag-refund-due", [ident("DPF.DISABLED", {"level": "3"}, vf="2020-09-01", rep="2020-12-18T10:00:00+08:00")],
                    reg="2020-10-12"),
             person("tn-identity-after-payment", [ident("MCA.DIBAO", vf="2021-01-05", rep="2021-01-20T10:00:00+08:00")],
                    reg="2020-10-12"),
             person("tn-revoked", [ident("MCA.OTHER_HARDSHIP", revoke="2021-03-01T09:00:00+08:00")]),
             person("tn-deceased", [ident("MCA.TEKUN", {"supported": "dispersed"})], died=("2021-02-02", "2021-02-10T09:00:00+08:00")),
         ]),
    dict(name="panzhihua-2022", dir="panzhihua", year=2022, county="510411",
         villages=["%s%03d%03d" % (c, 100 + t, 1 + t) for c in ("510402", "510411", "510421", "510422") for t in range(2)],
         window=("2021-09-01", "2022-06-30"), exchange="2021-08-31T18:00:00+08:00",
         filler_per_village=6, filler_cat=("MCA.TEKUN", {"supported": "dispersed"}), reg_from="2021-09-10",
         showcase=[
             person("pzh-severe-disabled-student", [ident("DPF.DISABLED", {"level": "1"})], cls="student_child", birth="2010-04-04"),
             person("pzh-severe-disabled-adult-tier2", [ident("DPF.DISABLED", {"level": "2"})], tier=2),
             person("pzh-tekun", [ident("MCA.TEKUN", {"supported": "dispersed"})]),
             person("pzh-dibao-75pct", [ident("MCA.DIBAO")]),
             person("pzh-dibao-and-disabled3-priority", [ident("MCA.DIBAO"), ident("DPF.DISABLED", {"level": "3"})]),
             person("pzh-monitored", [ident("RRB.MONITORED", {"kind": "unstable_lifted"})]),
             person("pzh-stable-lifted-tier2", [ident("RRB.STABLE_LIFTED")], tier=2),
             person("pzh-recognized-after-cutoff", [ident("MCA.DIBAO", vf="2021-10-01", rep="2021-10-20T10:00:00+08:00")]),
             person("pzh-died-before-year-end", [ident("MCA.DIBAO")], died=("2021-11-30", "2021-12-05T09:00:00+08:00")),
             person("pzh-late-flag-refund-due", [ident("DPF.DISABLED", {"level": "4"}, vf="2021-06-01", rep="2021-11-15T10:00:00+08:00")],
                    reg="2021-09-20"),
             person("pzh-late-flag-refunded", [ident("MCA.TEKUN", {"supported": "dispersed"}, vf="2021-06-01",
                                                     rep="2021-11-15T10:00:00+08:00")], reg="2021-09-20", refund=True),
             person("pzh-enrolled-in-chengdu", [ident("MCA.TEKUN", {"supported": "dispersed"})], enroll_region="510104001001"),
         ]),
    dict(name="yubei-2017", dir="yubei", year=2017, county="500112",
         villages=["500112%03d%03d" % (100 + t, v) for t in range(2) for v in range(1, 5)],
         window=("2016-09-01", "2017-06-30"), exchange="2016-08-25T09:00:00+08:00",
         filler_per_village=6, filler_cat=("MCA.DIBAO", {}), reg_from="2016-09-05",
         showcase=[
             person("yb-dibao", [ident("MCA.DIBAO")]),
             person("yb-disabled1-70pct", [ident("DPF.DISABLED", {"level": "1"})]),
             person("yb-college-grant-student", [ident("EDU.GRANT_STUDENT")], cls="college", birth="1998-02-03"),
             person("yb-late-flag-refund-to-person", [ident("MCA.DIBAO", vf="2016-09-01", rep="2017-01-15T10:00:00+08:00")],
                    reg="2016-10-10"),
             person("yb-scattered-phase-new-identity", [ident("MCA.TEKUN", {"supported": "dispersed"}, vf="2017-02-01",
                                                             rep="2017-02-20T10:00:00+08:00")], reg="2016-10-10"),
             person("yb-scattered-phase-enrollment", [ident("MCA.ORPHAN", {"supported": "dispersed"}, vf="2017-01-10",
                                                           rep="2017-01-20T10:00:00+08:00")], reg="2017-03-01"),
             person("yb-identity-from-late-july", [ident("MCA.DIBAO", vf="2016-07-20", rep="2016-08-25T09:00:00+08:00")]),
             person("yb-revoked", [ident("MCA.ILLNESS_POVERTY", revoke="2017-04-01T09:00:00+08:00")]),
         ]),
    dict(name="shantou-2021", dir="shantou", year=2021, county="440507",
         villages=["%s%03d%03d" % (c, 100, v) for c in ("440507", "440511", "440513") for v in range(1, 4)],
         window=("2020-09-01", "2021-11-30"), exchange="2020-08-28T09:00:00+08:00",
         filler_per_village=6, filler_cat=("MCA.DIBAO", {}), reg_from="2020-09-10",
         showcase=[
             person("st-dibao-annual-h1", [ident("MCA.DIBAO")]),
             person("st-tekun-city-welfare-home", [ident("MCA.TEKUN", {"supported": "institution", "institution": "STFLY",
                                                                        "institution_level": "city"})], unit="STFLY"),
             person("st-vagrant-settled-city", [ident("MCA.VAGRANT_SETTLED", {"institution": "STJZZ", "institution_level": "city"})]),
             person("st-orphan-district-institution", [ident("MCA.ORPHAN", {"supported": "institution", "institution": "LHFLY",
                                                                             "institution_level": "district"})]),
             person("st-midyear-h1", [ident("MCA.DIBAO", vf="2021-03-10", rep="2021-03-12T10:00:00+08:00")],
                    kind="MID_YEAR", reg="2021-03-15"),
             person("st-midyear-h2", [ident("DPF.DISABLED", {"level": "2"}, vf="2021-07-10", rep="2021-07-12T10:00:00+08:00")],
                    kind="MID_YEAR", reg="2021-07-20"),
             person("st-approved-by-other-district", [ident("MCA.DIBAO", approving="440511")]),
             person("st-paid-before-identity", [ident("MCA.DIBAO", vf="2020-12-01", rep="2020-12-05T10:00:00+08:00")],
                    reg="2020-10-01"),
             person("st-revoked-recovery", [ident("RRB.POOR", {"lifted": "false"}, revoke="2021-04-01T09:00:00+08:00")]),
             person("st-identity-lost-after-registration", [ident("MCA.DIBAO", vt="2021-01-31")], reg="2020-10-10"),
             person("st-low-income-college-not-listed", [ident("MCA.LOW_INCOME", {"subgroup": "college_student"})]),
             person("st-eligible-not-enrolled", [ident("MCA.UNSUPPORTED_CHILD")], enrolled=False, birth="2012-06-01"),
         ]),
]


def add_days(d, n):
    import datetime
    return (datetime.date.fromisoformat(d) + datetime.timedelta(days=n)).isoformat()


def tier_fen(pol, tier):
    return {"huilong-2020": (25000, 62500), "tongnan-2021": (28000, 65500), "panzhihua-2022": (35000, 60000),
            "yubei-2017": (15000, 35000), "shantou-2021": (32000, 32000)}[pol["name"]][tier - 1]


def eval_cases(pol, cases):
    src = "\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n"
    out = subprocess.run([ZIZHU, "policy", "eval", "--policy", os.path.join(ROOT, "policies", pol["name"] + ".yaml")],
                         input=src.encode(), stdout=subprocess.PIPE, check=False).stdout.decode()
    res = [json.loads(line) for line in out.splitlines() if line.strip()]
    for r in res:
        if "error" in r:
            raise SystemExit("policy eval: %s: %s" % (r.get("case"), r["error"]))
    return res


def build(pol):
    rnd = random.Random(pol["name"])
    persons = []
    seq = [100]

    def new_id(county, birth):
        seq[0] += 1
        return idno(county, birth, seq[0])

    # Ordinary residents: households of 1-4 per village, ~12 % holding the
    # policy's commonest identity.
    hh = 0
    for v in pol["villages"]:
        left = pol["filler_per_village"]
        while left > 0:
            size = min(left, rnd.randint(1, 4))
            hh += 1
            tier = 2 if rnd.random() < 0.15 and pol["name"] != "shantou-2021" else 1
            for k in range(size):
                p = person("resident", tier=tier, household="%s-H%03d" % (pol["dir"].upper()[:2], hh))
                p["region"] = v
                if rnd.random() < 0.12:
                    p["ids"] = [ident(pol["filler_cat"][0], pol["filler_cat"][1])]
                if rnd.random() < 0.04:
                    p["paid"] = False
                persons.append(p)
            left -= size
    for i, p in enumerate(pol["showcase"]):
        p = dict(p)
        p["region"] = p["region"] or pol["villages"][i % len(pol["villages"])]
        p["household"] = p["household"] or "%s-S%03d" % (pol["dir"].upper()[:2], i + 1)
        persons.append(p)
    for n, p in enumerate(persons):
        county = p["region"][:6]
        birth = p["birth"] or "%04d-%02d-%02d" % (rnd.randint(1945, 1995), rnd.randint(1, 12), rnd.randint(1, 28))
        p["id"] = new_id(county, birth)
        p["name"] = SURNAMES[n % len(SURNAMES)] + "某" + GIVEN[(n // len(SURNAMES)) % 10]
        if p["label"] == "resident":
            p["label"] = "%s-resident-%03d" % (pol["dir"], n + 1)
        if p["reg"] is None:
            p["reg"] = add_days(pol["reg_from"], rnd.randint(0, 40))
        p["paid_at"] = p["paid_at"] or p["reg"] + "T10:%02d:00+08:00" % rnd.randint(0, 59)
        for j, d in enumerate(p["ids"]):
            d["vf"] = d["vf"] or add_days(pol["window"][0], -500)
            d["rep"] = d["rep"] or pol["exchange"]
            d["dept"] = d["cat"].split(".")[0]
            d["record"] = "%s-%s-%04d-%d" % (d["dept"], pol["dir"].upper()[:2], n + 1, j)
    return persons


def case_of(pol, p, at=None, with_payment=False, applied=None, paid=None):
    ids = []
    for d in p["ids"]:
        if at is not None and d["rep"] > at:
            continue
        revoked = d["revoke"] is not None and (at is None or d["revoke"] <= at)
        ids.append({"category": d["cat"], "attrs": d["attrs"], "valid_from": d["vf"], "valid_to": d["vt"],
                    "reported_at": d["rep"], "approving_region": d["approving"] or p["region"][:6],
                    "action": "REVOKE" if revoked else "GRANT"})
    c = {"case": p["label"], "person": {"id": p["id"], "region": p["region"], "household": p["household"]},
         "identities": ids, "deceased_on": None}
    if p["died"] and (at is None or p["died"][1] <= at):
        c["deceased_on"] = p["died"][0]
    if p["enrolled"]:
        c["enrollment"] = {"year": pol["year"], "tier": p["tier"], "class": p["cls"], "kind": p["kind"],
                           "registered_on": p["reg"], "region": p["enroll_region"] or p["region"], "unit": p["unit"]}
    if with_payment and p["enrolled"] and p["paid"]:
        c["payment"] = {"paid_at": p["paid_at"], "contribution_fen": tier_fen(pol, p["tier"]),
                        "subsidy_applied_fen": applied, "paid_fen": paid}
    return c


def yuan(fen):
    return "%d.%02d" % (fen // 100, fen % 100)


def write(pol):
    persons = build(pol)
    out = os.path.join(HERE, pol["dir"])
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".csv") or f.endswith(".jsonl"):
            os.remove(os.path.join(out, f))
    # What tax applied: the decision on the flags it had when the person paid.
    at_pay = eval_cases(pol, [case_of(pol, p, at=p["paid_at"]) for p in persons])
    for p, d in zip(persons, at_pay):
        contribution = tier_fen(pol, p["tier"])
        p["applied"] = min(d["subsidy_fen"], contribution)
        p["paid_fen"] = contribution - p["applied"]
    final = eval_cases(pol, [case_of(pol, p, with_payment=True, applied=p["applied"], paid=p["paid_fen"]) for p in persons])
    refunds = {}
    for p, d in zip(persons, final):
        r = d["reconciliation"]
        if p["refund"] and r["status"] == "REFUND_DUE" and r["route"] == "VIA_TAX":
            refunds[p["label"]] = r["fen"]
            p["applied"] += r["fen"]
            p["paid_fen"] -= r["fen"]
    if refunds:
        final = eval_cases(pol, [case_of(pol, p, with_payment=True, applied=p["applied"], paid=p["paid_fen"]) for p in persons])

    ident_hdr = "归属地,姓名,身份证号码,部门标识,人员编号,生存状况,人员身份标识,认定日期,终止日期,变动类型,死亡日期,审批地,报送时间,身份属性\n"
    files = {}

    def irow(dept, cells):
        if dept not in files:
            files[dept] = [ident_hdr]
        files[dept].append(",".join(cells) + "\n")

    for p in persons:
        for d in p["ids"]:
            attrs = ";".join("%s=%s" % kv for kv in sorted(d["attrs"].items()))
            irow(d["dept"], [p["region"], p["name"], p["id"], DEPT_CN[d["dept"]], d["record"], "存活", d["cat"],
                             d["vf"], d["vt"] or "", "新增", "", d["approving"] or "", d["rep"], attrs])
    for p in persons:
        for d in p["ids"]:
            if d["revoke"]:
                attrs = ";".join("%s=%s" % kv for kv in sorted(d["attrs"].items()))
                irow(d["dept"], [p["region"], p["name"], p["id"], DEPT_CN[d["dept"]], d["record"], "存活", d["cat"],
                                 d["vf"], d["vt"] or "", "撤销", "", d["approving"] or "", d["revoke"], attrs])
        if p["died"]:
            irow("MCA", [p["region"], p["name"], p["id"], "民政", "D-%s" % p["label"], "死亡", "", "", "", "死亡",
                         p["died"][0], "", p["died"][1], ""])
    for dept, lines in files.items():
        with open(os.path.join(out, "identity-%s.csv" % dept), "w", encoding="utf-8") as f:
            f.writelines(lines)
    with open(os.path.join(out, "enrollment.csv"), "w", encoding="utf-8") as f:
        f.write("身份证号码,姓名,户编号,参保年度,缴费档次,参保类别,参保方式,登记日期,参保地,代缴单位,变动类型,参保记录号,报送时间\n")
        for n, p in enumerate(persons):
            if p["enrolled"]:
                f.write(",".join([p["id"], p["name"], p["household"], str(pol["year"]), str(p["tier"]),
                                  CLASS_CN[p["cls"]], "年中参保" if p["kind"] == "MID_YEAR" else "年度参保", p["reg"],
                                  p["enroll_region"] or p["region"], p["unit"] or "", "登记",
                                  "EN%d-%s-%04d" % (pol["year"], pol["dir"].upper()[:2], n + 1),
                                  p["reg"] + "T18:00:00+08:00"]) + "\n")
    with open(os.path.join(out, "payment.csv"), "w", encoding="utf-8") as f:
        f.write("身份证号码,姓名,参保年度,业务类型,应缴金额,资助金额,个人实缴金额,退费金额,缴费时间,票据号,记录号\n")
        for n, p in enumerate(persons):
            if not (p["enrolled"] and p["paid"]):
                continue
            contribution = tier_fen(pol, p["tier"])
            receipt = "SP%d%s%05d" % (pol["year"], p["region"][:6], n + 1)
            refund = refunds.get(p["label"], 0)
            f.write(",".join([p["id"], p["name"], str(pol["year"]), "缴费", yuan(contribution),
                              yuan(p["applied"] - refund), yuan(p["paid_fen"] + refund), "", p["paid_at"],
                              receipt, ""]) + "\n")
            if refund:
                f.write(",".join([p["id"], p["name"], str(pol["year"]), "退费", yuan(contribution),
                                  yuan(p["applied"]), yuan(p["paid_fen"]), yuan(refund),
                                  add_days(p["reg"], 60) + "T15:00:00+08:00", receipt, ""]) + "\n")
    with open(os.path.join(out, "expected.jsonl"), "w", encoding="utf-8") as f:
        for d in final:
            d.pop("trace", None)
            f.write(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n")
    return persons, final


def main():
    summary = []
    for pol in POLICIES:
        persons, final = write(pol)
        subsidy = sum(d["subsidy_fen"] for d in final)
        statuses = {}
        for d in final:
            s = d["reconciliation"]["status"]
            statuses[s] = statuses.get(s, 0) + 1
        summary.append("%s: %d persons, subsidy %s yuan, %s" % (
            pol["name"], len(persons), yuan(subsidy), ", ".join("%s %d" % kv for kv in sorted(statuses.items()))))
    with open(os.path.join(HERE, "huilong", "targets.csv"), "w", encoding="utf-8") as f:
        f.write("序号,村别,村社区代码,参保任务人数\n")
        for i, (name, target) in enumerate(HUILONG_VILLAGES):
            f.write("%d,%s,500155107%03d,%d\n" % (i + 1, name, i + 1, target))
        f.write(",总体目标,500155107,%d\n" % sum(t for _, t in HUILONG_VILLAGES))
    print("\n".join(summary))


if __name__ == "__main__":
    main()
