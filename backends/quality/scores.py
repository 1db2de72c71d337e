"""Scores of the calibrated assessor on a labelled multi-label sample set (``mlsamples.MLSet``),
shared by the floor tests and the evaluation scripts so both measure the same thing:

- on rows with ONE degradation or none: the predicted family is the likeliest one when its
  calibrated probability reaches REPORT_THRESHOLD, else "none"; per-family precision, recall,
  F1 and macro-F1 over the families present in the truth (including "none");
- clean false alarms (a clean image with a family reported) and the "uncertain" share, per group;
- stacked rows: the share of their component families that are reported;
- calibration: expected calibration error of the per-family probabilities against multi-label
  truth (all rows, families applicable to the modality)."""
from __future__ import annotations

import numpy as np

from .assess import CLEAN, REPORT_THRESHOLD, UNCERTAIN_THRESHOLD
from .families import FAMILY_OF, family_applicable

MODALITY_GROUPS = (("X-ray", "cxr/"), ("fundus", "drive/"), ("ultrasound", "psfhs/"), ("CT", "ct/"), ("MR", "mr/"))


def modality_group(source_id: str) -> str:
    for name, prefix in MODALITY_GROUPS:
        if str(source_id).startswith(prefix):
            return name
    return "other"


def prf(y: np.ndarray, p: np.ndarray, labels) -> dict[str, dict[str, float]]:
    out = {}
    for c in labels:
        tp = int(np.sum((p == c) & (y == c)))
        fp = int(np.sum((p == c) & (y != c)))
        fn = int(np.sum((p != c) & (y == c)))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        out[c] = {"precision": prec, "recall": rec, "f1": f1, "n": int(np.sum(y == c))}
    return out


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    p, y = np.ravel(p), np.ravel(y).astype(float)
    if not len(p):
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum((idx == b).mean() * abs(p[idx == b].mean() - y[idx == b].mean())
                     for b in range(bins) if (idx == b).any()))


def truth_single(s) -> np.ndarray:
    return np.where(s.labels == "", CLEAN, s.labels)


def score(model, s, pred=None) -> dict:
    pred = pred or model.predict(s.X, s.modality, s.border)
    top, ptop = pred.top()
    stacked = s.stacked
    single = ~stacked
    y = truth_single(s)
    labels = sorted(set(y[single]))
    per = prf(y[single], top[single], labels)
    macro = float(np.mean([v["f1"] for v in per.values()]))
    clean = s.labels == ""
    P = pred.P
    status = np.where(P.max(1) >= REPORT_THRESHOLD, "degraded",
                      np.where(P.max(1) >= UNCERTAIN_THRESHOLD, "uncertain", "clean"))
    groups = np.array([modality_group(g) for g in s.group])
    by_mod = {}
    for g in [n for n, _ in MODALITY_GROUPS]:
        sel = groups == g
        if not sel.any():
            continue
        sg = single & sel
        lab_g = sorted(set(y[sg]))
        pg = prf(y[sg], top[sg], lab_g)
        cg = clean & sel
        by_mod[g] = {"n": int(sel.sum()), "macro_f1": float(np.mean([v["f1"] for v in pg.values()])),
                     "min_recall": min((v["recall"] for k, v in pg.items() if k != CLEAN), default=float("nan")),
                     "per_class": pg,
                     "clean_n": int(cg.sum()),
                     "false_alarm_clean": float(np.mean(status[cg] == "degraded")) if cg.any() else float("nan"),
                     "uncertain_clean": float(np.mean(status[cg] == "uncertain")) if cg.any() else float("nan")}
    # stacked: share of component families reported
    comp_hit = comp_n = 0
    for i in np.flatnonzero(stacked):
        for f in s.labels[i].split("|"):
            comp_n += 1
            comp_hit += int(P[i, pred.families.index(f)] >= REPORT_THRESHOLD)
    # calibration against multi-label truth, families applicable to each row's modality
    Y = np.stack([s.has(f) for f in pred.families], 1)
    app = np.stack([[f in family_applicable(m) for f in pred.families] for m in s.modality])
    # blur sub-type: on single blur rows found as blur, is the likeliest sub-type right?
    sub_ok = sub_n = 0
    for i in np.flatnonzero(single & (y == "blur") & (top == "blur")):
        k, _ = pred.subtype(i, "blur")
        sub_n += 1
        sub_ok += int(k == s.kind[i])
    sev_rows = single & (y != CLEAN) & (top == y)
    sev_err = [abs(np.clip(np.rint(pred.S[i, pred.families.index(y[i])]), 1, 3) - s.severity[i])
               for i in np.flatnonzero(sev_rows)]
    by_sev = {}
    for sv in (1, 2, 3):
        sel = single & (y != CLEAN) & (s.severity == sv)
        by_sev[sv] = float(np.mean(top[sel] == y[sel])) if sel.any() else float("nan")
    return {"n": int(len(s)), "n_single": int(single.sum()), "labels": labels, "per_class": per,
            "macro_f1": macro,
            "min_recall": min(v["recall"] for k, v in per.items() if k != CLEAN),
            "false_alarm_clean": float(np.mean(status[clean] == "degraded")) if clean.any() else float("nan"),
            "uncertain_clean": float(np.mean(status[clean] == "uncertain")) if clean.any() else float("nan"),
            "missed_degraded": float(np.mean(top[single & ~clean] == CLEAN)) if (single & ~clean).any() else float("nan"),
            "stacked_component_recall": comp_hit / comp_n if comp_n else float("nan"), "stacked_n": int(stacked.sum()),
            "ece": ece(P[app], Y[app]),
            # top-label calibration on single rows: confidence of the call ("none": 1 - top probability)
            "ece_top": ece(np.where(top == CLEAN, 1 - ptop, ptop)[single], (top == y)[single]),
            "blur_subtype_accuracy": sub_ok / sub_n if sub_n else float("nan"), "blur_subtype_n": sub_n,
            "sev_mae_correct": float(np.mean(sev_err)) if sev_err else float("nan"),
            "recall_by_severity": by_sev, "by_modality": by_mod}


def family_of(kind: str) -> str:
    return CLEAN if kind == CLEAN else FAMILY_OF[kind]
