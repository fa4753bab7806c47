#!/usr/bin/env python3
# gen_cases.py — writes the <policy>.jsonl case files of this folder.
#
# Each line is one case of CONTRACT.md plus "expect": the decision fields
# that must hold (objects compared as subsets, arrays element by element),
# "matched": the rule ids that must match, in trace order, or
# "expect_error": a text the error must contain. The expectations are worked
# out by hand from POLICIES.md and the seed notices, never copied from the
# engine's output. Run it after editing: python3 gen_cases.py
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def idno(region="500228", birth="19900101", seq="123"):
    body = region + birth + seq
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * k for c, k in zip(body, w))
    return body + "10X98765432"[s % 11]


def ident(cat, attrs=None, frm="2015-01-01", to=None, rep=None, appr=None,
          action="GRANT"):
    d = {"category": cat, "attrs": attrs or {}, "valid_from": frm,
         "valid_to": to}
    if rep is not None:
        d["reported_at"] = rep
    if appr is not None:
        d["approving_region"] = appr
    d["action"] = action
    return d


def enr(year, tier, region, reg, cls="adult", kind="ANNUAL"):
    return {"year": year, "tier": tier, "class": cls, "kind": kind,
            "registered_on": reg, "region": region, "unit": None}


def pay(at, contrib, applied):
    return {"paid_at": at, "contribution_fen": contrib,
            "subsidy_applied_fen": applied, "paid_fen": contrib - applied}


def case(name, ids, e=None, p=None, dead=None, region=None, pid=None,
         expect=None, matched=None, error=None):
    c = {"case": name,
         "person": {"id": pid or idno(), "region": region, "household": None},
         "identities": ids, "deceased_on": dead, "enrollment": e,
         "payment": p}
    if expect is not None:
        c["expect"] = expect
    if matched is not None:
        c["matched"] = matched
    if error is not None:
        c["expect_error"] = error
    return c


def f(payer, fen, rule):
    return {"payer": payer, "fen": fen, "rule": rule}


def rec(status, fen=0, route=None):
    return {"status": status, "fen": fen, "route": route}


def ok(sub, due, funding, **kw):
    d = {"eligible": True, "subsidy_fen": sub, "individual_due_fen": due,
         "funding": funding, "reconciliation": rec("OK")}
    d.update(kw)
    return d


def write(name, cases):
    names = set()
    with open(os.path.join(HERE, name + ".jsonl"), "w") as out:
        for c in cases:
            assert c["case"] not in names, c["case"]
            names.add(c["case"])
            out.write(json.dumps(c, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- Tongnan
# tier 1 = 28000, tier 2 = 65500; window 2020-09-01 .. 2021-06-30; max.
TN = "500152101001"
TNR = "2020-10-10"
TNP = "2020-10-10T10:00:00"


def tn(name, ids, tier=1, applied=None, exp=None, matched=None, paid_at=TNP,
       region=TN, dead=None, enrolled=True, paid=True, error=None, pid=None):
    contrib = 28000 if tier == 1 else 65500
    e = enr(2021, tier, region, TNR) if enrolled else None
    p = pay(paid_at, contrib, applied or 0) if (enrolled and paid) else None
    return case(name, ids, e, p, dead=dead, region=region, expect=exp,
                matched=matched, error=error, pid=pid)


tongnan = [
    tn("tn-01", [ident("MCA.DIBAO")], applied=28000,
       exp=ok(28000, 0, [f("MCA", 28000, "TN-T1")], contribution_fen=28000,
              region=TN, settlement="annual", identity_day="2020-10-10"),
       matched=["TN-T1"]),
    tn("tn-02", [ident("MCA.DIBAO")], tier=2, applied=28000,
       exp=ok(28000, 37500, [f("MCA", 28000, "TN-T1")],
              contribution_fen=65500)),
    tn("tn-03", [ident("MVA.PRIORITY_CARE", {"old_demobilized": "true"})],
       tier=2, applied=65500,
       exp=ok(65500, 0, [f("MVA", 65500, "TN-T1v-old")]),
       matched=["TN-T1v-old", "TN-T1v"]),
    tn("tn-04", [ident("MVA.PRIORITY_CARE", {"old_demobilized": "true"})],
       applied=28000, exp=ok(28000, 0, [f("MVA", 28000, "TN-T1v")]),
       matched=["TN-T1v"]),
    tn("tn-05", [ident("MVA.PRIORITY_CARE", {"disabled_veteran_grade": "4"})],
       exp={"eligible": False, "subsidy_fen": 0, "funding": [],
            "individual_due_fen": 28000,
            "reconciliation": rec("NOT_ELIGIBLE")}, matched=[]),
    tn("tn-06", [ident("MVA.PRIORITY_CARE", {"disabled_veteran_grade": 8})],
       applied=28000, exp=ok(28000, 0, [f("MVA", 28000, "TN-T1v")])),
    tn("tn-07", [ident("DPF.DISABLED", {"level": "3"})], applied=28000,
       exp=ok(28000, 0, [f("DPF", 28000, "TN-T1d")])),
    tn("tn-08", [ident("NHC.FP_REWARD")], applied=22400,
       exp=ok(22400, 5600, [f("NHC", 22400, "TN-T2")])),
    tn("tn-09", [ident("NHC.FP_REWARD"), ident("RRB.EDGE")], applied=22400,
       exp=ok(22400, 5600, [f("NHC", 22400, "TN-T2")]),
       matched=["TN-T2", "TN-T4"]),
    tn("tn-10", [ident("MCA.LOW_INCOME", {"subgroup": "college_student"})],
       applied=19600, exp=ok(19600, 8400, [f("MCA", 19600, "TN-T3")])),
    tn("tn-11", [ident("MCA.LOW_INCOME", {"subgroup": "elderly60"})],
       exp={"eligible": False, "reconciliation": rec("NOT_ELIGIBLE")},
       matched=[]),
    tn("tn-12", [ident("RRB.POOR", {"lifted": "true",
                                    "benefits_enjoyed": "false"})],
       exp={"eligible": False, "reconciliation": rec("NOT_ELIGIBLE")},
       matched=[]),
    tn("tn-13", [ident("RRB.POOR", {"lifted": True,
                                    "benefits_enjoyed": True})],
       applied=19600, exp=ok(19600, 8400, [f("RRB", 19600, "TN-T4")])),
    # tie at 19600: T3 is listed before T4
    tn("tn-14", [ident("RRB.EDGE"), ident("MCA.OTHER_HARDSHIP")],
       applied=19600, exp=ok(19600, 8400, [f("MCA", 19600, "TN-T3")]),
       matched=["TN-T3", "TN-T4"]),
    # valid on the payment day, reported after it: refund through tax
    tn("tn-15", [ident("MCA.DIBAO", frm="2019-05-01",
                       rep="2020-11-01T09:00:00+08:00")], applied=0,
       exp={"eligible": True, "subsidy_fen": 28000, "individual_due_fen": 0,
            "reconciliation": {"status": "REFUND_DUE", "fen": 28000,
                               "route": "VIA_TAX",
                               "owed_by": [f("MCA", 28000, "TN-T1")]}}),
    # began after the payment: nothing for the year
    tn("tn-16", [ident("MCA.DIBAO", frm="2020-11-01")], applied=0,
       exp={"eligible": False, "subsidy_fen": 0,
            "reconciliation": rec("NOT_ELIGIBLE")}, matched=[]),
    tn("tn-17", [ident("MCA.DIBAO", action="REVOKE")], applied=28000,
       exp={"eligible": False, "subsidy_fen": 0, "individual_due_fen": 28000,
            "reconciliation": {"status": "RECOVERY_DUE", "fen": 28000,
                               "owed_by": [{"payer": "MCA", "fen": 28000}]}}),
    tn("tn-18", [ident("DPF.DISABLED", {"level": "2"}, to="2020-09-30")],
       applied=28000,
       exp={"eligible": False, "subsidy_fen": 0,
            "reconciliation": rec("UNFUNDED_SUBSIDY", 28000)}),
    tn("tn-19", [ident("MCA.DIBAO")], region="500153001001", applied=0,
       exp={"subsidy_fen": 0, "funding": [],
            "reconciliation": rec("ENROLLED_ELSEWHERE")}),
    tn("tn-20", [ident("MCA.DIBAO")], enrolled=False,
       exp={"eligible": True, "subsidy_fen": 0, "contribution_fen": 0,
            "reconciliation": rec("NOT_ENROLLED", 28000),
            "identity_day": "2021-06-30"}),
    tn("tn-21", [ident("MCA.DIBAO")], paid=False,
       exp={"eligible": True, "subsidy_fen": 28000,
            "reconciliation": rec("PENDING"), "settlement": None}),
    tn("tn-22", [ident("MCA.DIBAO")], paid=False, dead="2020-09-15",
       exp={"eligible": False, "subsidy_fen": 0,
            "reconciliation": rec("NOT_ELIGIBLE")}),
    tn("tn-23", [ident("MCA.DIBAO")], paid_at="2021-07-05T10:00:00",
       applied=0, exp={"eligible": False, "subsidy_fen": 0,
                       "reconciliation": rec("NOT_ELIGIBLE")}),
    tn("tn-24", [ident("NHC.FP_SPECIAL", {"relation": "child"})],
       applied=28000, exp=ok(28000, 0, [f("NHC", 28000, "TN-T1f")])),
    tn("tn-25", [ident("MCA.FOO")], error="identities[0].category"),
    tn("tn-26", [ident("MCA.DIBAO")], pid="500228199001011234",
       error="person.id"),
    tn("tn-27", [ident("MCA.DIBAO", frm="2020-01-01", to="2020-12-31")],
       applied=28000, exp=ok(28000, 0, [f("MCA", 28000, "TN-T1")])),
    tn("tn-28", [ident("NHC.FP_REWARD")], tier=2, applied=22400,
       exp=ok(22400, 43100, [f("NHC", 22400, "TN-T2")])),
    # issue 15: a record without an attribute its category requires
    # (DPF.DISABLED level) is an error naming the attribute, never a 0
    tn("tn-29", [ident("DPF.DISABLED")], applied=28000,
       error="identities[0].attrs.level: missing"),
    tn("tn-30", [ident("MCA.DIBAO"), ident("RRB.POOR",
                                           {"benefits_enjoyed": "true"})],
       applied=28000, error="identities[1].attrs.lifted: missing"),
    # TN-T1f pays self and child alike: relation is not needed
    tn("tn-31", [ident("NHC.FP_SPECIAL", {"relation": "self"})],
       applied=28000, exp=ok(28000, 0, [f("NHC", 28000, "TN-T1f")])),
    # decision: the death day still counts, inclusive like valid_to
    tn("tn-32", [ident("MCA.DIBAO")], dead="2020-10-10", applied=28000,
       exp=ok(28000, 0, [f("MCA", 28000, "TN-T1")])),
    tn("tn-33", [ident("MCA.DIBAO")], dead="2020-10-09", applied=0,
       exp={"eligible": False, "subsidy_fen": 0,
            "reconciliation": rec("NOT_ELIGIBLE")}),
    # decision: living outside, not enrolled, no approving region inside:
    # NOT_ELIGIBLE with fen 0, though a rule matched
    tn("tn-34", [ident("MCA.DIBAO")], region="500153001001", enrolled=False,
       exp={"eligible": True, "subsidy_fen": 0,
            "reconciliation": rec("NOT_ELIGIBLE", 0)}, matched=["TN-T1"]),
    tn("tn-35", [ident("MCA.DIBAO", appr="500152")], region="500153001001",
       enrolled=False,
       exp={"eligible": True, "reconciliation": rec("NOT_ENROLLED", 28000)}),
    # decision: ENROLLED_ELSEWHERE reports what tax applied, the
    # enrollment's region, no funding, no period
    tn("tn-36", [ident("MCA.DIBAO")], region="500153001001", tier=2,
       applied=28000,
       exp={"eligible": True, "contribution_fen": 0, "subsidy_fen": 0,
            "individual_due_fen": 0, "funding": [], "region": "500153001001",
            "settlement": None,
            "reconciliation": rec("ENROLLED_ELSEWHERE", 28000)}),
]
# The reproducer S1 of issue 15, verbatim: NHC.FP_SPECIAL without relation
# gave 0 while TN-T1f listed relation [self, child].
tongnan.append(dict(json.loads(
    '{"case":"S1","person":{"id":"500152197001010019","region":"500152101001"},'
    '"identities":[{"category":"NHC.FP_SPECIAL","attrs":{},'
    '"valid_from":"2015-01-01"}],"enrollment":{"year":2021,"tier":1,'
    '"class":"adult","registered_on":"2020-10-01","region":"500152101001"},'
    '"payment":{"paid_at":"2020-10-01T10:00:00+08:00",'
    '"contribution_fen":28000,"subsidy_applied_fen":28000,"paid_fen":0}}'),
    expect=ok(28000, 0, [{"payer": "NHC", "fund": "FIN", "fen": 28000,
                          "rule": "TN-T1f"}]),
    matched=["TN-T1f"]))
write("tongnan-2021", tongnan)

# -------------------------------------------------------------- Panzhihua
# tier 1 = 35000, tier 2 = 60000; priority; cutoff 2021-08-31; deaths on or
# before 2021-12-31 remove; window 2021-09-01 .. 2022-06-30; county region.
PZ = "510402001001"
PZR = "2021-09-20"
PZP = "2021-09-20T10:00:00"


def pz(name, ids, tier=1, applied=None, exp=None, matched=None, cls="adult",
       region=PZ, dead=None, enrolled=True, paid=True, error=None):
    contrib = 35000 if tier == 1 else 60000
    e = enr(2022, tier, region, PZR, cls) if enrolled else None
    p = pay(PZP, contrib, applied or 0) if (enrolled and paid) else None
    return case(name, ids, e, p, dead=dead, region=region, expect=exp,
                matched=matched, error=error)


panzhihua = [
    pz("pz-01", [ident("DPF.DISABLED", {"level": "1"})], cls="student_child",
       applied=35000,
       exp=ok(35000, 0, [{"payer": "FIN", "fund": "FIN", "fen": 35000,
                          "rule": "PZ-P-sev-stu"}], region="510402",
              identity_day="2021-08-31", settlement="annual"),
       matched=["PZ-P-sev-stu", "PZ-P-sev"]),
    pz("pz-02", [ident("DPF.DISABLED", {"level": "2"})], tier=2,
       applied=60000, exp=ok(60000, 0, [f("FIN", 60000, "PZ-P-sev")])),
    # full tier 2 capped at the enrolled tier-1 contribution
    pz("pz-03", [ident("DPF.DISABLED", {"level": "1"})], applied=35000,
       exp=ok(35000, 0, [f("FIN", 35000, "PZ-P-sev")])),
    pz("pz-04", [ident("MCA.TEKUN"), ident("DPF.DISABLED", {"level": "1"})],
       applied=35000, exp=ok(35000, 0, [f("FIN", 35000, "PZ-P-sev")]),
       matched=["PZ-P-sev", "PZ-P-tekun"]),
    pz("pz-05", [ident("DPF.DISABLED", {"level": "3"}), ident("MCA.TEKUN")],
       applied=35000, exp=ok(35000, 0, [f("MAF", 35000, "PZ-P-tekun")]),
       matched=["PZ-P-tekun", "PZ-P-gen"]),
    pz("pz-06", [ident("MCA.DIBAO"), ident("DPF.DISABLED", {"level": "4"})],
       applied=35000, exp=ok(35000, 0, [f("FIN", 35000, "PZ-P-gen")]),
       matched=["PZ-P-gen", "PZ-P-dibao"]),
    pz("pz-07", [ident("MCA.DIBAO")], applied=26250,
       exp=ok(26250, 8750, [f("MAF", 26250, "PZ-P-dibao")])),
    pz("pz-08", [ident("RRB.MONITORED", {"kind": "edge"}),
                 ident("MCA.DIBAO")], applied=26250,
       exp=ok(26250, 8750, [f("MAF", 26250, "PZ-P-dibao")]),
       matched=["PZ-P-dibao", "PZ-P-rrb"]),
    pz("pz-09", [ident("RRB.STABLE_LIFTED")], tier=2, applied=26250,
       exp=ok(26250, 33750, [f("MAF", 26250, "PZ-P-rrb")])),
    # recognized after the cutoff
    pz("pz-10", [ident("MCA.DIBAO", frm="2021-09-05")], applied=0,
       exp={"eligible": False, "reconciliation": rec("NOT_ELIGIBLE")},
       matched=[]),
    # valid on the cutoff, ended later: still on the list
    pz("pz-11", [ident("MCA.DIBAO", to="2021-09-10")], applied=26250,
       exp=ok(26250, 8750, [f("MAF", 26250, "PZ-P-dibao")])),
    pz("pz-12", [ident("MCA.DIBAO")], dead="2021-11-20", paid=False,
       exp={"eligible": False, "subsidy_fen": 0,
            "reconciliation": rec("NOT_ELIGIBLE")}),
    pz("pz-13", [ident("MCA.DIBAO")], dead="2022-01-10", applied=26250,
       exp=ok(26250, 8750, [f("MAF", 26250, "PZ-P-dibao")])),
    # recognized before the cutoff, the flag reached tax after the payment
    pz("pz-14", [ident("MCA.DIBAO", frm="2021-06-01",
                       rep="2021-10-01T08:00:00+08:00")], applied=0,
       exp={"subsidy_fen": 26250, "individual_due_fen": 8750,
            "reconciliation": {"status": "REFUND_DUE", "fen": 26250,
                               "route": "VIA_TAX",
                               "owed_by": [f("MAF", 26250, "PZ-P-dibao")]}}),
    pz("pz-15", [ident("MCA.DIBAO")], region="510102001001", applied=0,
       exp={"subsidy_fen": 0, "reconciliation": rec("ENROLLED_ELSEWHERE")}),
    pz("pz-16", [ident("DPF.DISABLED", {"level": "1"})], tier=2,
       cls="college", applied=35000,
       exp=ok(35000, 25000, [f("FIN", 35000, "PZ-P-sev-stu")])),
    pz("pz-17", [ident("MCA.DIBAO", action="REVOKE")], applied=26250,
       exp={"subsidy_fen": 0,
            "reconciliation": {"status": "RECOVERY_DUE", "fen": 26250,
                               "owed_by": [{"payer": "MCA", "fen": 26250}]}}),
    pz("pz-18", [ident("RRB.MONITORED", {"kind": "sudden_hardship"})],
       applied=26250, exp=ok(26250, 8750, [f("MAF", 26250, "PZ-P-rrb")])),
    pz("pz-19", [ident("DPF.DISABLED", {"level": "4"})], paid=False,
       exp={"subsidy_fen": 35000, "reconciliation": rec("PENDING")}),
    pz("pz-20", [ident("MCA.TEKUN")], enrolled=False,
       exp={"eligible": True, "reconciliation": rec("NOT_ENROLLED", 35000),
            "region": "510402"}),
    pz("pz-21", [ident("DPF.DISABLED", {"level": "7"})],
       error="identities[0].attrs.level"),
]
panzhihua += [
    # decision: ENROLLED_ELSEWHERE reports what tax applied and the
    # county (first 6 digits) of the enrollment region
    pz("pz-22", [ident("MCA.TEKUN")], region="510502001001", applied=35000,
       exp={"eligible": True, "subsidy_fen": 0, "funding": [],
            "region": "510502", "settlement": None,
            "reconciliation": rec("ENROLLED_ELSEWHERE", 35000)}),
    # decision: a death on 2021-12-31 itself removes the person
    pz("pz-23", [ident("MCA.TEKUN")], dead="2021-12-31", applied=0,
       exp={"eligible": False, "reconciliation": rec("NOT_ELIGIBLE")}),
    pz("pz-24", [ident("MCA.TEKUN")], dead="2022-01-01", applied=35000,
       exp=ok(35000, 0, [f("MAF", 35000, "PZ-P-tekun")])),
]
write("panzhihua-2022", panzhihua)

# ---------------------------------------------------------------- Huilong
# tier 1 = 25000, tier 2 = 62500; topup MAF -> NHC -> RRB;
# window 2019-10-01 .. 2019-12-10.
HL = "500155107003"
HLR = "2019-10-15"
HLP = "2019-10-15T10:00:00"
AFTER = "2019-11-02T09:30:00+08:00"  # reported after the payment


def hl(name, ids, tier=1, applied=None, exp=None, matched=None, region=HL,
       enrolled=True, paid=True, paid_at=HLP, error=None):
    contrib = 25000 if tier == 1 else 62500
    e = enr(2020, tier, region, HLR) if enrolled else None
    p = pay(paid_at, contrib, applied or 0) if (enrolled and paid) else None
    return case(name, ids, e, p, region=region, expect=exp, matched=matched,
                error=error)


worked = [
    # 四(一)3, last paragraph, and POLICIES.md section 3
    hl("hl-w1", [ident("DPF.DISABLED", {"level": "1"}),
                 ident("NHC.FP_SPECIAL", {"relation": "self"})],
       applied=25000,
       exp=ok(25000, 0, [{"payer": "MAF", "fund": "MAF", "fen": 17500,
                          "rule": "HL-MA-OTHER"},
                         {"payer": "NHC", "fund": "NHC", "fen": 7500,
                          "rule": "HL-FP"}])),
    hl("hl-w2", [ident("DPF.DISABLED", {"level": "1"}),
                 ident("RRB.POOR", {"lifted": "false"})], applied=25000,
       exp=ok(25000, 0, [f("MAF", 17500, "HL-MA-OTHER"),
                         f("RRB", 7500, "HL-POOR")])),
    hl("hl-w3", [ident("DPF.DISABLED", {"level": "1"}),
                 ident("RRB.POOR", {"lifted": "true"})], applied=17500,
       exp=ok(17500, 7500, [f("MAF", 17500, "HL-MA-OTHER")]),
       matched=["HL-MA-OTHER", "HL-POOR-LIFTED"]),
    hl("hl-w4", [ident("RRB.POOR", {"lifted": "true"})], tier=2,
       applied=12500,
       exp=ok(12500, 50000, [f("RRB", 12500, "HL-POOR-LIFTED")],
              contribution_fen=62500)),
    hl("hl-w5", [ident("MCA.DIBAO")], tier=2, applied=25000,
       exp=ok(25000, 37500, [f("MAF", 25000, "HL-MA-BASIC")])),
]

huilong = [
    hl("hl-01", [ident("MCA.TEKUN")], applied=25000,
       exp=ok(25000, 0, [f("MAF", 25000, "HL-MA-BASIC")], region=HL,
              settlement="annual")),
    hl("hl-02", [ident("MCA.ORPHAN")], tier=2, applied=25000,
       exp=ok(25000, 37500, [f("MAF", 25000, "HL-MA-BASIC")])),
    hl("hl-03", [ident("MVA.PRIORITY_CARE", {"disabled_veteran_grade": "3"}),
                 ident("NHC.FP_REWARD")], applied=25000,
       exp=ok(25000, 0, [f("NHC", 25000, "HL-FP")]), matched=["HL-FP"]),
    hl("hl-04", [ident("MVA.PRIORITY_CARE")], tier=2, applied=25000,
       exp=ok(25000, 37500, [f("MAF", 25000, "HL-MA-OTHER")])),
    hl("hl-05", [ident("MCA.OTHER_HARDSHIP"),
                 ident("NHC.FP_COMPLICATION"),
                 ident("RRB.POOR", {"lifted": "false"})], applied=25000,
       exp=ok(25000, 0, [f("MAF", 17500, "HL-MA-OTHER"),
                         f("NHC", 7500, "HL-FP")]),
       matched=["HL-MA-OTHER", "HL-FP", "HL-POOR"]),
    hl("hl-06", [ident("DPF.DISABLED", {"level": "3"})],
       exp={"eligible": False, "subsidy_fen": 0,
            "reconciliation": rec("NOT_ELIGIBLE")}, matched=[]),
    hl("hl-07", [ident("MCA.ILLNESS_POVERTY"), ident("NHC.FP_REWARD")],
       tier=2, applied=25000,
       exp=ok(25000, 37500, [f("MAF", 25000, "HL-MA-OTHER")]),
       matched=["HL-MA-OTHER", "HL-FP"]),
    hl("hl-08", [ident("NHC.FP_ONLY_CHILD_DISABLED", {"relation": "child"})],
       tier=2, applied=25000,
       exp=ok(25000, 37500, [f("NHC", 25000, "HL-FP")])),
    # issue 15: without "lifted" neither HL-POOR nor HL-POOR-LIFTED can
    # decide: an error naming the attribute, not NOT_ELIGIBLE
    hl("hl-09", [ident("RRB.POOR")],
       error="identities[0].attrs.lifted: missing"),
    hl("hl-10", [ident("MCA.DIBAO"), ident("NHC.FP_SPECIAL",
                                           {"relation": "child"})],
       applied=25000, exp=ok(25000, 0, [f("MAF", 25000, "HL-MA-BASIC")]),
       matched=["HL-MA-BASIC", "HL-FP"]),
    hl("hl-11", [ident("RRB.POOR", {"lifted": "false"})], applied=25000,
       exp=ok(25000, 0, [f("RRB", 25000, "HL-POOR")])),
    hl("hl-12", [ident("DPF.DISABLED", {"level": "2"}, rep=AFTER)],
       applied=0,
       exp={"subsidy_fen": 17500, "individual_due_fen": 7500,
            "reconciliation": {"status": "REFUND_DUE", "fen": 17500,
                               "route": "VIA_TAX",
                               "owed_by": [f("MAF", 17500, "HL-MA-OTHER")]}}),
    hl("hl-13", [ident("MCA.DIBAO")], region="500155108001", applied=0,
       exp={"subsidy_fen": 0, "reconciliation": rec("ENROLLED_ELSEWHERE")}),
    hl("hl-14", [ident("MCA.DIBAO")], paid_at="2019-12-20T10:00:00",
       applied=0, exp={"eligible": False, "subsidy_fen": 0,
                       "reconciliation": rec("NOT_ELIGIBLE")}),
    hl("hl-15", [ident("MCA.DIBAO", action="REVOKE")], applied=25000,
       exp={"subsidy_fen": 0,
            "reconciliation": {"status": "RECOVERY_DUE", "fen": 25000,
                               "owed_by": [{"payer": "MCA", "fen": 25000,
                                            "rule": "HL-MA-BASIC"}]}}),
    # revoked DIBAO paid 25000; the valid level-1 disability pays 17500
    hl("hl-16", [ident("MCA.DIBAO", action="REVOKE"),
                 ident("DPF.DISABLED", {"level": "1"})], applied=25000,
       exp={"subsidy_fen": 17500,
            "funding": [f("MAF", 17500, "HL-MA-OTHER")],
            "reconciliation": {"status": "RECOVERY_DUE", "fen": 7500,
                               "owed_by": [{"payer": "MCA", "fen": 7500}]}}),
    hl("hl-17", [ident("RRB.POOR", {"lifted": "true"})], enrolled=False,
       region="500155107002",
       exp={"eligible": True, "subsidy_fen": 0,
            "reconciliation": rec("NOT_ENROLLED", 12500)}),
    hl("hl-18", [ident("NHC.FP_SPECIAL", {"relation": "self"})], tier=2,
       paid=False,
       exp={"subsidy_fen": 25000, "individual_due_fen": 37500,
            "reconciliation": rec("PENDING")}),
    # issue 15: self and child are subsidized alike, so a record without
    # relation is paid too (it was NOT_ELIGIBLE while HL-FP listed both)
    hl("hl-19", [ident("NHC.FP_SPECIAL")], applied=25000,
       exp=ok(25000, 0, [f("NHC", 25000, "HL-FP")]), matched=["HL-FP"]),
    hl("hl-20", [ident("DPF.DISABLED", {"level": "1"}),
                 ident("RRB.POOR", {"lifted": "false"}, rep=AFTER)],
       applied=17500,
       exp={"subsidy_fen": 25000,
            "reconciliation": {"status": "REFUND_DUE", "fen": 7500,
                               "route": "VIA_TAX",
                               "owed_by": [f("RRB", 7500, "HL-POOR")]}}),
]
write("huilong-2020-worked", worked)
write("huilong-2020", huilong)

# ------------------------------------------------------------------ Yubei
# tier 1 = 15000, tier 2 = 35000 (ASSUMED); max; refunds to the person;
# window 2016-09-01 .. 2017-06-30.
YB = "500112001001"


def yb(name, ids, tier=1, applied=None, exp=None, matched=None, cls="adult",
       reg="2016-10-10", paid_at="2016-10-10T10:00:00", region=YB,
       enrolled=True, paid=True, dead=None, error=None):
    contrib = 15000 if tier == 1 else 35000
    e = enr(2017, tier, region, reg, cls) if enrolled else None
    p = pay(paid_at, contrib, applied or 0) if (enrolled and paid) else None
    return case(name, ids, e, p, dead=dead, region=region, expect=exp,
                matched=matched, error=error)


yubei = [
    yb("yb-01", [ident("MCA.DIBAO")], applied=15000,
       exp=ok(15000, 0, [{"payer": "MCA", "fund": "FIN", "fen": 15000,
                          "rule": "YB-BASIC"}], settlement="january")),
    yb("yb-02", [ident("DPF.DISABLED", {"level": "1"})], applied=10500,
       exp=ok(10500, 4500, [f("MCA", 10500, "YB-OTHER")])),
    yb("yb-03", [ident("DPF.DISABLED", {"level": "1"})], cls="college",
       applied=15000, exp=ok(15000, 0, [f("MCA", 15000, "YB-COLLEGE")]),
       matched=["YB-COLLEGE", "YB-OTHER"]),
    yb("yb-04", [ident("EDU.GRANT_STUDENT")],
       exp={"eligible": False, "reconciliation": rec("NOT_ELIGIBLE")},
       matched=[]),
    yb("yb-05", [ident("EDU.GRANT_STUDENT")], cls="college", applied=15000,
       exp=ok(15000, 0, [f("MCA", 15000, "YB-COLLEGE")])),
    # tie at 15000: YB-BASIC is listed first
    yb("yb-06", [ident("MCA.DIBAO")], cls="college", applied=15000,
       exp=ok(15000, 0, [f("MCA", 15000, "YB-BASIC")]),
       matched=["YB-BASIC", "YB-COLLEGE"]),
    # paid in full before the flag: refunded to the person, in July
    yb("yb-07", [ident("MCA.DIBAO", frm="2016-01-01",
                       rep="2016-11-01T08:00:00+08:00")], applied=0,
       exp={"subsidy_fen": 15000, "settlement": "july",
            "reconciliation": {"status": "REFUND_DUE", "fen": 15000,
                               "route": "TO_PERSON"}}),
    # the identity began after the payment, inside the window
    yb("yb-08", [ident("MCA.DIBAO", frm="2017-03-01")], applied=0,
       exp={"subsidy_fen": 15000, "settlement": "july",
            "reconciliation": rec("REFUND_DUE", 15000, "TO_PERSON")}),
    # began after the window (and after 1 July): next year's
    yb("yb-09", [ident("MCA.DIBAO", frm="2017-07-05")], applied=0,
       exp={"eligible": False, "subsidy_fen": 0,
            "reconciliation": rec("NOT_ELIGIBLE")}),
    yb("yb-10", [ident("MVA.PRIORITY_CARE", {"disabled_veteran_grade": "7"}),
                 ident("MVA.PRIORITY_CARE", {"disabled_veteran_grade": "2"})],
       applied=10500, exp=ok(10500, 4500, [f("MCA", 10500, "YB-OTHER")])),
    yb("yb-11", [ident("MCA.TEKUN")], reg="2017-03-15",
       paid_at="2017-03-15T09:00:00", applied=15000,
       exp=ok(15000, 0, [f("MCA", 15000, "YB-BASIC")], settlement="july")),
    yb("yb-12", [ident("MCA.DIBAO", frm="2017-07-01")], enrolled=False,
       exp={"eligible": False, "reconciliation": rec("NOT_ELIGIBLE")}),
    yb("yb-13", [ident("MCA.DIBAO")], region="500105001001", applied=0,
       exp={"subsidy_fen": 0, "reconciliation": rec("ENROLLED_ELSEWHERE")}),
    yb("yb-14", [ident("MCA.TEKUN", action="REVOKE")], applied=15000,
       exp={"subsidy_fen": 0,
            "reconciliation": {"status": "RECOVERY_DUE", "fen": 15000,
                               "owed_by": [{"payer": "MCA", "fen": 15000}]}}),
    yb("yb-15", [ident("MCA.DIBAO")], tier=2, applied=15000,
       exp=ok(15000, 20000, [f("MCA", 15000, "YB-BASIC")])),
    # the person died before the identity began
    yb("yb-16", [ident("MCA.DIBAO", frm="2016-11-01")], dead="2016-10-20",
       applied=0, exp={"eligible": False, "subsidy_fen": 0,
                       "reconciliation": rec("NOT_ELIGIBLE")}),
    yb("yb-17", [], applied=15000,
       exp={"eligible": False, "subsidy_fen": 0,
            "reconciliation": rec("UNFUNDED_SUBSIDY", 15000)}),
    yb("yb-18", [ident("MCA.DIBAO", attrs={"level": "1"})],
       error="identities[0].attrs.level"),
]
write("yubei-2017", yubei)

# ---------------------------------------------------------------- Shantou
# one tier of 32000 (ASSUMED); max with WLF rules first; status fixed at
# registration; allocation region = approving region;
# window 2020-09-01 .. 2021-11-30.
SH = "440507001001"
SHA = "440507"


def sh(name, ids, applied=None, exp=None, matched=None, reg="2020-09-15",
       paid_at="2020-09-15T10:00:00", region=SH, kind="ANNUAL",
       enrolled=True, paid=True, tier=1, error=None):
    e = enr(2021, tier, region, reg, "adult", kind) if enrolled else None
    p = pay(paid_at, 32000, applied or 0) if (enrolled and paid) else None
    return case(name, ids, e, p, region=region, expect=exp, matched=matched,
                error=error)


def si(cat, attrs=None, **kw):
    kw.setdefault("appr", SHA)
    return ident(cat, attrs, **kw)


shantou = [
    sh("sh-01", [si("MCA.DIBAO")], applied=32000,
       exp=ok(32000, 0, [{"payer": "MAF", "fund": "MAF", "fen": 32000,
                          "rule": "SH-DIBAO"}], region=SHA, settlement="H1",
              identity_day="2020-09-15")),
    sh("sh-02", [si("MCA.TEKUN", {"supported": "institution",
                                  "institution_level": "city"})],
       applied=32000,
       exp=ok(32000, 0, [{"payer": "WLF", "fund": "WLF", "fen": 32000,
                          "rule": "SH-WLF-INST"}])),
    sh("sh-03", [si("MCA.DIBAO"),
                 si("MCA.TEKUN", {"supported": "institution",
                                  "institution_level": "city"})],
       applied=32000, exp=ok(32000, 0, [f("WLF", 32000, "SH-WLF-INST")]),
       matched=["SH-WLF-INST", "SH-DIBAO", "SH-TEKUN"]),
    sh("sh-04", [si("MCA.TEKUN", {"supported": "dispersed"})], applied=32000,
       exp=ok(32000, 0, [f("MAF", 32000, "SH-TEKUN")])),
    sh("sh-05", [si("MCA.TEKUN", {"supported": "institution",
                                  "institution_level": "district"})],
       applied=32000, exp=ok(32000, 0, [f("MAF", 32000, "SH-TEKUN")])),
    sh("sh-06", [si("MCA.VAGRANT_SETTLED", {"institution_level": "city"})],
       applied=32000, exp=ok(32000, 0, [f("WLF", 32000, "SH-WLF-VAGRANT")])),
    sh("sh-07", [si("MCA.LOW_INCOME", {"subgroup": "college_student"})],
       exp={"eligible": False, "reconciliation": rec("NOT_ELIGIBLE")},
       matched=[]),
    sh("sh-08", [si("DPF.DISABLED", {"level": "3"})],
       exp={"eligible": False, "reconciliation": rec("NOT_ELIGIBLE")},
       matched=[]),
    # lost after registration: not recovered
    sh("sh-09", [si("MCA.DIBAO", to="2020-10-01")],
       paid_at="2020-10-20T10:00:00", applied=32000,
       exp=ok(32000, 0, [f("MAF", 32000, "SH-DIBAO")])),
    # gained after registration and payment: no retroactive subsidy
    sh("sh-10", [si("MCA.DIBAO", frm="2020-10-01")], applied=0,
       exp={"eligible": False, "subsidy_fen": 0,
            "reconciliation": rec("NOT_ELIGIBLE")}),
    sh("sh-11", [si("MCA.DIBAO", action="REVOKE")], applied=32000,
       exp={"subsidy_fen": 0,
            "reconciliation": {"status": "RECOVERY_DUE", "fen": 32000,
                               "owed_by": [{"payer": "MCA", "fen": 32000}]}}),
    # responsibility follows the approving district, not residence
    sh("sh-12", [si("MCA.DIBAO", appr="440513")], region="440511001001",
       applied=32000,
       exp=ok(32000, 0, [f("MAF", 32000, "SH-DIBAO")], region="440513")),
    sh("sh-13", [si("MCA.DIBAO")], kind="MID_YEAR", reg="2021-03-10",
       paid_at="2021-03-10T10:00:00", applied=32000,
       exp=ok(32000, 0, [f("MAF", 32000, "SH-DIBAO")], settlement="H1")),
    sh("sh-14", [si("MCA.DIBAO")], kind="MID_YEAR", reg="2021-07-10",
       paid_at="2021-07-10T10:00:00", applied=32000,
       exp=ok(32000, 0, [f("MAF", 32000, "SH-DIBAO")], settlement="H2")),
    sh("sh-15", [si("MCA.DIBAO")], enrolled=False,
       exp={"eligible": True, "region": SHA,
            "reconciliation": rec("NOT_ENROLLED", 32000)}),
    sh("sh-16", [si("MCA.DIBAO")], region="440307001001", applied=0,
       exp={"subsidy_fen": 0, "reconciliation": rec("ENROLLED_ELSEWHERE")}),
    sh("sh-17", [si("MCA.DIBAO", rep="2020-09-20T08:00:00+08:00")],
       applied=0,
       exp={"subsidy_fen": 32000,
            "reconciliation": {"status": "REFUND_DUE", "fen": 32000,
                               "route": "VIA_TAX",
                               "owed_by": [f("MAF", 32000, "SH-DIBAO")]}}),
    sh("sh-18", [si("MCA.ORPHAN", {"supported": "institution",
                                   "institution_level": "town"})],
       applied=32000, exp=ok(32000, 0, [f("MAF", 32000, "SH-ORPHAN")])),
    sh("sh-19", [si("RRB.POOR", {"lifted": "true"})], applied=32000,
       exp=ok(32000, 0, [f("MAF", 32000, "SH-POOR")])),
    # issue 15: a TEKUN record without "supported" is paid in full by MAF
    # (dispersed and district institutions are paid alike), not dropped
    sh("sh-20", [si("MCA.TEKUN")], applied=32000,
       exp=ok(32000, 0, [f("MAF", 32000, "SH-TEKUN")]),
       matched=["SH-TEKUN"]),
    sh("sh-21", [si("MCA.DIBAO")], tier=2, error="enrollment.tier"),
    # institution of unknown level: not the city's, so MAF
    sh("sh-22", [si("MCA.TEKUN", {"supported": "institution"})],
       applied=32000, exp=ok(32000, 0, [f("MAF", 32000, "SH-TEKUN")])),
    sh("sh-23", [si("MCA.VAGRANT_SETTLED", {"institution_level": "district"})],
       applied=32000, exp=ok(32000, 0, [f("MAF", 32000, "SH-VAGRANT")]),
       matched=["SH-VAGRANT"]),
]
shantou += [
    sh("sh-24", [si("MCA.ORPHAN")], applied=32000,
       exp=ok(32000, 0, [f("MAF", 32000, "SH-ORPHAN")])),
    sh("sh-25", [si("DPF.DISABLED")], applied=32000,
       error="identities[0].attrs.level: missing"),
    # decision: ENROLLED_ELSEWHERE reports the approving region of the
    # identity whose rule would have paid (谁审批谁负责)
    sh("sh-26", [si("MCA.DIBAO")], region="440307001001", applied=32000,
       exp={"eligible": True, "subsidy_fen": 0, "funding": [],
            "region": SHA, "settlement": None,
            "reconciliation": rec("ENROLLED_ELSEWHERE", 32000)}),
    # decision: the death day counts (status fixed on registration)
    sh("sh-27", [si("MCA.DIBAO")], applied=32000,
       exp=ok(32000, 0, [f("MAF", 32000, "SH-DIBAO")])),
]
shantou[-1]["deceased_on"] = "2020-09-15"
# The reproducer S2 of issue 15, verbatim: MCA.TEKUN without attributes
# gave 0 while every TEKUN rule read "supported".
shantou.append(dict(json.loads(
    '{"case":"S2","person":{"id":"440507197001010012",'
    '"region":"440507001001"},"identities":[{"category":"MCA.TEKUN",'
    '"attrs":{},"valid_from":"2015-01-01"}],"enrollment":{"year":2021,'
    '"tier":1,"class":"adult","registered_on":"2020-10-10",'
    '"region":"440507001001"},"payment":{"paid_at":'
    '"2020-10-10T10:00:00+08:00","contribution_fen":32000,'
    '"subsidy_applied_fen":32000,"paid_fen":0}}'),
    expect=ok(32000, 0, [{"payer": "MAF", "fund": "MAF", "fen": 32000,
                          "rule": "SH-TEKUN"}]),
    matched=["SH-TEKUN"]))
write("shantou-2021", shantou)
