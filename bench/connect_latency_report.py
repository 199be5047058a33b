#!/usr/bin/python3
"""The report of bench/connect-latency: reads its CSV, prints the table (median and p99
per RTT x boot delay x mode beside the ideal max(boot + RTT, 2 RTT)), how much synjitsu
saves against the other modes, the targets (printed, never asserted), and draws the PNG
plot of connect time by mode with gnuplot.

  connect_latency_report.py --csv FILE --png FILE [--machine TEXT]
                            [--path-rtt RTT=MS,...]   (ping avg per configured RTT)

Exit 0 when the CSV was read and the plot written; 1 otherwise."""
import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

MODES = ["none", "fixed_boot", "fixed_200", "wait_for_key", "synjitsu"]
LABELS = {
    "none": "none (no masking)",
    "fixed_boot": "fixed delay = boot",
    "fixed_200": "fixed delay 0.2 s",
    "wait_for_key": "wait_for_key",
    "synjitsu": "synjitsu",
}


def percentile(values, p):
    """Nearest-rank percentile (p99 of fewer than 100 values is their maximum)."""
    if not values:
        return math.nan
    s = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(s)))
    return s[rank - 1]


def median(values):
    if not values:
        return math.nan
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def fmt(v, width=8, digits=1):
    return f"{'-':>{width}}" if v is None or math.isnan(v) else f"{v:>{width}.{digits}f}"


def number(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def load(path):
    groups = defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (number(row["rtt_ms"]), int(row["boot_ms"]), row["mode"])
            groups[key].append(row)
    return groups


def summarise(rows, path_rtt):
    ok = [r for r in rows if r["ok"] == "1" and r["status"] == "200"]
    conn = [number(r["connect_ms"]) for r in ok]
    listen = [number(r["vm_listen_ms"]) for r in rows if number(r["vm_listen_ms"]) >= 0]
    up = [number(r.get("vm_up_ms", "-1")) for r in rows if number(r.get("vm_up_ms", "-1")) >= 0]
    ideal = number(rows[0]["ideal_ms"])
    rtt = number(rows[0]["rtt_ms"])
    # The ideal for the boot that really happened: query (at jitsu-dns) -> server listening.
    over_observed = [
        number(r["connect_ms"]) - max(number(r["vm_up_ms"]) + rtt, 2 * rtt)
        for r in ok
        if number(r.get("vm_up_ms", "-1")) >= 0
    ]
    # The ideal again with the path's measured round trip (the emulated link, router and
    # bridge add a little to the configured RTT) instead of the configured one.
    p = path_rtt.get(rtt, rtt)
    ideal_path = max(int(rows[0]["boot_ms"]) + p, 2 * p)
    return {
        "n": len(rows),
        "over_path": median([c - ideal_path for c in conn]),
        "ok": len(ok),
        "dns": median([number(r["dns_ms"]) for r in ok]),
        "conn_med": median(conn),
        "conn_p99": percentile(conn, 99),
        "ttfb": median([number(r["ttfb_ms"]) for r in ok]),
        "retrans": sum(max(0, int(number(r["syn_retrans"]))) for r in rows if not math.isnan(number(r["syn_retrans"]))),
        "runs_with_retrans": sum(1 for r in rows if number(r["syn_retrans"]) > 0),
        "ideal": ideal,
        "over_med": median([c - ideal for c in conn]),
        "over_p99": percentile([c - ideal for c in conn], 99),
        "listen": median(listen),
        "up": median(up),
        "over_obs": median(over_observed),
        "errors": sorted({r["error"] for r in rows if r["error"] not in ("-", "")}),
    }


def print_table(groups, machine, path_rtt):
    print("Connect latency of a cold VM (bench/connect-latency)")
    if machine:
        print(f"machine: {machine}")
    if path_rtt:
        print("measured client -> br0 ping (avg): " +
              ", ".join(f"{p:.3f} ms for RTT {r:g} ms" for r, p in sorted(path_rtt.items())))
    print("times in ms from the DNS query; connect = TCP established; ideal = max(boot + RTT, 2 RTT);")
    print("p99 is nearest-rank (the maximum when n < 100); SYN rtx = SYN retransmissions (TCP_INFO);")
    print("over = median connect - ideal; over path = the same with the measured ping RTT for RTT;")
    print("netvm = jitsu-netvm start -> server listening; vm up = DNS query at jitsu-dns -> server listening")
    print("(the boot as it happened, spawn included; log stamps, 1 ms resolution);")
    print("over obs. = median of connect - max(vm up + RTT, 2 RTT): what is left once the real boot is known\n")
    header = (f"{'RTT':>5} {'boot':>5}  {'mode':<20}{'ok/n':>7}{'dns':>8}{'connect':>9}{'p99':>8}"
              f"{'ttfb':>8}{'ideal':>8}{'over':>8}{'over p99':>9}{'over path':>10}{'SYN rtx':>8}{'netvm':>7}{'vm up':>7}{'over obs.':>10}")
    print(header)
    print("-" * len(header))
    summaries = {}
    for key in sorted(groups, key=lambda k: (k[0], k[1], MODES.index(k[2]) if k[2] in MODES else 99)):
        s = summarise(groups[key], path_rtt)
        summaries[key] = s
        rtt, boot, mode = key
        print(f"{rtt:>5g} {boot:>5}  {LABELS.get(mode, mode):<20}{s['ok']:>3}/{s['n']:<3}"
              f"{fmt(s['dns'])}{fmt(s['conn_med'], 9)}{fmt(s['conn_p99'])}{fmt(s['ttfb'])}"
              f"{fmt(s['ideal'])}{fmt(s['over_med'])}{fmt(s['over_p99'], 9)}{fmt(s['over_path'], 10)}{s['retrans']:>8}"
              f"{fmt(s['listen'], 7)}{fmt(s['up'], 7)}{fmt(s['over_obs'], 10)}")
        if s["errors"]:
            print(f"{'':>13}errors: {', '.join(s['errors'])}")
    return summaries


def print_comparison(summaries):
    print("\nsynjitsu against the other modes (median connect time; saving and ratio):")
    for (rtt, boot, mode), s in sorted(summaries.items()):
        if mode != "synjitsu" or math.isnan(s["conn_med"]):
            continue
        parts = []
        for other in ("wait_for_key", "fixed_boot", "fixed_200", "none"):
            o = summaries.get((rtt, boot, other))
            if o is None or math.isnan(o["conn_med"]):
                continue
            saved = o["conn_med"] - s["conn_med"]
            ratio = o["conn_med"] / s["conn_med"] if s["conn_med"] > 0 else math.nan
            parts.append(f"{other} {saved:+.1f} ms ({ratio:.2f}x)")
        print(f"  RTT {rtt:g} ms, boot {boot} ms: synjitsu {s['conn_med']:.1f} ms; saves vs " +
              ("; ".join(parts) if parts else "(no other mode measured)"))


def print_targets(summaries):
    print("\ntargets for synjitsu (printed, not asserted): median <= ideal + 1 ms, p99 <= ideal + 3 ms, "
          "zero SYN retransmissions")
    for (rtt, boot, mode), s in sorted(summaries.items()):
        if mode != "synjitsu":
            continue
        med_ok = s["over_med"] <= 1.0
        p99_ok = s["over_p99"] <= 3.0
        rtx_ok = s["retrans"] == 0
        verdict = "met" if med_ok and p99_ok and rtx_ok else "MISSED"
        print(f"  RTT {rtt:g} ms, boot {boot} ms: over ideal median {s['over_med']:+.2f} ms "
              f"({'ok' if med_ok else 'miss'}), p99 {s['over_p99']:+.2f} ms ({'ok' if p99_ok else 'miss'}), "
              f"SYN retransmissions {s['retrans']} ({'ok' if rtx_ok else 'miss'}) -> {verdict}; "
              f"over the ideal with the measured path RTT {s['over_path']:+.2f} ms, "
              f"with the boot as it happened (query -> listening) {s['over_obs']:+.2f} ms")


def plot(summaries, png):
    """Top row: median connect time by boot delay, one line per mode, beside the ideal.
    Bottom row: median excess over the ideal (clamped at 0.1 ms for the log scale)."""
    rtts = sorted({k[0] for k in summaries})
    boots = sorted({k[1] for k in summaries})
    modes = [m for m in MODES if any(k[2] == m for k in summaries)]
    cols = max(1, len(rtts))
    with tempfile.TemporaryDirectory() as tmp:
        script = [
            f"set terminal pngcairo size {540 * cols},860 font ',10' noenhanced",
            f"set output '{png}'",
            f"set multiplot layout 2,{cols} title 'Cold VM: DNS query -> TCP established, median by masking mode'",
            "set logscale y",
            "set xlabel 'boot delay (ms)'",
            "set key top left font ',8'",
            "set grid",
            f"set xrange [{min(boots) - 20}:{max(boots) + 20}]",
        ]
        datas = {}
        for rtt in rtts:
            data = os.path.join(tmp, f"rtt{rtt:g}.dat")
            datas[rtt] = data
            with open(data, "w") as f:
                f.write("# boot ideal " + " ".join(f"{m} {m}_over" for m in modes) + "\n")
                for b in boots:
                    ideal = max(b + rtt, 2 * rtt)
                    cells = [f"{ideal:.3f}"]
                    for m in modes:
                        s = summaries.get((rtt, b, m))
                        v = s["conn_med"] if s else math.nan
                        cells.append("NaN" if math.isnan(v) else f"{v:.3f}")
                        cells.append("NaN" if math.isnan(v) else f"{max(0.1, v - ideal):.3f}")
                    f.write(f"{b} " + " ".join(cells) + "\n")
        for rtt in rtts:
            plots = [f"'{datas[rtt]}' using 1:2 with lines dashtype 2 lw 2 lc rgb 'black' title 'ideal max(boot+RTT, 2RTT)'"]
            for i, m in enumerate(modes):
                plots.append(f"'{datas[rtt]}' using 1:{2 * i + 3} with linespoints lw 2 pt {i + 5} lc {i + 1} title '{LABELS[m]}'")
            script += [f"set title 'RTT {rtt:g} ms: connect time'", "set ylabel 'ms (log)'",
                       "plot " + ", ".join(plots)]
        for rtt in rtts:
            plots = [f"'{datas[rtt]}' using 1:{2 * i + 4} with linespoints lw 2 pt {i + 5} lc {i + 1} title '{LABELS[m]}'"
                     for i, m in enumerate(modes)]
            script += [f"set title 'RTT {rtt:g} ms: over the ideal'", "set yrange [0.1:*]", "set ylabel 'ms over ideal (log, >= 0.1)'",
                       "plot " + ", ".join(plots)]
        script.append("unset multiplot")
        return run_gnuplot(tmp, script, png, "connect_latency_report")



def run_gnuplot(tmp, script, png, who):
    """Runs the gnuplot `script` (lines) from `tmp`; False (and one line) if no PNG came out."""
    gp = os.path.join(tmp, "plot.gp")
    with open(gp, "w") as f:
        f.write("\n".join(script) + "\n")
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not os.path.exists(png) or os.path.getsize(png) == 0:
        print(f"{who}: gnuplot failed: {r.stderr.strip()}", file=sys.stderr)
        return False
    return True


def report_main(doc, who, load, report):
    """The command line both reports share (--csv, --png, --machine, --path-rtt).
    report(groups, machine, path_rtt, png) prints the tables and plots; False if the plot failed."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--machine", default="")
    ap.add_argument("--path-rtt", default="", help="RTT=MS,...: measured ping avg per configured RTT")
    a = ap.parse_args()
    try:
        groups = load(a.csv)
    except (OSError, KeyError, ValueError) as e:
        print(f"{who}: cannot read {a.csv}: {e}", file=sys.stderr)
        return 1
    if not groups:
        print(f"{who}: {a.csv} has no runs", file=sys.stderr)
        return 1
    path_rtt = {}
    for item in filter(None, a.path_rtt.split(",")):
        try:
            r, p = item.split("=")
            path_rtt[float(r)] = float(p)
        except ValueError:
            print(f"{who}: ignoring bad --path-rtt item '{item}'", file=sys.stderr)
    return 0 if report(groups, a.machine, path_rtt, os.path.abspath(a.png)) else 1


def report(groups, machine, path_rtt, png):
    summaries = print_table(groups, machine, path_rtt)
    print_comparison(summaries)
    print_targets(summaries)
    return plot(summaries, png)


def main():
    return report_main(__doc__, "connect_latency_report", load, report)


if __name__ == "__main__":
    sys.exit(main())
