#!/usr/bin/env python3
"""Benchmark gcp-aws-cred against its floors: the budget, measured side by side.

    python3 bench/run.py                 # full run: 200 runs, 30 of the Python script
    python3 bench/run.py --runs 5 --python-runs 2   # smoke test (CI)
    python3 bench/run.py --baseline main~3           # also time the binary of another revision
    python3 bench/run.py --python-runs 0             # the budget alone, without Python

Everything runs on loopback against the project's fake metadata server and
fake STS (internal/cmd/fakeservers), started once and shared by every
contender. The contenders run interleaved, so a burst of load on a shared
machine hits them alike; that is also why the ratios matter more than the
absolute times. It builds into a temporary directory and leaves nothing.

Contenders:
  gcp-aws-cred          a whole credential fetch (token + exchange + document)
  floor (stdlib fetch)  bench/floor/fetch: the same two requests and the same
                        document with the standard library alone, built with
                        the release flags: what any Go fetch costs
  gcp-aws-cred --version  start-up alone
  empty Go program      bench/floor/empty: the floor for a Go process's start-up
  python requests+boto3 bench/python_contender.py: the fetch, the usual way
  gcp-aws-cred@REV      with --baseline REV: the fetch and --version of the
                        binary built from that git revision, timed in the same
                        loop and held to the same floors

The budget (what the targets check):
  fetch / floor         at most 1.6×
  --version / empty     at most 3×
  release binary        at most 12 MB (12,000,000 bytes), a guard against a
                        heavy dependency slipping in, not a goal
The timing targets are checked from --runs 30 up (fewer is a smoke test and
only reported); the size and memory targets always. A missed target makes
the exit status 1.

Figures: median and spread of wall time per run (measured around
fork/exec/wait, so process creation is included for every contender alike),
peak RSS per run from GNU time, binary sizes, and the ratios.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLE = "arn:aws:iam::123456789012:role/aws-allow-gcp-access"  # the sandbox role that admits the fake workload
RELEASE_FLAGS = ["-trimpath", "-tags", "nethttpomithttp2", "-ldflags=-s -w"]
MAX_RELEASE = 12_000_000  # bytes; the same guard as scripts/release-check and e2e/release_test.go
MAX_FETCH_OVER_FLOOR = 1.6
MAX_VERSION_OVER_EMPTY = 3.0
MIN_CHECKED_RUNS = 30  # fewer timed runs are a smoke test: ratios reported, not checked


def go_build(out, pkg=".", flags=(), cwd=ROOT, env=None):
    e = dict(os.environ, CGO_ENABLED="0")
    e.update(env or {})
    subprocess.run(["go", "build", *flags, "-o", out, pkg], cwd=cwd, env=e, check=True)
    return os.path.getsize(out)


def run_output(argv, env):
    """Runs argv once and returns its stdout; any failure ends the benchmark."""
    p = subprocess.run(argv, env=env, capture_output=True)
    if p.returncode != 0:
        sys.exit(f"{argv[0]} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return p.stdout


def run_timed(argv, env):
    """Wall time of one run, fork/exec/wait included, output discarded."""
    start = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ])
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter_ns() - start) / 1e9
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} exited {os.waitstatus_to_exitcode(status)}")
    return elapsed


def peak_rss_kib(argv, env):
    """Peak RSS of one run, from GNU time. Not from our own wait4: a child
    spawned from this Python process counts Python's resident pages until it
    execs, so every contender would read as at least Python's ~16 MiB."""
    if not os.path.exists("/usr/bin/time"):
        return None
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], env=env, capture_output=True, text=True)
    return int(p.stderr.strip().splitlines()[-1])


def summary(xs):
    xs = sorted(xs)
    q = lambda f: xs[min(len(xs) - 1, int(f * len(xs)))]
    return {
        "n": len(xs), "median": statistics.median(xs), "p10": q(0.10), "p90": q(0.90),
        "min": xs[0], "max": xs[-1], "stdev": statistics.stdev(xs) if len(xs) > 1 else 0.0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200, help="timed runs of each Go contender")
    ap.add_argument("--python-runs", type=int, default=30, help="timed runs of the Python script (0: leave it out)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed runs of each contender first")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    ap.add_argument("--baseline", metavar="REV", help="also time the binary built from this git revision")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="gcp-aws-cred-bench-")
    fakes = None
    try:
        print("building…", file=sys.stderr)
        ours = os.path.join(tmp, "gcp-aws-cred")
        sizes = {
            "release (-trimpath -tags nethttpomithttp2 -ldflags='-s -w')": go_build(ours, flags=RELEASE_FLAGS),
            "stripped (-ldflags='-s -w')": go_build(os.path.join(tmp, "stripped"), flags=["-ldflags=-s -w"]),
            "unstripped (go build)": go_build(os.path.join(tmp, "unstripped")),
        }
        floor = os.path.join(tmp, "floor")
        sizes["floor: bench/floor/fetch (release flags)"] = go_build(floor, "./bench/floor/fetch", flags=RELEASE_FLAGS)
        empty = os.path.join(tmp, "empty")
        sizes["empty: bench/floor/empty (release flags)"] = go_build(empty, "./bench/floor/empty", flags=RELEASE_FLAGS)
        baseline = None
        if args.baseline:
            src = os.path.join(tmp, "baseline-src")
            os.mkdir(src)
            archive = subprocess.run(["git", "archive", args.baseline], cwd=ROOT, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
            baseline = os.path.join(tmp, "gcp-aws-cred-baseline")
            sizes[f"release at {args.baseline}"] = go_build(baseline, flags=RELEASE_FLAGS, cwd=src)
        fakebin = os.path.join(tmp, "fakeservers")
        go_build(fakebin, "./internal/cmd/fakeservers")

        fakes = subprocess.Popen([fakebin, "--for", "30m"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        # Its stdout is a shell script; take the two exports gcp-aws-cred needs.
        fake_env = {}
        while not {"GCE_METADATA_HOST", "AWS_ENDPOINT_URL_STS"} <= fake_env.keys():
            line = fakes.stdout.readline()
            if not line:
                sys.exit("fakeservers printed no GCE_METADATA_HOST and AWS_ENDPOINT_URL_STS lines")
            k, sep, v = line.strip().removeprefix("export ").partition("=")
            if sep and k in ("GCE_METADATA_HOST", "AWS_ENDPOINT_URL_STS"):
                fake_env[k] = v.strip("'\"")
        home = os.path.join(tmp, "home")
        os.mkdir(home)
        # The same small environment for every contender: nothing from this
        # machine's AWS settings (a CA bundle would cost both sides a parse).
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "AWS_REGION": "us-east-1",
               "PYTHONDONTWRITEBYTECODE": "1", **fake_env}

        contenders = {
            "gcp-aws-cred": [ours, "--role", ROLE],
            "floor (stdlib fetch)": [floor, ROLE],
            "gcp-aws-cred --version": [ours, "--version"],
            "empty Go program": [empty],
        }
        if args.python_runs > 0:
            contenders["python requests+boto3"] = [sys.executable, os.path.join(ROOT, "bench", "python_contender.py"), ROLE]
        if baseline:
            contenders[f"gcp-aws-cred@{args.baseline}"] = [baseline, "--role", ROLE]
            contenders[f"gcp-aws-cred@{args.baseline} --version"] = [baseline, "--version"]
        # Every fetch must print the same document: the same keys, the same
        # kind of values.
        fetches = [n for n, argv in contenders.items() if "--version" not in argv and argv[0] != empty]
        keys = None
        for name in fetches:
            doc = json.loads(run_output(contenders[name], env))
            assert doc["Version"] == 1 and doc["AccessKeyId"].startswith("ASIA"), (name, doc.keys())
            assert keys is None or set(doc) == keys, (name, sorted(doc), sorted(keys))
            keys = set(doc)

        print("warming up…", file=sys.stderr)
        for argv in contenders.values():
            for _ in range(args.warmup if argv[0] != sys.executable else max(1, args.warmup // 5)):
                run_timed(argv, env)

        print(f"timing {args.runs} runs ({args.python_runs} of the Python script), interleaved…", file=sys.stderr)
        times = {n: [] for n in contenders}
        python_every = max(1, args.runs // max(1, args.python_runs))
        order = list(contenders)
        for i in range(args.runs):
            for name in order[i % len(order):] + order[:i % len(order)]:  # rotate who goes first
                if name.startswith("python") and (i % python_every or len(times[name]) >= args.python_runs):
                    continue
                times[name].append(run_timed(contenders[name], env))
        rss = {n: [peak_rss_kib(argv, env) for _ in range(5)] for n, argv in contenders.items()}
    finally:
        if fakes:
            fakes.terminate()
            fakes.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)

    stats = {n: summary(ts) for n, ts in times.items()}
    med = {n: s["median"] for n, s in stats.items()}
    fetch_floor = "fetch / floor (gcp-aws-cred / bench/floor/fetch)"
    version_empty = "--version / empty (gcp-aws-cred --version / bench/floor/empty)"
    ratios = {
        fetch_floor: med["gcp-aws-cred"] / med["floor (stdlib fetch)"],
        version_empty: med["gcp-aws-cred --version"] / med["empty Go program"],
        "gcp-aws-cred full run / its start-up (--version)": med["gcp-aws-cred"] / med["gcp-aws-cred --version"],
        "gcp-aws-cred full run - start-up (ms)": (med["gcp-aws-cred"] - med["gcp-aws-cred --version"]) * 1e3,
    }
    if args.python_runs > 0:
        ratios["python script / gcp-aws-cred (full run)"] = med["python requests+boto3"] / med["gcp-aws-cred"]
    if args.baseline:
        b = f"gcp-aws-cred@{args.baseline}"
        ratios[f"fetch / floor at {args.baseline}"] = med[b] / med["floor (stdlib fetch)"]
        ratios[f"--version / empty at {args.baseline}"] = med[b + " --version"] / med["empty Go program"]
        ratios[f"full run / full run at {args.baseline}"] = med["gcp-aws-cred"] / med[b]
        ratios[f"--version / --version at {args.baseline}"] = med["gcp-aws-cred --version"] / med[b + " --version"]
    release = sizes["release (-trimpath -tags nethttpomithttp2 -ldflags='-s -w')"]
    def rss_mib(n):
        return None if None in rss[n] else statistics.median(rss[n]) / 1024

    full_rss = rss_mib("gcp-aws-cred")
    timed = args.runs >= MIN_CHECKED_RUNS
    # (target, met, checked): a smoke run's timing is reported, not checked.
    targets = [
        (f"fetch within {MAX_FETCH_OVER_FLOOR}× the floor", ratios[fetch_floor] <= MAX_FETCH_OVER_FLOOR, timed),
        (f"--version within {MAX_VERSION_OVER_EMPTY:g}× the empty program", ratios[version_empty] <= MAX_VERSION_OVER_EMPTY, timed),
        (f"release binary ≤ 12 MB ({MAX_RELEASE:,} bytes)", release <= MAX_RELEASE, True),
        ("peak RSS of a full run < 20 MiB", full_rss is not None and full_rss < 20, full_rss is not None),
    ]
    if args.python_runs > 0:
        targets.append(("full run ≥ 30× faster than the Python script", ratios["python script / gcp-aws-cred (full run)"] >= 30, timed))

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    go_version = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    print(f"\n## gcp-aws-cred benchmark, {datetime.date.today()}\n")
    print(f"Machine: {os.cpu_count()} × {cpu}, {platform.system()} {platform.release()}; {go_version}; Python {platform.python_version()}\n")
    print("| contender | median | p10 | p90 | stdev | runs | peak RSS (median of 5) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for n, s in stats.items():
        print(f"| {n} | {s['median']*1e3:.1f} ms | {s['p10']*1e3:.1f} ms | {s['p90']*1e3:.1f} ms | "
              f"{s['stdev']*1e3:.1f} ms | {s['n']} | {'n/a' if rss_mib(n) is None else f'{rss_mib(n):.1f} MiB'} |")
    print("\n| ratio | value |\n|---|---:|")
    for n, v in ratios.items():
        print(f"| {n} | {v:.1f} |" if "ms" in n else f"| {n} | {v:.2f}× |")
    print("\n| binary | bytes | MiB |\n|---|---:|---:|")
    for n, b in sizes.items():
        print(f"| {n} | {b:,} | {b/2**20:.2f} |")
    print("\n| target | met |\n|---|---|")
    for n, ok, checked in targets:
        verdict = ("yes" if ok else "NO") if checked else f"{'yes' if ok else 'no'} (not checked: under {MIN_CHECKED_RUNS} runs)"
        print(f"| {n} | {verdict} |")
    if args.json:
        print(json.dumps({"stats": stats, "ratios": ratios, "sizes": sizes,
                          "rss_mib": {n: rss_mib(n) for n in rss}}, indent=2))
    missed = [n for n, ok, checked in targets if checked and not ok]
    if missed:
        sys.exit("missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
