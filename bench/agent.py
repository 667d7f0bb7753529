#!/usr/bin/env python3
"""Benchmark the credential agent side by side with the runs it replaces.

    python3 bench/agent.py                  # 200 runs of each, 20 aws commands each way
    python3 bench/agent.py --runs 10 --aws-runs 3   # smoke test

Part 1, interleaved runs against the fakes (no delay), the figures
docs/agent.md quotes:
  --version              start-up alone
  served by the agent    the credential process answered from the agent's memory
  direct, no agent       the credential process with no agent at the socket
                         (one failed connect, then the exchange)
  direct, --no-agent     the same without even the connect
The goal: served within 1.3x --version; "no agent" indistinguishable from
"--no-agent".

Part 2: N `aws sts get-caller-identity` in a row through a credential_process
profile, against a fake STS whose every answer is 100 ms slow: direct
(GCP_AWS_CRED_NO_AGENT=1), then with the agent, with the number of
AssumeRoleWithWebIdentity calls the fake STS saw for each.

Everything runs on loopback; the binaries are built with the release flags
into a temporary directory, which is removed.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLE = "arn:aws:iam::123456789012:role/aws-allow-gcp-access"
RELEASE_FLAGS = ["-trimpath", "-tags", "nethttpomithttp2", "-ldflags=-s -w"]


def build(out, pkg, flags=()):
    subprocess.run(["go", "build", *flags, "-o", out, pkg], cwd=ROOT, env=dict(os.environ, CGO_ENABLED="0"), check=True)


def timed(argv, env):
    start = time.perf_counter_ns()
    p = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter_ns() - start) / 1e9
    if p.returncode != 0:
        sys.exit(f"{argv}: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
    return elapsed


def start_fakes(binary, delay):
    p = subprocess.Popen([binary, "-sts-delay", delay], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    env = {}
    for line in p.stdout:
        if not line.strip():
            break
        k, v = line.strip().split("=", 1)
        env[k] = v
    return p, env


def stop_fakes(p):
    p.stdin.close()
    err = p.stderr.read()
    p.wait()
    for line in err.splitlines():
        if line.startswith("assume_role_with_web_identity="):
            return int(line.split("=")[1])
    return None


def start_agent(binary, env, sock):
    a = subprocess.Popen([binary, "agent", "--socket", sock], env=env, stderr=subprocess.PIPE)
    for _ in range(200):
        if subprocess.run([binary, "agent", "--check", "--socket", sock], env=env, capture_output=True).returncode == 0:
            return a
        time.sleep(0.05)
    a.kill()
    sys.exit("the agent did not start: " + a.stderr.read().decode(errors="replace"))


def stop_agent(a):
    a.terminate()
    a.wait(timeout=40)


def fmt_ms(s):
    return f"{s * 1000:.2f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--aws-runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="gcp-aws-cred-agent-bench-")
    try:
        bin_ = os.path.join(tmp, "gcp-aws-cred")
        fakes_bin = os.path.join(tmp, "agentfakes")
        print("building…", file=sys.stderr)
        build(bin_, ".", RELEASE_FLAGS)
        build(fakes_bin, "./bench/agentfakes")
        rundir = os.path.join(tmp, "run")
        os.mkdir(rundir, 0o700)
        sock = os.path.join(rundir, "agent.sock")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GCP_AWS_CRED_"))}
        base.update(HOME=tmp, AWS_EC2_METADATA_DISABLED="true", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")

        # Part 1.
        fk, fenv = start_fakes(fakes_bin, "0s")
        env = dict(base, **fenv, GCP_AWS_CRED_AGENT_SOCKET=sock)
        agent = start_agent(bin_, env, sock)
        absent = dict(env, GCP_AWS_CRED_AGENT_SOCKET=os.path.join(rundir, "none.sock"))
        contenders = {
            "--version": ([bin_, "--version"], env),
            "served by the agent": ([bin_, "--role", ROLE], env),
            "direct, no agent at the socket": ([bin_, "--role", ROLE], absent),
            "direct, --no-agent": ([bin_, "--role", ROLE, "--no-agent"], env),
        }
        times = {k: [] for k in contenders}
        for i in range(args.warmup + args.runs):
            for k, (argv, e) in contenders.items():
                t = timed(argv, e)
                if i >= args.warmup:
                    times[k].append(t)
        stop_agent(agent)
        calls = stop_fakes(fk)
        med = {k: statistics.median(v) for k, v in times.items()}
        p10 = {k: sorted(v)[len(v) // 10] for k, v in times.items()}
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"\nPart 1: {args.runs} interleaved runs each (after {args.warmup} warm-up), median [p10–p90], load average {load:.1f}")
        for k, v in times.items():
            v = sorted(v)
            print(f"  {k:34s} {fmt_ms(med[k]):>10s}  [{fmt_ms(v[len(v) // 10])} – {fmt_ms(v[len(v) * 9 // 10])}]")
        for name, m in (("median", med), ("p10", p10)):
            print(f"  {name}: served / --version {m['served by the agent'] / m['--version']:.2f}x (goal ≤ 1.3x), "
                  f"direct / served {m['direct, no agent at the socket'] / m['served by the agent']:.2f}x, "
                  f"no agent at the socket / --no-agent {m['direct, no agent at the socket'] / m['direct, --no-agent']:.3f}x")
        print(f"  STS exchanges in part 1: {calls} (2 direct contenders x {args.warmup + args.runs} runs + 1 by the agent)")

        # Part 2.
        if args.aws_runs == 0:
            return
        if shutil.which("aws") is None:
            print("\nPart 2 skipped: no aws on PATH")
            return
        fk, fenv = start_fakes(fakes_bin, "100ms")
        cfg = os.path.join(tmp, "config")
        with open(cfg, "w") as f:
            f.write(f"[profile gcp]\ncredential_process = {bin_} --role {ROLE}\nregion = us-east-1\n")
        env = dict(base, **fenv, AWS_CONFIG_FILE=cfg, AWS_DEFAULT_REGION="us-east-1", GCP_AWS_CRED_AGENT_SOCKET=sock)
        aws = ["aws", "--profile", "gcp", "sts", "get-caller-identity"]
        start = time.perf_counter()
        for _ in range(args.aws_runs):
            timed(aws, dict(env, GCP_AWS_CRED_NO_AGENT="1"))
        direct = time.perf_counter() - start
        direct_calls = stop_fakes(fk)
        fk, fenv = start_fakes(fakes_bin, "100ms")
        env.update(fenv)
        agent = start_agent(bin_, env, sock)
        start = time.perf_counter()
        for _ in range(args.aws_runs):
            timed(aws, env)
        served = time.perf_counter() - start
        stop_agent(agent)
        agent_calls = stop_fakes(fk)
        print(f"\nPart 2: {args.aws_runs} aws sts get-caller-identity in a row, fake STS 100 ms slow")
        print(f"  direct:         {direct:.2f} s total, {direct / args.aws_runs * 1000:.0f} ms each, {direct_calls} AssumeRoleWithWebIdentity calls")
        print(f"  with the agent: {served:.2f} s total, {served / args.aws_runs * 1000:.0f} ms each, {agent_calls} AssumeRoleWithWebIdentity call(s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
