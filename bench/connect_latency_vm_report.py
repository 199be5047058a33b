#!/usr/bin/python3
"""The report of bench/connect-latency --backend libvirt: reads its CSV, prints the table
(per RTT x start x mode: median, min and max connect time beside the ideal
max(boot + RTT, 2 RTT) for the boot as it happened in each run), each masking mode
against none and resume against cold boot (figures and ratios, never a verdict), and
draws the PNG plot with gnuplot.

  connect_latency_vm_report.py --csv FILE --png FILE [--machine TEXT]
                               [--path-rtt RTT=MS,...]   (ping avg per configured RTT)

Exit 0 when the CSV was read and the plot written; 1 otherwise."""
import csv
import math
import os
import sys
import tempfile
from collections import defaultdict

from connect_latency_report import fmt, median, number, report_main, run_gnuplot

MODES = ["none", "wait_for_port", "synjitsu"]
LABELS = {
    "none": "none (no masking)",
    "wait_for_port": "wait_for_port=80",
    "synjitsu": "synjitsu host replay",
}
STARTS = ["cold", "resume"]


def load(path):
    groups = defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            groups[(number(row["rtt_ms"]), row["start"], row["mode"])].append(row)
    return groups


def known(rows, column):
    """The values of a column, without the -1 of 'not measured'."""
    return [v for v in (number(r[column]) for r in rows) if not math.isnan(v) and v >= 0]


def summarise(rows):
    ok = [r for r in rows if r["ok"] == "1" and r["status"] == "200"]
    conn = known(ok, "connect_ms")
    over = [number(r["connect_ms"]) - number(r["ideal_ms"]) for r in ok if number(r["ideal_ms"]) >= 0]
    ideal = known(ok, "ideal_ms")
    return {
        "n": len(rows),
        "ok": len(ok),
        "dns": median(known(ok, "dns_ms")),
        "conn_med": median(conn),
        "conn_min": min(conn) if conn else math.nan,
        "conn_max": max(conn) if conn else math.nan,
        "ttfb": median(known(ok, "ttfb_ms")),
        "up": median(known(rows, "vm_up_ms")),
        "ideal": median(ideal),
        "over": median(over),
        "ratio": median(conn) / median(ideal) if conn and ideal and median(ideal) > 0 else math.nan,
        "seen": median(known(rows, "detect_ms")),
        "retrans": sum(int(v) for v in known(rows, "syn_retrans")),
        "load": median(known(rows, "load1")),
        "errors": sorted({r["error"] for r in rows if r["error"] not in ("-", "")}),
    }


def order(key):
    rtt, start, mode = key
    return (rtt, STARTS.index(start) if start in STARTS else 9, MODES.index(mode) if mode in MODES else 9)


def print_table(groups, machine, path_rtt):
    print("Connect latency of a real QEMU guest booted by a DNS query (bench/connect-latency --backend libvirt)")
    if machine:
        print(f"machine: {machine}")
    if path_rtt:
        print("measured client -> br0 ping (avg): " +
              ", ".join(f"{p:.3f} ms for RTT {r:g} ms" for r, p in sorted(path_rtt.items())))
    print("times in ms from the client's DNS query (medians unless said); connect = TCP established, min and max")
    print("of the runs beside it; vm up = the query at jitsu-dns -> the guest ready (cold: its console's")
    print("`jitsu-guest: ready`, printed once httpd listens; resume: -> resumed, as jitsu-dns logs it);")
    print("ideal = max(vm up + RTT, 2 RTT) per run; over = connect - ideal; x ideal = connect / ideal;")
    print("seen = the masking mode saw the guest accept (wait_for_port: jitsu-dns's probe; synjitsu: its probe")
    print("success); SYN rtx = SYN retransmissions of all runs (TCP_INFO); load = 1-min load average at the run\n")
    header = (f"{'RTT':>4} {'start':<7}{'mode':<22}{'ok/n':>6}{'dns':>8}{'connect':>9}{'min':>8}{'max':>8}"
              f"{'1st byte':>9}{'vm up':>8}{'ideal':>8}{'over':>8}{'x ideal':>8}{'seen':>8}{'SYN rtx':>8}{'load':>6}")
    print(header)
    print("-" * len(header))
    summaries = {}
    for key in sorted(groups, key=order):
        s = summarise(groups[key])
        summaries[key] = s
        rtt, start, mode = key
        print(f"{rtt:>4g} {start:<7}{LABELS.get(mode, mode):<22}{s['ok']:>3}/{s['n']:<2}"
              f"{fmt(s['dns'])}{fmt(s['conn_med'], 9)}{fmt(s['conn_min'])}{fmt(s['conn_max'])}"
              f"{fmt(s['ttfb'], 9)}{fmt(s['up'])}{fmt(s['ideal'])}{fmt(s['over'])}{fmt(s['ratio'], 8, 2)}"
              f"{fmt(s['seen'])}{s['retrans']:>8}{fmt(s['load'], 6, 2)}")
        if s["errors"]:
            print(f"{'':>12}errors: {', '.join(s['errors'])}")
    return summaries


def print_console_lag(groups):
    """How late the console's ready line is: synjitsu probes the guest every 10 ms from a
    namespace that already knows the guest's MAC, so its first accepted probe is the
    closest measure of the listen there is; the console line follows it."""
    lags = [number(r["vm_up_ms"]) - number(r["detect_ms"])
            for (rtt, start, mode), rows in groups.items() if start == "cold" and mode == "synjitsu"
            for r in rows if number(r["vm_up_ms"]) >= 0 and number(r["detect_ms"]) >= 0]
    if not lags:
        return
    print(f"\nthe console's ready line came {median(lags):.0f} ms (median; {min(lags):.0f} to {max(lags):.0f} ms, "
          f"{len(lags)} runs) after synjitsu's first accepted probe (probes 10 ms apart): vm up and ideal are")
    print("late, and over low, by about that much in every cold row (a negative over: connected before the line)")


def print_comparisons(summaries):
    lines = []
    for (rtt, start, mode), s in sorted(summaries.items(), key=lambda kv: order(kv[0])):
        base = summaries.get((rtt, start, "none"))
        if mode == "none" or base is None or math.isnan(s["conn_med"]) or math.isnan(base["conn_med"]):
            continue
        ratio = base["conn_med"] / s["conn_med"] if s["conn_med"] > 0 else math.nan
        lines.append(f"  RTT {rtt:g} ms, {start}: {LABELS.get(mode, mode)} over {s['over']:+.1f} ms vs none "
                     f"{base['over']:+.1f} ms (none - mode {base['over'] - s['over']:+.1f} ms); connect "
                     f"{s['conn_med']:.1f} vs {base['conn_med']:.1f} ms (none / mode {ratio:.2f}x; vm up "
                     f"{s['up']:.0f} vs {base['up']:.0f} ms)")
    if lines:
        print("\nmasking modes against none: the wait past the guest's readiness (median connect - ideal, per run,")
        print("so the boots' spread between runs cancels out) and the median connect times (which keep it):")
        print("\n".join(lines))
    lines = []
    for (rtt, start, mode), s in sorted(summaries.items(), key=lambda kv: order(kv[0])):
        cold = summaries.get((rtt, "cold", mode))
        if start != "resume" or cold is None or math.isnan(s["conn_med"]) or math.isnan(cold["conn_med"]):
            continue
        r_conn = cold["conn_med"] / s["conn_med"] if s["conn_med"] > 0 else math.nan
        r_ttfb = cold["ttfb"] / s["ttfb"] if s["ttfb"] > 0 else math.nan
        lines.append(f"  RTT {rtt:g} ms, {LABELS.get(mode, mode)}: connect cold {cold['conn_med']:.1f} ms, "
                     f"resume {s['conn_med']:.1f} ms ({r_conn:.0f}x); first byte cold {cold['ttfb']:.1f} ms, "
                     f"resume {s['ttfb']:.1f} ms ({r_ttfb:.0f}x); vm up cold {cold['up']:.0f} ms, resume {s['up']:.1f} ms")
    if lines:
        print("\nresume against cold boot (median connect and first byte; ratio cold / resume):")
        print("\n".join(lines))


def histogram(tmp, name, title, rows, columns, floor):
    """gnuplot lines for one clustered histogram panel: rows = [(label, {column: value})];
    columns whose every value is missing are left out (gnuplot refuses them)."""
    shown = [c for c in columns if any(not math.isnan(v.get(c, math.nan)) for _, v in rows)]
    if not shown:
        return [f"set title '{title}'", "set label 1 'no run connected' at graph 0.3,0.5",
                "plot 1 notitle", "unset label 1"]
    data = os.path.join(tmp, name)
    with open(data, "w") as f:
        for label, values in rows:
            cells = []
            for c in shown:
                v = values.get(c, math.nan)
                cells.append("NaN" if math.isnan(v) else f"{v if floor is None else max(v, floor):.3f}")
            f.write(f"\"{label}\" " + " ".join(cells) + "\n")
    plots = [f"{repr(data) if i == 0 else repr('')} using {i + 2}{':xtic(1)' if i == 0 else ''} title '{c}'"
             for i, c in enumerate(shown)]
    return [f"set title '{title}'", "plot " + ", ".join(plots)]


def plot(summaries, png):
    """One column per RTT. Top: per mode, the median connect time beside the median ideal,
    cold and resume (log scale: seconds of boot against milliseconds of resume). Bottom:
    the median excess over the ideal (linear: what masking is about)."""
    rtts = sorted({k[0] for k in summaries})
    starts = [st for st in STARTS if any(k[1] == st for k in summaries)]
    modes = [m for m in MODES if any(k[2] == m for k in summaries)]
    cols = max(1, len(rtts))

    def value(rtt, st, m, field):
        s = summaries.get((rtt, st, m))
        return math.nan if s is None else s[field]

    with tempfile.TemporaryDirectory() as tmp:
        script = [
            f"set terminal pngcairo size {560 * cols},900 font ',10' noenhanced",
            f"set output '{png}'",
            f"set multiplot layout 2,{cols} title 'Real QEMU guest booted by a DNS query: DNS query -> TCP established (medians)'",
            "set style data histogram",
            "set style histogram cluster gap 1",
            "set style fill solid 0.8 border -1",
            "set key below horizontal font ',8'",
            "set grid ytics",
            "set logscale y",
            "set yrange [1:*]",
            "set ylabel 'ms (log)'",
        ]
        top = [f"{st}: {w}" for st in starts for w in ("connect", "ideal")]
        for rtt in rtts:
            rows = [(m, {f"{st}: connect": value(rtt, st, m, "conn_med") for st in starts} |
                     {f"{st}: ideal": value(rtt, st, m, "ideal") for st in starts}) for m in modes]
            script += histogram(tmp, f"top{rtt:g}.dat", f"RTT {rtt:g} ms: connect and ideal", rows, top, 1.0)
        script += ["unset logscale y", "set yrange [*:*]", "set ylabel 'ms over the ideal'"]
        bottom = [f"{st}: over" for st in starts]
        for rtt in rtts:
            rows = [(m, {f"{st}: over": value(rtt, st, m, "over") for st in starts}) for m in modes]
            script += histogram(tmp, f"bottom{rtt:g}.dat", f"RTT {rtt:g} ms: connect - ideal", rows, bottom, None)
        script.append("unset multiplot")
        return run_gnuplot(tmp, script, png, "connect_latency_vm_report")


def report(groups, machine, path_rtt, png):
    summaries = print_table(groups, machine, path_rtt)
    print_console_lag(groups)
    print_comparisons(summaries)
    return plot(summaries, png)


def main():
    return report_main(__doc__, "connect_latency_vm_report", load, report)


if __name__ == "__main__":
    sys.exit(main())
