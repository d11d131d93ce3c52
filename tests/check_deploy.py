#!/usr/bin/env python3
"""check_deploy: deploy/compose and deploy/kubernetes say what they must
(issue 12), since neither Compose nor a cluster can run here.

Compose (docker-compose.yml): 1 master + 2 replicas + 3 Sentinels + hapanel;
every Redis node with requirepass, masterauth and AOF, the replicas
following the master by name and announcing their names; the Sentinel
template with quorum 2, down-after 5000, resolve-hostnames and
announce-hostnames; hapanel with a healthcheck running --healthcheck, its
history on a volume, secrets from an env file, a read-only root. The join
file: hapanel alone on an external network. Every HAPANEL_*/REDIS_* name
they set is one hapanel reads (from `hapanel --sample-config`), and the
settings they give pass `hapanel --check-config`.

Kubernetes (hapanel.yaml): a Secret, a ConfigMap holding an INI that
`hapanel --check-config` accepts with the Secret's values, a PVC, a
Deployment (one replica, non-root, read-only root file system, no
privilege escalation, resource limits, liveness and readiness on
/api/v1/health, the PVC at the data dir), and a Service to its port."""

import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
BIN = os.environ.get("HAPANEL_BIN", os.path.join(REPO, "build", "hapanel"))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def env_names():
    text = subprocess.run([BIN, "--sample-config"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"; env (\S+),", text))


def check_config(ini_text, env):
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write(ini_text)
    try:
        e = {k: v for k, v in os.environ.items() if not k.startswith(("HAPANEL_", "REDIS_"))}
        e.update(env)
        args = [BIN, "--check-config"] + (["--config", f.name] if ini_text else [])
        return subprocess.run(args, capture_output=True, text=True, env=e)
    finally:
        os.unlink(f.name)


def read_env_file(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k] = v
    return out


def compose(names):
    d = os.path.join(REPO, "deploy", "compose")
    c = yaml.safe_load(open(os.path.join(d, "docker-compose.yml")))
    sv = c.get("services", {})
    want = {"redis-master", "redis-replica-1", "redis-replica-2", "sentinel-1", "sentinel-2",
            "sentinel-3", "hapanel"}
    check(set(sv) == want, "compose services %s, want %s" % (sorted(sv), sorted(want)))
    for n in ("redis-master", "redis-replica-1", "redis-replica-2"):
        cmd = str(sv.get(n, {}).get("command", ""))
        for opt in ("--requirepass", "--masterauth", "--appendonly yes", "--replica-announce-ip " + n):
            check(opt in cmd, "compose %s: %r not in its command" % (n, opt))
        check(sv.get(n, {}).get("healthcheck"), "compose %s has no healthcheck" % n)
        check(any(str(v).endswith(":/data") for v in sv.get(n, {}).get("volumes", [])),
              "compose %s keeps /data on no volume" % n)
        if n != "redis-master":
            check("--replicaof redis-master 6379" in cmd, "compose %s does not follow the master" % n)
    tpl = open(os.path.join(d, "sentinel.conf.template")).read()
    for line in ("sentinel monitor mymaster redis-master 6379 2",
                 "sentinel down-after-milliseconds mymaster 5000", "sentinel resolve-hostnames yes",
                 "sentinel announce-hostnames yes", "requirepass __PASSWORD__",
                 "sentinel auth-pass mymaster __PASSWORD__"):
        check(line in tpl, "sentinel template lacks %r" % line)
    for n in ("sentinel-1", "sentinel-2", "sentinel-3"):
        s = sv.get(n, {})
        check(s.get("healthcheck"), "compose %s has no healthcheck" % n)
        check(any(str(v).endswith(":/data") for v in s.get("volumes", [])),
              "compose %s: its rewritten config is on no volume" % n)
    hp = sv.get("hapanel", {})
    hc = hp.get("healthcheck", {}).get("test", [])
    check("--healthcheck" in hc, "compose hapanel healthcheck %r does not run --healthcheck" % hc)
    check(any(str(v).endswith(":/var/lib/hapanel") for v in hp.get("volumes", [])),
          "compose hapanel: the history is on no volume")
    check(hp.get("env_file") == "hapanel.env", "compose hapanel: secrets not from hapanel.env")
    check(hp.get("read_only") is True, "compose hapanel: root file system not read-only")
    env = dict(hp.get("environment", {}))
    example = read_env_file(os.path.join(d, "hapanel.env.example"))
    for k in list(env) + list(example):
        check(k in names, "compose sets %s, which hapanel does not read" % k)
    merged = dict(example, **{k: str(v) for k, v in env.items()})
    r = check_config("", merged)
    check(r.returncode == 0, "compose settings refused: %s" % r.stderr.strip())
    # the file that joins an existing deployment
    j = yaml.safe_load(open(os.path.join(d, "docker-compose.join.yml")))
    check(set(j.get("services", {})) == {"hapanel"}, "join file services %r" % list(j.get("services", {})))
    nets = j.get("networks", {})
    check(nets and all(v.get("external") is True for v in nets.values()),
          "join file: the network is not external: %r" % nets)
    jh = j["services"]["hapanel"]
    check("--healthcheck" in jh.get("healthcheck", {}).get("test", []), "join file: no healthcheck")
    for k in jh.get("environment", {}):
        check(k in names, "join file sets %s, which hapanel does not read" % k)
    # two panels on three etcd members
    h = yaml.safe_load(open(os.path.join(d, "docker-compose.ha.yml")))
    hs = h.get("services", {})
    etcds = sorted(n for n in hs if n.startswith("etcd-"))
    panels = sorted(n for n in hs if n.startswith("hapanel-"))
    check(len(etcds) == 3 and len(panels) == 2, "ha file services %r" % sorted(hs))
    urls = set()
    for n in panels:
        p = hs[n]
        pe = {k: str(v) for k, v in p.get("environment", {}).items()}
        for k in pe:
            check(k in names, "ha file %s sets %s, which hapanel does not read" % (n, k))
        check("--healthcheck" in p.get("healthcheck", {}).get("test", []), "ha file %s: no healthcheck" % n)
        check(p.get("env_file") == "hapanel.env", "ha file %s: secrets not from hapanel.env" % n)
        eps = pe.get("HAPANEL_ETCD_ENDPOINTS", "").split(",")
        check(sorted(u.split("//")[1].split(":")[0] for u in eps if "//" in u) == etcds,
              "ha file %s: etcd endpoints %r are not the three members" % (n, eps))
        urls.add(pe.get("HAPANEL_ADVERTISE_URL"))
        r = check_config("", dict(example, **pe))
        check(r.returncode == 0, "ha file %s settings refused: %s" % (n, r.stderr.strip()))
    check(len(urls) == 2 and None not in urls, "ha file: the panels do not advertise two URLs: %r" % urls)
    for n in etcds:
        cmd = hs[n].get("command", "")
        check(all(("%s=http://%s:2380" % (m, m)) in cmd for m in etcds),
              "ha file %s: --initial-cluster does not name the three members" % n)


def kubernetes(names):
    docs = [x for x in yaml.safe_load_all(open(os.path.join(REPO, "deploy", "kubernetes", "hapanel.yaml"))) if x]
    kinds = {x["kind"]: x for x in docs}
    for k in ("Secret", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"):
        check(k in kinds, "kubernetes: no %s" % k)
    if not all(k in kinds for k in ("Secret", "ConfigMap", "Deployment", "Service", "PersistentVolumeClaim")):
        return
    secret = {k: str(v) for k, v in kinds["Secret"].get("stringData", {}).items()}
    for k in secret:
        check(k in names, "kubernetes Secret holds %s, which hapanel does not read" % k)
    ini = kinds["ConfigMap"]["data"]["hapanel.ini"]
    r = check_config(ini, secret)
    check(r.returncode == 0, "kubernetes ConfigMap + Secret refused: %s" % r.stderr.strip())
    dep = kinds["Deployment"]["spec"]
    check(dep.get("replicas") == 1, "Deployment replicas %r, want 1" % dep.get("replicas"))
    pod = dep["template"]["spec"]
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "pod not runAsNonRoot")
    check(pod.get("securityContext", {}).get("runAsUser") == 10001, "pod not the image's user 10001")
    c = pod["containers"][0]
    sc = c.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True, "container root file system not read-only")
    check(sc.get("allowPrivilegeEscalation") is False, "container may escalate privileges")
    lim = c.get("resources", {}).get("limits", {})
    check("cpu" in lim and "memory" in lim, "container limits %r" % lim)
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    for probe in ("livenessProbe", "readinessProbe"):
        g = c.get(probe, {}).get("httpGet", {})
        check(g.get("path") == "/api/v1/health" and ports.get(g.get("port"), g.get("port")) == 8080,
              "%s %r" % (probe, g))
    check(any(e.get("secretRef", {}).get("name") == kinds["Secret"]["metadata"]["name"]
              for e in c.get("envFrom", [])), "the container does not read the Secret")
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    data = [n for n, v in vols.items() if v.get("persistentVolumeClaim", {}).get("claimName")
            == kinds["PersistentVolumeClaim"]["metadata"]["name"]]
    check(data and mounts.get(data[0]) == "/var/lib/hapanel", "the PVC is not at the data dir")
    check("data_dir = /var/lib/hapanel" in ini, "the INI's data dir is not the PVC's mount")
    svc = kinds["Service"]["spec"]
    check(svc.get("selector") == dep["selector"]["matchLabels"], "the Service selects other pods")
    check(any(p.get("targetPort") in ("http", 8080) for p in svc.get("ports", [])), "Service port")


def main():
    names = env_names()
    check(len(names) > 40 and "HAPANEL_API_TOKENS" in names, "env names from --sample-config: %d" % len(names))
    compose(names)
    kubernetes(names)
    print("check_deploy: %d problem(s)" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
