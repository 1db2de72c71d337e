"""Claim-verifier evaluation on perturbed sentences of real drafted reports.

Drafts come from the real backends on real shared data (vessels2d on DRIVE test images, quality on
chest X-rays clean and degraded, vessels3d on the VMTK aorta, evidence on a constructed video of
real Kvasir frames, HU statistics of box ROIs on the Philips head CT). Every sentence is perturbed
once per kind (number, unit, laterality, negation) per seed; the verifier must call the perturbed
sentence unsupported. False alarms: unperturbed drafted sentences called unsupported, the same facts
rewritten (a number at coarser precision, mm<->cm, s<->ms) called unsupported, and sentences
of the 8 real chest X-ray reports (no evidence linked) called unsupported instead of unverifiable.

Seeds 0-4 are the development split (look at them while changing the verifier), seeds 5-9 the
report split (quote them). Results are cached under --work.

    python benchmarks/eval_report_verifier.py [--work DIR] [--split dev|report|both] [--quick]
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.report.model import Report, Sentence
from app.report.verify import verify_sentence
from benchmarks.report_perturbations import EXTRA_KINDS, KINDS, REWRITES, perturb, rewrite

DEV_SEEDS = tuple(range(5))
REPORT_SEEDS = tuple(range(5, 10))
CT_ROIS = ("lateral_left=20,90,760,40,110,770", "lateral_right=-40,90,760,-20,110,770",
           "anterior=-10,20,740,10,40,750", "posterior_left=30,180,790,50,200,800")


def _data() -> Path:
    import os
    return Path(os.environ.get("LOUPE_DATA", ROOT.parent / "shared" / "data")).resolve()


def _infer(backend: str, inp: Path, out: Path, *params: str) -> Path:
    if not (out / "result.json").is_file():
        cmd = [sys.executable, str(ROOT / "run_app.py"), "infer", backend, str(inp), "-o", str(out), "-q"]
        for p in params:
            cmd += ["-p", p]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
        if r.returncode:
            raise RuntimeError(f"infer {backend} {inp}: {r.stderr[-800:]}")
    return out


def build_cases(work: Path, quick: bool = False) -> list[tuple[Path, list[Path], list[str]]]:
    """(case, result folders, ROIs) for every drafted report, running the backends once."""
    data, work = _data(), Path(work)
    work.mkdir(parents=True, exist_ok=True)
    cases = []
    drive = ["01"] if quick else ["01", "02", "03", "04"]
    for n in drive:
        img = data / "retina/DRIVE/test/images" / f"{n}_test.tif"
        cases.append((img, [_infer("vessels2d", img, work / f"v2d_{n}")], []))
    cxr = data / "xray_iqa/cxr/00000001_000.png"
    cases.append((cxr, [_infer("quality", cxr, work / "q_clean")], []))
    for kind in (("gaussian_noise",) if quick else ("gaussian_noise", "gaussian_blur", "contrast")):
        deg = _infer("degrade", cxr, work / f"deg_{kind}", f"type={kind}", "severity=2")
        png = sorted(p for p in deg.glob("*.png"))[0]
        cases.append((png, [_infer("quality", png, work / f"q_{kind}")], []))
    aorta = data / "vessel3d/vmtk_aorta/aorta.mha"
    cases.append((aorta, [_infer("vessels3d", aorta, work / "v3d")], []))
    video = work / "two_events.mp4"
    if not video.is_file():
        from benchmarks.build_evidence_videos import build_scripted
        build_scripted(video, data, [("filler", 120), ("event", 8, 0), ("filler", 120), ("event", 7, 4),
                                     ("filler", 90)], fps=3.0, seed=1)
    cases.append((video, [_infer("evidence", video, work / "ev", "max_kept_fraction=0.2")], []))
    cases.append((data / "dicom/dcm_qa_ct_philips_head_140", [], list(CT_ROIS)))
    return cases


def draft_all(cases) -> list[Report]:
    from app.report.draft import draft_report
    from app.report.draft.ct_roi import BoxRoi
    return [draft_report(case, dirs, [BoxRoi.parse(r) for r in rois]) for case, dirs, rois in cases]


def _concepts(s: Sentence) -> list[str]:
    return [e.label for e in s.evidence if e.kind == "finding" and isinstance(e.value, bool)]


def evaluate(reports: list[Report], seeds) -> dict:
    per_kind = {k: {"n": 0, "caught": 0, "missed": []} for k in KINDS + EXTRA_KINDS}
    sentences = [s for r in reports for s in r.sentences]
    clean = [verify_sentence(s) for s in sentences]
    for seed in seeds:
        for n, s in enumerate(sentences):
            for kind in KINDS + EXTRA_KINDS:
                rng = random.Random(f"{seed}:{n}:{kind}")
                t = perturb(kind, s.text, rng, _concepts(s))
                if t is None or t == s.text:
                    continue
                per_kind[kind]["n"] += 1
                if verify_sentence(Sentence(s.id, t, s.evidence)).status == "unsupported":
                    per_kind[kind]["caught"] += 1
                else:
                    per_kind[kind]["missed"].append(t)
    legit = {k: {"n": 0, "flagged": 0, "examples": []} for k in REWRITES}
    for seed in seeds:
        for n, s in enumerate(sentences):
            for kind in REWRITES:
                t = rewrite(kind, s.text, random.Random(f"{seed}:{n}:{kind}"))
                if t is None or t == s.text:
                    continue
                legit[kind]["n"] += 1
                if verify_sentence(Sentence(s.id, t, s.evidence)).status == "unsupported":
                    legit[kind]["flagged"] += 1
                    legit[kind]["examples"].append(t)
    total_n = sum(per_kind[k]["n"] for k in KINDS)          # the goal is stated on the four kinds
    total_c = sum(per_kind[k]["caught"] for k in KINDS)
    return {"sentences": len(sentences), "seeds": list(seeds),
            "per_kind": {k: {"n": v["n"], "caught": v["caught"],
                             "rate": v["caught"] / v["n"] if v["n"] else None, "missed": v["missed"][:5]}
                         for k, v in per_kind.items()},
            "caught_rate": total_c / total_n if total_n else 0.0, "perturbations": total_n,
            "false_alarms": sum(r.status == "unsupported" for r in clean),
            "false_alarm_rate": sum(r.status == "unsupported" for r in clean) / max(len(clean), 1),
            "unverifiable_clean": sum(r.status == "unverifiable" for r in clean),
            "rewrites": {k: {"n": v["n"], "flagged": v["flagged"], "examples": v["examples"][:5]}
                         for k, v in legit.items()},
            "rewrite_false_alarm_rate": sum(v["flagged"] for v in legit.values()) /
            max(sum(v["n"] for v in legit.values()), 1)}


def real_report_false_alarms() -> dict:
    """Real chest X-ray report sentences, no evidence: each must come out unverifiable, never unsupported."""
    import re
    doc = json.loads((_data() / "xray_iqa/reports/iu_xray_reports_subset.json").read_text())
    sents = [x.strip() for e in doc["entries"] for x in re.split(r"(?<=[.!?])\s+", e["report"]) if x.strip()]
    res = [verify_sentence(Sentence(f"r{i}", t, [])) for i, t in enumerate(sents)]
    return {"sentences": len(sents), "unsupported": sum(r.status == "unsupported" for r in res),
            "unverifiable": sum(r.status == "unverifiable" for r in res)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=str(Path.home() / ".cache/loupe/eval_report"))
    ap.add_argument("--split", choices=("dev", "report", "both"), default="both")
    ap.add_argument("--quick", action="store_true", help="fewer cases (the test's setting)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    reports = draft_all(build_cases(Path(args.work), args.quick))
    out = {"drafts": len(reports), "build_s": round(time.perf_counter() - t0, 1)}
    splits = {"dev": DEV_SEEDS, "report": REPORT_SEEDS}
    for name in (("dev", "report") if args.split == "both" else (args.split,)):
        out[name] = evaluate(reports, splits[name])
    out["real_reports"] = real_report_false_alarms()
    for name in ("dev", "report"):
        if name in out:
            e = out[name]
            print(f"{name} seeds {e['seeds'][0]}-{e['seeds'][-1]}: {e['sentences']} sentences, "
                  f"{e['perturbations']} perturbations, caught {e['caught_rate']:.3f}; false alarms "
                  f"{e['false_alarms']}/{e['sentences']} ({e['false_alarm_rate']:.3f})")
            for k, v in e["rewrites"].items():
                print(f"    legitimate rewrite {k:8s} flagged {v['flagged']}/{v['n']}")
                for m in v["examples"][:3]:
                    print(f"        flagged: {m}")
            for k, v in e["per_kind"].items():
                rate = "n/a" if v["rate"] is None else f"{v['rate']:.3f}"
                print(f"    {k:10s} {v['caught']:4d}/{v['n']:<4d} {rate}")
                for m in v["missed"][:3]:
                    print(f"        missed: {m}")
    rr = out["real_reports"]
    print(f"real chest X-ray report sentences (no evidence): {rr['sentences']}, unsupported {rr['unsupported']}, "
          f"unverifiable {rr['unverifiable']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
