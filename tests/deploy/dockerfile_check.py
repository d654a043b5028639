#!/usr/bin/env python3
"""Checks the Dockerfile against the binary CI builds, so that the image recipe cannot rot
while no registry is reachable to build it.

1. Every shared library `ldd BINARY` reports belongs (`dpkg -S`) to a package the runtime stage
   installs with apt-get. None is assumed to come with the base image: the runtime stage lists
   libc6, libgcc-s1 and libstdc++6 too.
2. Every package the runtime stage installs provides one of those libraries, except the few in
   RUNTIME_EXTRAS (each with its reason): the runtime image carries nothing unused.
3. Every package tools/install-deps.sh installs is installed by the build stage, or is on
   TEST_ONLY (what only tests, benchmarks or the integration tier's control plane need).

Usage: dockerfile_check.py --dockerfile Dockerfile --binary build/sandboxd
                           --install-deps tools/install-deps.sh
Exit 0 when all hold; otherwise 1, one line per problem on stderr.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

# Installed by the runtime stage without being a library of the binary.
RUNTIME_EXTRAS = {
    "ca-certificates": "the system trust store, for a kubeconfig whose cluster names no CA",
}

# In tools/install-deps.sh, not needed to build the binary.
TEST_ONLY = {
    "git": "developer tooling",
    "curl": "tools/k8s/up.sh probes the control plane",
    "openssl": "tools/k8s/up.sh makes the test PKI",
    "python3": "test helpers (fault proxy, PV provisioner, this check)",
    "libgtest-dev": "tests",
    "libgmock-dev": "tests",
    "googletest": "tests",
    "libbenchmark-dev": "bench/",
}


def logical_lines(text):
    """Dockerfile lines with backslash continuations joined and comments dropped."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not current and line.lstrip().startswith("#"):
            continue
        if current and (not line.strip() or line.lstrip().startswith("#")):
            continue  # an empty line or a comment inside a continued instruction (as Docker)
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            out.append(current.strip())
        current = ""
    if current.strip():
        out.append(current.strip())
    return out


def stages(dockerfile_text):
    """[(name, [instruction lines])] in order."""
    result = []
    for line in logical_lines(dockerfile_text):
        word = line.split(None, 1)[0].upper()
        if word == "FROM":
            parts = line.split()
            name = parts[3] if len(parts) >= 4 and parts[2].upper() == "AS" else ""
            result.append((name, parts[1], []))
        elif result:
            result[-1][2].append(line)
    return result


def apt_packages(instructions):
    """Packages named by `apt-get install` in the stage's RUN instructions."""
    packages = []
    for line in instructions:
        if not line.upper().startswith("RUN "):
            continue
        for command in re.split(r"&&|;|\|\|", line[4:]):
            words = shlex.split(command)
            # Skip leading VAR=value assignments.
            while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
                words = words[1:]
            if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
                after = words[words.index("install") + 1:]
                packages += [w for w in after if not w.startswith("-")]
    return packages


def shared_libraries(binary):
    """[(soname, path)] from ldd; the vDSO (no file) is left out. Exits on 'not found'."""
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith("linux-vdso") or line.startswith("linux-gate"):
            continue
        if "=>" in line:
            name, rest = [p.strip() for p in line.split("=>", 1)]
            if rest.startswith("not found"):
                sys.exit(f"ldd: {name} not found for {binary}")
            path = rest.split(" (", 1)[0].strip()
        else:
            path = line.split(" (", 1)[0].strip()  # the dynamic loader
            name = os.path.basename(path)
        libs.append((name, path))
    return libs


def owning_packages(path):
    """Debian packages (without :arch) that own `path`, trying the merged-/usr aliases too."""
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/usr/"):
            candidates.append(p[len("/usr"):])
        else:
            candidates.append("/usr" + p)
    for candidate in candidates:
        r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if r.returncode != 0:
            continue
        owners = set()
        for line in r.stdout.splitlines():
            if line.startswith("diversion "):
                continue
            names = line.rsplit(": ", 1)[0]
            for name in names.split(","):
                owners.add(name.strip().split(":", 1)[0])
        if owners:
            return owners
    return set()


def install_deps_packages(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"packages=\((.*?)\)", text, re.S)
    if not m:
        sys.exit(f"{path}: no packages=( ... ) list found")
    words = []
    for line in m.group(1).splitlines():
        words += line.split("#", 1)[0].split()
    return words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dockerfile", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--install-deps", required=True)
    args = ap.parse_args()

    all_stages = stages(open(args.dockerfile, encoding="utf-8").read())
    by_name = {name: (image, lines) for name, image, lines in all_stages if name}
    problems = []
    if "build" not in by_name or "runtime" not in by_name:
        sys.exit(f"{args.dockerfile}: expected stages named 'build' and 'runtime'")
    if all_stages[-1][0] != "runtime":
        problems.append("the last stage (the image) is not 'runtime'")
    runtime_image = by_name["runtime"][0]
    if not runtime_image.startswith("debian:12"):
        problems.append(f"the runtime stage is based on {runtime_image}, not Debian 12")
    runtime = set(apt_packages(by_name["runtime"][1]))
    build = set(apt_packages(by_name["build"][1]))
    if not runtime:
        problems.append("the runtime stage installs no packages with apt-get")

    # 1 and 2: libraries against the runtime stage's packages.
    needed = {}
    libs = shared_libraries(args.binary)
    for name, path in libs:
        owners = owning_packages(path)
        if not owners:
            problems.append(f"{name} ({path}) belongs to no Debian package (dpkg -S): the "
                            "runtime image cannot get it from apt")
            continue
        for owner in owners:
            needed.setdefault(owner, []).append(name)
        if not owners & runtime:
            problems.append(f"{name} ({path}) is in {', '.join(sorted(owners))}, which the "
                            "runtime stage does not install")
    for package in sorted(runtime - set(needed) - set(RUNTIME_EXTRAS)):
        problems.append(f"the runtime stage installs {package}, which provides none of the "
                        "binary's libraries (remove it, or say why in RUNTIME_EXTRAS)")

    # 3: the build stage against tools/install-deps.sh.
    deps = install_deps_packages(args.install_deps)
    for package in deps:
        if package not in build and package not in TEST_ONLY:
            problems.append(f"tools/install-deps.sh installs {package}, which the build stage "
                            "does not (add it there, or to TEST_ONLY with the reason)")
    for package in sorted(set(TEST_ONLY) - set(deps)):
        problems.append(f"TEST_ONLY names {package}, which tools/install-deps.sh no longer "
                        "installs")

    for p in problems:
        print("dockerfile check: " + p, file=sys.stderr)
    if problems:
        return 1
    print(f"dockerfile check: {len(libs)} libraries of {args.binary} from "
          f"{len(needed)} packages, all installed by the runtime stage "
          f"({', '.join(sorted(runtime))}); build stage covers tools/install-deps.sh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
