"""The markdown table of ``jetgnn benchmark`` (results.md)."""

from __future__ import annotations

from pathlib import Path


def _fmt(value, digits=4) -> str:
    if value is None:
        return "–"
    if value == float("inf"):
        return "inf"
    return f"{value:.{digits}f}" if abs(value) < 10 else f"{value:,.0f}"


def _pm(stats: dict, key: str, digits=4) -> str:
    mean, std = stats["mean"].get(key), stats["std"].get(key)
    if mean is None:
        return "–"
    return _fmt(mean, digits) + (f" ± {_fmt(std, digits)}" if std else "")


def _machine_line(machine: dict | None) -> list[str]:
    if not machine:
        return []
    device = f"GPU {machine['gpu']}" if machine.get("gpu") else "no GPU"
    return [f"Machine: {machine['cpu']}, {machine['cores']} cores, {device}; torch "
            f"{machine['versions'].get('torch')}; {machine['date']}.", ""]


def _stat(metrics: dict, key: str) -> str:
    """A rejection with its binomial uncertainty, e.g. ``250 ± 88 (stat)``."""
    value, unc = metrics.get(key), metrics.get(f"{key}_uncertainty")
    return _fmt(value, 1) + (f" ± {_fmt(unc, 1)} (stat)" if unc is not None else "")


def markdown_report(result: dict) -> str:
    """Per model: mean ± std over seeds; each model's seed ensemble (mean score) as its own row, its rejections
    with their binomial uncertainties."""
    test = ", ".join(Path(f).name for f in result["test"]) or "common validation split"
    lines = [f"# Benchmark: {result['task'] or 'jets'}", "",
             f"{result['seeds']} seed(s) per model; {result['n_train_jets']} training jets, "
             f"{result['n_test_jets']} test jets ({test}).", "",
             *_machine_line(result.get("machine")),
             "| model | AUC | accuracy | 1/eps_B @ 30% | 1/eps_B @ 50% | parameters | train time (s) "
             "| train jets/s | inference jets/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, stats in result["models"].items():
        lines.append(f"| {label} | {_pm(stats, 'auc')} | {_pm(stats, 'accuracy')} | {_pm(stats, 'rejection_at_30', 1)} "
                     f"| {_pm(stats, 'rejection_at_50', 1)} | {_fmt(stats['mean'].get('n_params'))} "
                     f"| {_pm(stats, 'train_time_s', 1)} | {_fmt(stats['mean'].get('train_jets_per_s'))} "
                     f"| {_fmt(stats['mean'].get('inference_jets_per_s'))} |")
        ens = stats["ensemble"]
        lines.append(f"| {label} (ensemble of {result['seeds']}) | {_fmt(ens['auc'])} | {_fmt(ens['accuracy'])} "
                     f"| {_stat(ens, 'rejection_at_30')} | {_stat(ens, 'rejection_at_50')} | | | | |")
    per_class = list(dict.fromkeys(k for stats in result["models"].values() for k in stats["mean"]
                                   if k.endswith("_vs_rest")))
    if per_class:  # multiclass: every class against the rest
        names = [k[len("auc_"):-len("_vs_rest")] for k in per_class]
        lines += ["", "One-vs-rest AUC per class:", "", "| model | " + " | ".join(names) + " |",
                  "|---|" + "---|" * len(names)]
        lines += [f"| {label} | " + " | ".join(_pm(stats, k) for k in per_class) + " |"
                  for label, stats in result["models"].items()]
    if result.get("size_scans"):
        scans = result["size_scans"]
        sizes = sorted({p["n_train_jets"] for scan in scans.values() for p in scan["points"]})
        lines += ["", "Data-size scan (AUC; power-law fit 1 - AUC = a N^b):", "",
                  "| training jets | " + " | ".join(scans) + " |", "|---|" + "---|" * len(scans)]
        for n in sizes:
            cells = [next((f"{p['auc']:.4f}" for p in scan["points"] if p["n_train_jets"] == n), "–")
                     for scan in scans.values()]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("| fit a, b | " + " | ".join(
            f"{s['fit']['a']:.3g}, {s['fit']['b']:.3f}" if s["fit"] else "–" for s in scans.values()) + " |")
        crossings = [c for c in result.get("size_scan_crossovers", []) if c["within_scanned_range"]]
        lines += ["", "Crossovers inside the scanned range: " + ("; ".join(
            f"{c['better_below']} → {c['better_above']} at N ≈ {c['n_train_jets']:,.0f}" for c in crossings)
            or "none") + "."]
    elif result.get("size_scan"):
        scan = result["size_scan"]
        lines += ["", f"Data-size scan of {scan['model']}:", "", "| training jets | AUC |", "|---|---|"]
        lines += [f"| {p['n_train_jets']} | {p['auc']:.4f} |" for p in scan["points"]]
        if scan["fit"]:
            lines += ["", f"Power-law fit: 1 - AUC = {scan['fit']['a']:.3g} N^{scan['fit']['b']:.3f}"]
    return "\n".join(lines) + "\n"
