#!/usr/bin/env python3
"""Checks the deployment files offline: deploy/k8s against Kubernetes' and Strimzi's schemas
and the platform's own rules, deploy/systemd against systemd and the same rules.

  validate.py --repo ROOT [--k8s DIR] [--systemd DIR] [--binaries DIR]
      prints each problem and exits 1 if there is any, 0 otherwise
  validate.py --repo ROOT --binaries DIR --self-test
      copies the files into temporary folders, breaks them in known ways, and exits 0 only
      if the validator (run as separate processes over those folders) refuses every breakage

Schemas (installed by tests/deploy/setup.sh, nothing is fetched here):
- Kubernetes: the strict JSON schemas of kubernetes-validate (unknown fields are errors, as
  with `kubectl apply --validate=strict`) for each version of K8S_VERSIONS;
- Strimzi: the openAPIV3Schema of each CRD of .cache/strimzi-crds, made strict the same way
  (unknown fields are errors where the CRD does not preserve them), x-kubernetes-int-or-string
  and nullable honoured. CEL rules (x-kubernetes-validations) are not evaluated.

The platform's own rules are the ones schemas cannot see: every topic of docs/topics.md with
its durability settings, every flag a container or unit passes known to that binary's
--help, the gRPC probes on the port the binary listens on, the private files (tokens,
signing keys) readable by their owner only, who may write which topic, the writers' failover
(--ownership group with several replicas, --advertise from the pod IP, Read on the owners
group, a PodDisruptionBudget and a rollout that keep two up), the persons' data keys (one
--key-dir shared by every instance of the three services: the ReadWriteMany claim kam-keys,
one state directory and one user on a VM), and so on.
"""
import argparse
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from importlib import resources

import jsonschema
import yaml

# libyaml's parser where PyYAML has it (its wheels do): the CRDs are 1 MB of YAML.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
from referencing import Registry, Resource

# The oldest Kubernetes the manifests support (Strimzi 0.51 needs 1.30; gRPC probes, the
# pod-index label) and the newest whose schemas kubernetes-validate 1.37 carries.
K8S_VERSIONS = tuple(os.environ.get("KAM_K8S_VERSIONS", "1.30 1.37").split())
STRIMZI_GROUP = "kafka.strimzi.io"
IMAGE = "kam-platform"
BIN_DIR = "/opt/kam/bin/"
# Binaries that serve gRPC (their --listen is a gRPC port, probed with grpc.health.v1).
GRPC_SERVERS = {"kam-programme-service", "kam-metrics-service", "kam-history-projection"}
# The writers: the topic each one alone writes.
WRITERS = {"kam-programme-service": "programme", "kam-metrics-service": "account-metrics"}
# Flags whose file the binary refuses unless only its owner can read it.
PRIVATE_FILE_FLAGS = ("--tokens", "--signing-key", "--kafka-sasl-password-file")
# Binaries that seal or open personal data with the persons' keys (--key-dir): every instance
# of them must see the same directory (docs/deployment.md, "Personal data keys").
KEY_DIR_BINARIES = {"kam-programme-service", "kam-metrics-service", "kam-history-projection"}
# The PersistentVolumeClaim that holds that directory in deploy/k8s.
KEY_CLAIM = "kam-keys"
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")


def without_keys(binary):
    """What a binary of KEY_DIR_BINARIES does without --key-dir."""
    if binary in WRITERS:
        return "it writes personal data to Kafka unsealed, never to be erased"
    return ("it shows sealed personal fields as the log holds them and destroys no erased "
            "person's key")


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")


# ---------------------------------------------------------------------------------------
# Loading


def load_yaml_docs(directory, problems):
    """[(file name, index, document)] of every *.yaml in directory but the kustomization."""
    docs = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".yaml") or name == "kustomization.yaml":
            continue
        path = os.path.join(directory, name)
        try:
            with open(path) as f:
                loaded = list(yaml.safe_load_all(f))
        except yaml.YAMLError as e:
            problems.add(name, f"is not YAML: {e}")
            continue
        for i, doc in enumerate(loaded):
            if doc is None:
                continue
            if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                problems.add(f"{name}#{i}", "is not a Kubernetes object (no kind / apiVersion)")
                continue
            docs.append((name, i, doc))
    return docs


def where(doc_ref):
    name, i, doc = doc_ref
    return f"{name}#{i} {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


# ---------------------------------------------------------------------------------------
# Schemas


class KubernetesSchemas:
    """kubernetes-validate's strict schemas of one Kubernetes version, loaded once."""

    def __init__(self, version):
        root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
        self.dir = root / f"v{version}.0-local-strict"
        if not self.dir.is_dir():
            raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {version}")
        defs = json.loads((self.dir / "_definitions.json").read_text())
        self.defs = defs
        self.registry = Registry().with_resource(defs["$id"], Resource.from_contents(defs))
        self.validators = {}

    def validator(self, api_version, kind):
        key = (api_version, kind)
        if key not in self.validators:
            group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            path = self.dir / f"{kind.lower()}-{group}.json"
            if not path.is_file():
                self.validators[key] = None
            else:
                schema = json.loads(path.read_text())
                self.validators[key] = jsonschema.Draft202012Validator(
                    schema, registry=self.registry)
        return self.validators[key]

    def object_meta_validator(self):
        schema = {"$ref": f"{self.defs['$id']}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
        return jsonschema.Draft202012Validator(schema, registry=self.registry)


def strict_crd_schema(node):
    """A CRD's structural OpenAPI schema as JSON Schema, refusing unknown fields."""
    if isinstance(node, list):
        return [strict_crd_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in ("properties", "patternProperties"):
            out[k] = {name: strict_crd_schema(s) for name, s in v.items()}
        elif k in ("items", "additionalProperties", "not") and isinstance(v, dict):
            out[k] = strict_crd_schema(v)
        elif k in ("oneOf", "anyOf", "allOf"):
            out[k] = strict_crd_schema(v)
        elif k.startswith("x-kubernetes-") or k in ("nullable", "description", "format"):
            continue
        else:
            out[k] = v
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if (node.get("type") == "object" and "properties" in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
            and "additionalProperties" not in node):
        out["additionalProperties"] = False
    return out


class StrimziSchemas:
    def __init__(self, crd_dir):
        self.validators = {}
        self.cel_rules = 0
        self.version = "?"
        files = sorted(f for f in os.listdir(crd_dir) if f.endswith(".yaml"))
        if not files:
            raise SystemExit(f"no Strimzi CRDs in {crd_dir}; run tests/deploy/setup.sh")
        for f in files:
            with open(os.path.join(crd_dir, f)) as fh:
                text = fh.read()
            self.cel_rules += text.count("x-kubernetes-validations")
            crd = yaml.load(text, Loader=YAML_LOADER)
            kind = crd["spec"]["names"]["kind"]
            for v in crd["spec"]["versions"]:
                if not v.get("served", True):
                    continue
                schema = strict_crd_schema(v["schema"]["openAPIV3Schema"])
                self.validators[(f"{crd['spec']['group']}/{v['name']}", kind)] = \
                    jsonschema.Draft4Validator(schema)

    def validator(self, api_version, kind):
        return self.validators.get((api_version, kind))


def schema_errors(validator, doc, limit=4):
    errors = sorted(validator.iter_errors(doc), key=jsonschema.exceptions.relevance)
    out = []
    for e in errors[:limit]:
        path = ".".join(str(p) for p in e.absolute_path) or "(top)"
        msg = e.message if len(e.message) < 220 else e.message[:220] + "..."
        out.append(f"{path}: {msg}")
    return out


def check_schemas(docs, k8s, strimzi, problems):
    for ref in docs:
        _, _, doc = ref
        api, kind = doc["apiVersion"], doc["kind"]
        if api.split("/")[0] == STRIMZI_GROUP:
            v = strimzi.validator(api, kind)
            if v is None:
                problems.add(where(ref), f"Strimzi's CRDs define no {kind} in {api}")
                continue
            for e in schema_errors(v, doc):
                problems.add(where(ref), f"Strimzi {api} schema: {e}")
            meta = k8s[0].object_meta_validator()
            for e in schema_errors(meta, doc.get("metadata") or {}):
                problems.add(where(ref), f"metadata: {e}")
            continue
        for version, schemas in zip(K8S_VERSIONS, k8s):
            v = schemas.validator(api, kind)
            if v is None:
                problems.add(where(ref), f"Kubernetes {version} has no schema for {api} {kind}")
                continue
            for e in schema_errors(v, doc):
                problems.add(where(ref), f"Kubernetes {version} schema: {e}")


# ---------------------------------------------------------------------------------------
# The binaries' flags


class Binaries:
    def __init__(self, directory):
        self.directory = directory
        self.cache = {}

    def flags(self, binary):
        """The flag names `binary --help` lists, or None if the binary is not built."""
        if binary not in self.cache:
            path = os.path.join(self.directory or "", binary)
            if not self.directory or not os.access(path, os.X_OK):
                self.cache[binary] = None
            else:
                out = subprocess.run([path, "--help"], capture_output=True, text=True,
                                     timeout=30)
                text = out.stdout + out.stderr
                self.cache[binary] = set(re.findall(r"^\s+--([a-z0-9-]+) \(default", text, re.M))
        return self.cache[binary]


def check_flags(place, binary, argv, binaries, problems):
    """argv: the binary's arguments; every one is --flag VALUE (or --flag=VALUE)."""
    known = binaries.flags(binary)
    if known is None:
        problems.add(place, f"cannot check the flags: {binary} is not built in "
                            f"{binaries.directory} (build first)")
        return {}
    values = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--"):
            problems.add(place, f"'{arg}' is not a flag ({binary} takes --flag VALUE pairs)")
            i += 1
            continue
        name, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                problems.add(place, f"--{name} has no value")
                i += 1
                continue
            value = argv[i + 1]
            i += 1
        i += 1
        if name not in known:
            problems.add(place, f"--{name} is not a flag of {binary} (see {binary} --help)")
        if f"--{name}" in values:
            problems.add(place, f"--{name} is given twice")
        values[f"--{name}"] = value
    return values


def exec_line(script):
    """The words of the `exec /opt/kam/bin/...` command of a shell script."""
    joined = re.sub(r"\\\n", " ", script)
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("exec " + BIN_DIR):
            return shlex.split(line)[1:]
    return None


def container_invocation(container):
    """(binary, argv) of a container that runs a platform binary, else None."""
    words = list(container.get("command") or []) + list(container.get("args") or [])
    if words[:2] == ["/bin/sh", "-c"] and len(words) >= 3:
        words = exec_line(words[2])
        if words is None:
            return None
    if not words or not words[0].startswith(BIN_DIR):
        return None
    return os.path.basename(words[0]), words[1:]


# ---------------------------------------------------------------------------------------
# The platform's rules for deploy/k8s


def expected_topics(repo, problems):
    """{topic: kind} from the code (libs/eventlog/topics.h, the aggregate types) and
    docs/topics.md, which must agree."""
    topics = {}
    text = open(os.path.join(repo, "libs/eventlog/topics.h")).read()
    m = re.search(r"kInboundKinds\[\]\s*=\s*\{([^}]*)\}", text)
    kinds = re.findall(r'"([a-z-]+)"', m.group(1)) if m else []
    if not kinds:
        problems.add("libs/eventlog/topics.h", "kInboundKinds not found")
    for header, const in (("libs/domain/programme.h", "kProgrammeAggregateType"),
                          ("libs/domain/metrics.h", "kMetricsAggregateType")):
        m = re.search(const + r'\s*=\s*"([a-z-]+)"', open(os.path.join(repo, header)).read())
        if not m:
            problems.add(header, f"{const} not found")
            continue
        topics[f"kam.{m.group(1)}.v1"] = "event"
    for k in kinds:
        topics[f"kam.inbound.{k}.v1"] = "inbound"
        topics[f"kam.inbound.{k}.v1.dlq"] = "dlq"
    topics["kam.checkpoints.v1"] = "checkpoints"
    documented = set(re.findall(r"^\| `(kam\.[a-z0-9.-]+)` \|", open(
        os.path.join(repo, "docs/topics.md")).read(), re.M))
    for t in sorted(documented - set(topics)):
        problems.add("docs/topics.md", f"documents {t}, which the code does not name")
    for t in sorted(t for t, k in topics.items() if k != "dlq" and t not in documented):
        problems.add("docs/topics.md", f"does not document {t}")
    return topics


def by_kind(docs, kind):
    return [r for r in docs if r[2]["kind"] == kind]


def check_topics(docs, repo, settings, problems):
    topics = expected_topics(repo, problems)
    partitions = settings.get("KAM_PARTITIONS")
    seen = {}
    for ref in by_kind(docs, "KafkaTopic"):
        spec = ref[2].get("spec") or {}
        name = spec.get("topicName") or ref[2]["metadata"]["name"]
        if name in seen:
            problems.add(where(ref), f"{name} is declared twice")
        seen[name] = ref
        kind = topics.get(name)
        if kind is None:
            problems.add(where(ref), f"{name} is not a topic of the platform (docs/topics.md)")
            continue
        want = {"retention.ms": -1, "retention.bytes": -1, "cleanup.policy": "delete",
                "min.insync.replicas": 2, "unclean.leader.election.enable": False}
        config = spec.get("config") or {}
        for key, value in want.items():
            if str(config.get(key)).lower() != str(value).lower():
                problems.add(where(ref), f"{name}: {key} must be {str(value).lower()} "
                                         f"(eventlog::EnsureTopic refuses it), is {config.get(key)}")
        if spec.get("replicas") != 3:
            problems.add(where(ref), f"{name}: replicas must be 3, is {spec.get('replicas')}")
        want_partitions = 1 if kind in ("dlq", "checkpoints") else int(partitions or 0)
        if spec.get("partitions") != want_partitions:
            problems.add(where(ref), f"{name}: partitions must be {want_partitions} "
                                     f"({'one' if want_partitions == 1 else 'KAM_PARTITIONS'}), "
                                     f"is {spec.get('partitions')}")
    for t in sorted(set(topics) - set(seen)):
        problems.add("11-topics.yaml", f"no KafkaTopic for {t}")
    return topics


def acl_ops(user, resource_type, name):
    """Operations a KafkaUser's allow rules give on a resource name (literal or prefix)."""
    ops = set()
    for acl in ((user.get("spec") or {}).get("authorization") or {}).get("acls") or []:
        r = acl.get("resource") or {}
        if r.get("type") != resource_type or acl.get("type", "allow") != "allow":
            continue
        rn = r.get("name", "")
        if rn == "*" or (r.get("patternType") == "prefix" and name.startswith(rn)) or rn == name:
            ops.update(acl.get("operations") or [])
    return ops


def check_users(docs, topics, problems):
    users = {r[2]["metadata"]["name"]: r for r in by_kind(docs, "KafkaUser")}
    for binary, aggregate in WRITERS.items():
        topic = f"kam.{aggregate}.v1"
        if binary not in users:
            problems.add("12-users.yaml", f"no KafkaUser {binary}")
            continue
        u = users[binary][2]
        if not {"Write", "Read"} <= acl_ops(u, "topic", topic):
            problems.add(where(users[binary]), f"{binary} must read and write {topic}")
        base = binary.replace("-service", "-writer").replace("kam-", "kam.")
        if not {"Write", "Describe"} <= acl_ops(u, "transactionalId", base + ".p0"):
            problems.add(where(users[binary]), f"{binary} needs Write on transactional ids {base}*")
    for name, ref in users.items():
        u = ref[2]
        for topic, kind in topics.items():
            ops = acl_ops(u, "topic", topic)
            if "Write" not in ops and "All" not in ops:
                continue
            writer = {f"kam.{a}.v1": b for b, a in WRITERS.items()}.get(topic)
            if kind == "event" and name != writer:
                problems.add(where(ref), f"{name} may write {topic}, which only {writer} writes")
            if kind == "checkpoints" and name not in WRITERS:
                problems.add(where(ref), f"{name} may write {topic}, which only the writers write")
        if name.startswith("kam-publisher-"):
            written = [t for t in topics if acl_ops(u, "topic", t) & {"Write", "All"}]
            read = [t for t in topics if acl_ops(u, "topic", t) & {"Read", "All"}]
            if len(written) != 1 or topics[written[0]] != "inbound" or read:
                problems.add(where(ref), f"a publisher writes exactly one inbound topic and reads "
                                         f"nothing; {name} writes {written}, reads {read}")


def pod_specs(docs):
    for ref in docs:
        kind = ref[2]["kind"]
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield ref, ((ref[2].get("spec") or {}).get("template") or {}).get("spec") or {}


def check_quantities(ref, container, problems):
    res = container.get("resources") or {}
    for part in ("requests", "limits"):
        for key, q in (res.get(part) or {}).items():
            if not QUANTITY.match(str(q)):
                problems.add(where(ref), f"{container.get('name')}: resources.{part}.{key} "
                                         f"'{q}' is not a Kubernetes quantity")


def mount_of(path, mounts):
    best = None
    for m in mounts:
        mp = m["mountPath"].rstrip("/") + "/"
        if path.startswith(mp) and (best is None or len(mp) > len(best["mountPath"])):
            best = m
    return best


def check_workloads(docs, binaries, repo, problems):
    users = {r[2]["metadata"]["name"] for r in by_kind(docs, "KafkaUser")}
    clusters = {r[2]["metadata"]["name"] for r in by_kind(docs, "Kafka")}
    config_maps = {r[2]["metadata"]["name"] for r in by_kind(docs, "ConfigMap")}
    claims = {r[2]["metadata"]["name"] for r in by_kind(docs, "PersistentVolumeClaim")}
    key_dirs = {}  # where in the kam-keys volume each --key-dir is: {path: [places]}
    deployment_doc = open(os.path.join(repo, "docs/deployment.md")).read() \
        if os.path.exists(os.path.join(repo, "docs/deployment.md")) else ""
    services = by_kind(docs, "Service")
    run_binaries = set()
    for ref, spec in pod_specs(docs):
        doc = ref[2]
        labels = ((doc["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        psc = spec.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True:
            problems.add(where(ref), "the pod must set securityContext.runAsNonRoot: true")
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for t in doc["spec"].get("volumeClaimTemplates") or []:
            volumes[t["metadata"]["name"]] = {"name": t["metadata"]["name"],
                                              "persistentVolumeClaim": {}}
        # Every Secret and ConfigMap: made here, by Strimzi, or named in docs/deployment.md.
        for v in volumes.values():
            if "secret" in v:
                s = v["secret"]["secretName"]
                made = s in users or any(s == f"{c}-cluster-ca-cert" for c in clusters)
                if not made and f"`{s}`" not in deployment_doc:
                    problems.add(where(ref), f"Secret {s} is neither made by Strimzi nor "
                                             "listed in docs/deployment.md")
            if "configMap" in v:
                c = v["configMap"]["name"]
                if c not in config_maps and f"`{c}`" not in deployment_doc:
                    problems.add(where(ref), f"ConfigMap {c} is neither in deploy/k8s nor "
                                             "listed in docs/deployment.md")
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and claim not in claims:
                problems.add(where(ref), f"volume {v['name']}: PersistentVolumeClaim {claim} is "
                                         "not in deploy/k8s")
        init_scripts = " ".join(" ".join(c.get("command") or []) + " " +
                                " ".join(c.get("args") or [])
                                for c in spec.get("initContainers") or [])
        for section in ("initContainers", "containers"):
            for c in spec.get(section) or []:
                cname = c.get("name")
                if c.get("image") != IMAGE:
                    problems.add(where(ref), f"{cname}: image must be '{IMAGE}' "
                                             "(kustomization.yaml sets registry and tag)")
                check_quantities(ref, c, problems)
                res = c.get("resources") or {}
                if not (res.get("requests") or {}).get("cpu") or \
                        not (res.get("requests") or {}).get("memory") or \
                        not (res.get("limits") or {}).get("memory"):
                    problems.add(where(ref), f"{cname}: needs cpu and memory requests and a "
                                             "memory limit")
                for m in c.get("volumeMounts") or []:
                    if m["name"] not in volumes:
                        problems.add(where(ref), f"{cname}: mounts volume {m['name']}, "
                                                 "which the pod does not have")
                for e in c.get("envFrom") or []:
                    name = (e.get("configMapRef") or {}).get("name")
                    if name and name not in config_maps:
                        problems.add(where(ref), f"{cname}: envFrom ConfigMap {name} is not "
                                                 "in deploy/k8s")
                inv = container_invocation(c)
                if inv is None:
                    continue
                binary, argv = inv
                run_binaries.add(binary)
                place = f"{where(ref)} {cname}"
                values = check_flags(place, binary, argv, binaries, problems)
                mounts = c.get("volumeMounts") or []
                # Files the binary refuses unless private: from a memory volume that an
                # init container filled with mode 0400 (a Secret volume under fsGroup is
                # always group-readable).
                for flag in PRIVATE_FILE_FLAGS:
                    path = values.get(flag)
                    if not path:
                        continue
                    m = mount_of(path, mounts)
                    vol = volumes.get(m["name"]) if m else None
                    if vol is None or "emptyDir" not in vol:
                        problems.add(place, f"{flag} {path}: must be on an emptyDir filled by "
                                            "an init container (Secret volumes are group-"
                                            "readable under fsGroup; the binary refuses that)")
                    elif not re.search(r"install -m 0?[46]00 \S+ " + re.escape(path), init_scripts):
                        problems.add(place, f"{flag} {path}: no init container installs it "
                                            "with mode 0400 or 0600")
                # The Kafka identity: this binary's own KafkaUser.
                for flag in ("--kafka-ssl-cert", "--kafka-ssl-key"):
                    path = values.get(flag)
                    if path:
                        m = mount_of(path, mounts)
                        vol = volumes.get(m["name"]) if m else None
                        secret = ((vol or {}).get("secret") or {}).get("secretName")
                        if secret != binary:
                            problems.add(place, f"{flag} {path}: must come from the KafkaUser "
                                                f"Secret {binary}, comes from {secret}")
                for flag, value in values.items():
                    if value.startswith("/") and not value.startswith("/opt/kam/") and \
                            flag not in ("--data-dir", "--snapshot-dir", "--key-dir") and \
                            mount_of(value, mounts) is None:
                        problems.add(place, f"{flag} {value}: no volume is mounted there")
                if binary in KEY_DIR_BINARIES:
                    check_key_dir(place, binary, values, mounts, volumes, init_scripts,
                                  key_dirs, problems)
                templates = [t["metadata"]["name"] for t in
                             doc["spec"].get("volumeClaimTemplates") or []]
                path = values.get("--data-dir")
                if path and section == "containers":
                    m = mount_of(path + "/", mounts)
                    if m is None or m["name"] not in templates:
                        problems.add(place, f"--data-dir {path}: must be on a volume of the "
                                            "StatefulSet's volumeClaimTemplates")
                # Snapshots are derived and local: a partition that moves replays from the log
                # without them. A volume of the pod's own (emptyDir, or a StatefulSet's claim),
                # never one shared by the replicas (they would overwrite each other's files).
                path = values.get("--snapshot-dir")
                if path and section == "containers":
                    m = mount_of(path + "/", mounts)
                    vol = volumes.get(m["name"]) if m else None
                    if vol is None or not ("emptyDir" in vol or m["name"] in templates):
                        problems.add(place, f"--snapshot-dir {path}: must be on an emptyDir or a "
                                            "volume of the StatefulSet's volumeClaimTemplates "
                                            "(the pod's own, writable)")
                    elif (vol.get("emptyDir") or {}).get("medium") == "Memory":
                        problems.add(place, f"--snapshot-dir {path}: not on a memory-backed "
                                            "emptyDir (snapshots grow with the data and would "
                                            "count against the memory limit)")
                if section != "containers":
                    continue
                # Ports and probes.
                listen = values.get("--listen", "")
                port = int(listen.rsplit(":", 1)[1]) if ":" in listen else None
                ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
                if binary in GRPC_SERVERS:
                    if ports.get("grpc") != port:
                        problems.add(place, f"containerPort 'grpc' must be --listen's port {port}")
                    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                        p = c.get(probe) or {}
                        if (p.get("grpc") or {}).get("port") != port:
                            problems.add(place, f"{probe} must be a gRPC health probe on "
                                                f"port {port} (grpc.health.v1)")
                else:
                    for probe in ("readinessProbe", "livenessProbe"):
                        if not c.get(probe):
                            problems.add(place, f"needs a {probe}")
                metrics = values.get("--metrics-listen", "")
                if not metrics.startswith("0.0.0.0:") or \
                        ports.get("metrics") != int(metrics.rsplit(":", 1)[1]):
                    problems.add(place, "--metrics-listen must be 0.0.0.0:<containerPort "
                                        "'metrics'> (probes and Prometheus reach it)")
                if binary in WRITERS:
                    if values.get("--partitions") not in ("$(KAM_PARTITIONS)", "$KAM_PARTITIONS"):
                        problems.add(place, "--partitions must be $(KAM_PARTITIONS) (11-topics.yaml)")
                    check_writer_ownership(ref, place, binary, c, values, port, docs, problems)
        # Services select these pods and name ports they have.
        pod_ports = {p.get("name") for c in spec.get("containers") or [] for p in c.get("ports") or []}
        for sref in services:
            sel = (sref[2].get("spec") or {}).get("selector") or {}
            if sel and all(labels.get(k) == v for k, v in sel.items()):
                for p in sref[2]["spec"].get("ports") or []:
                    tp = p.get("targetPort")
                    if isinstance(tp, str) and tp not in pod_ports:
                        problems.add(where(sref), f"targetPort {tp} is not a port of {where(ref)}")
    for ref, spec in pod_specs(docs):
        check_availability(ref, docs, problems)
    if len(key_dirs) > 1:
        problems.add("deploy/k8s", f"the containers' --key-dir are different directories of "
                                   f"{KEY_CLAIM}: " + "; ".join(
                                       f"{d} for {', '.join(p)}" for d, p in sorted(key_dirs.items()))
                     + " (every instance must see the same keys, or a person gets several and "
                       "an erasure destroys only one)")
    check_key_claim(docs, problems)
    for binary in sorted(GRPC_SERVERS | {"kam-board"}):
        if binary not in run_binaries:
            problems.add("deploy/k8s", f"no workload runs {binary}")
    for sref in services:
        sel = (sref[2].get("spec") or {}).get("selector") or {}
        if not any(all((((r[2]["spec"].get("template") or {}).get("metadata") or {})
                        .get("labels") or {}).get(k) == v for k, v in sel.items())
                   for r, _ in pod_specs(docs)):
            problems.add(where(sref), "selects no pod of deploy/k8s")


def check_key_dir(place, binary, values, mounts, volumes, init_scripts, key_dirs, problems):
    """The persons' data keys of a container that seals or opens personal data: --key-dir on
    the claim kam-keys, writable, at the same place of the volume as every other container's."""
    path = (values.get("--key-dir") or "").rstrip("/")
    if not path:
        problems.add(place, f"must pass --key-dir, a directory of the PersistentVolumeClaim "
                            f"{KEY_CLAIM} (without it {without_keys(binary)})")
        return
    m = mount_of(path + "/", mounts)
    vol = volumes.get(m["name"]) if m else None
    claim = ((vol or {}).get("persistentVolumeClaim") or {}).get("claimName")
    if claim != KEY_CLAIM:
        what = "no volume" if vol is None else f"volume {m['name']}"
        problems.add(place, f"--key-dir {path}: must be on the PersistentVolumeClaim {KEY_CLAIM}, "
                            f"which every instance of the three services shares (is on {what})")
        return
    if m.get("readOnly"):
        problems.add(place, f"--key-dir {path}: {KEY_CLAIM} is mounted read-only (the services "
                            "make keys and replace erased ones by tombstones)")
    if "subPathExpr" in m:
        problems.add(place, f"--key-dir {path}: subPathExpr gives each pod a directory of its "
                            "own; every instance must see the same keys")
        return
    sub = (m.get("subPath") or "").strip("/")
    key_dirs.setdefault(posixpath.normpath(
        "/" + sub + path[len(m["mountPath"].rstrip("/")):]), []).append(place)
    # A subPath the kubelet makes is root's: the binary could not make it owner-only.
    if sub and not re.search(r"mkdir (-p )?-m 0?700 \S*/" + re.escape(sub) + r"/?(\s|$)",
                             init_scripts):
        problems.add(place, f"--key-dir {path}: no init container makes {sub} on {KEY_CLAIM} with "
                            "mkdir -m 0700 (the kubelet would make the subPath root's, and the "
                            "binary stops where it cannot make its key directory owner-only)")


def check_key_claim(docs, problems):
    claims = {r[2]["metadata"]["name"]: r for r in by_kind(docs, "PersistentVolumeClaim")}
    ref = claims.get(KEY_CLAIM)
    if ref is None:
        problems.add("deploy/k8s", f"no PersistentVolumeClaim {KEY_CLAIM} (the persons' data "
                                   "keys, --key-dir of the three services)")
        return
    modes = (ref[2].get("spec") or {}).get("accessModes") or []
    if "ReadWriteMany" not in modes:
        problems.add(where(ref), f"accessModes must be ReadWriteMany, are {modes}: the writers' "
                                 "replicas on different machines and the read replicas all "
                                 "mount it")


def runs_writer(doc):
    spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    return any((container_invocation(c) or ("",))[0] in WRITERS
               for c in spec.get("containers") or [])


def expand(value, settings):
    """A container argument with kam-settings' $(VAR)s put in (others left as they are)."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: settings.get(m.group(1), m.group(0)), value or "")


def check_writer_ownership(ref, place, binary, c, values, port, docs, problems):
    """A writer with several replicas shares its partitions through its Kafka group
    (--ownership group), names itself to clients by its pod IP, and its KafkaUser may use
    the group."""
    doc = ref[2]
    replicas = doc["spec"].get("replicas", 1)
    ownership = values.get("--ownership", "static")
    if ownership not in ("static", "group"):
        problems.add(place, f"--ownership must be static or group, is {ownership}")
        return
    if ownership != "group":
        if isinstance(replicas, int) and replicas > 1:
            problems.add(place, f"{replicas} replicas without --ownership group: each would own "
                                "every partition (or a hand-made share) and fence the others; "
                                "no partition would move when a pod dies")
        elif doc["kind"] == "Deployment":
            problems.add(place, "a Deployment without --ownership group: its rolling update "
                                "starts the new pod beside the old, both owning every partition")
        if "--advertise" in values:
            problems.add(place, "--advertise only with --ownership group (the binary refuses it)")
        return
    if values.get("--owned-partitions"):
        problems.add(place, "--owned-partitions contradicts --ownership group (the group assigns "
                            "the partitions; the binary refuses both)")
    # Where clients reach this pod: its own IP from the downward API, on the gRPC port. A
    # Service name or the node's address would name something else as the owner.
    advertise = values.get("--advertise")
    env = {e["name"]: e for e in c.get("env") or []}
    m = re.fullmatch(r"(\[?)\$\(([A-Za-z_][A-Za-z0-9_]*)\)(\]?):(\d+)", advertise or "")
    if advertise is None:
        problems.add(place, "--ownership group needs --advertise $(POD_IP):<gRPC port> (--listen "
                            "0.0.0.0 names no address clients can dial)")
    elif m is None or m.group(1) != ("[" if m.group(3) else "") or int(m.group(4)) != port:
        problems.add(place, f"--advertise {advertise}: must be $(VAR):{port} with VAR the pod's IP "
                            "(env valueFrom.fieldRef.fieldPath status.podIP), the address clients "
                            "are sent to as this pod's partitions' owner")
    else:
        var = m.group(2)
        field = ((env.get(var) or {}).get("valueFrom") or {}).get("fieldRef") or {}
        if field.get("fieldPath") != "status.podIP":
            problems.add(place, f"--advertise {advertise}: {var} comes from "
                                f"{field.get('fieldPath') or 'no fieldRef'}, must be the downward "
                                "API's status.podIP")
    # The group <transactional-id>.owners: Read (and Describe, which Read implies) for the
    # binary's KafkaUser, or Join() is refused and the pod never starts.
    settings = settings_of(docs)
    prefix = expand(values.get("--topic-prefix", ""), settings)
    base = expand(values.get("--transactional-id", ""), settings) or \
        prefix + binary.replace("-service", "-writer").replace("kam-", "kam.")
    group = base + ".owners"
    users = {r[2]["metadata"]["name"]: r for r in by_kind(docs, "KafkaUser")}
    user = users.get(binary)
    if user is not None and not acl_ops(user[2], "group", group) & {"Read", "All"}:
        problems.add(where(user), f"{binary} needs Read on group {group} (its instances share "
                                  "the partitions through it: --ownership group)")


def int_or_percent(value, total, round_up):
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"(\d+)%", str(value))
    if not m:
        return None
    n = int(m.group(1)) * total
    return -(-n // 100) if round_up else n // 100


def check_availability(ref, docs, problems):
    """A workload of several replicas: a PodDisruptionBudget that lets a drain proceed one
    pod at a time, and a rolling update that keeps enough of them up. A writer keeps two up:
    the one a partition fails over to is then never the only one left."""
    doc = ref[2]
    replicas = doc["spec"].get("replicas", 1)
    if doc["kind"] not in ("Deployment", "StatefulSet") or not isinstance(replicas, int) or \
            replicas < 2:
        return
    keep = min(2, replicas - 1) if runs_writer(doc) else 1
    labels = ((doc["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    pdbs = [r for r in by_kind(docs, "PodDisruptionBudget")
            if (r[2]["metadata"].get("namespace") == doc["metadata"].get("namespace"))
            and ((r[2].get("spec") or {}).get("selector") or {}).get("matchLabels")
            and all(labels.get(k) == v for k, v in
                    r[2]["spec"]["selector"]["matchLabels"].items())]
    if not pdbs:
        problems.add(where(ref), f"{replicas} replicas and no PodDisruptionBudget selects them: "
                                 "a node drain may stop them all at once")
    for p in pdbs:
        spec = p[2]["spec"]
        if "minAvailable" in spec:
            least = int_or_percent(spec["minAvailable"], replicas, True)
            allowed = None if least is None else replicas - least
        else:
            allowed = int_or_percent(spec.get("maxUnavailable"), replicas, True)
        if allowed is None:
            continue
        if allowed < 1:
            problems.add(where(p), f"allows no disruption of {replicas} replicas: node drains "
                                   "would wait for ever")
        elif replicas - allowed < keep:
            problems.add(where(p), f"lets {allowed} of {replicas} replicas go at once; at least "
                                   f"{keep} must stay up")
    if doc["kind"] == "Deployment":
        strategy = doc["spec"].get("strategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            problems.add(where(ref), f"strategy {strategy.get('type')} stops every replica at "
                                     "once; use RollingUpdate")
            return
        rolling = strategy.get("rollingUpdate") or {}
        unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, False)
        if unavailable is not None and replicas - unavailable < keep:
            problems.add(where(ref), f"its rolling update may stop {unavailable} of {replicas} "
                                     f"replicas at once (maxUnavailable); at least {keep} must "
                                     "stay up")


def check_common(docs, k8s_dir, problems):
    for ref in docs:
        meta = ref[2].get("metadata") or {}
        if ref[2]["kind"] != "Namespace" and meta.get("namespace") != "kam":
            problems.add(where(ref), "metadata.namespace must be kam")
        if (meta.get("labels") or {}).get("app.kubernetes.io/part-of") != "kam":
            problems.add(where(ref), "needs the label app.kubernetes.io/part-of: kam")
        if ref[2]["apiVersion"].split("/")[0] == STRIMZI_GROUP and ref[2]["kind"] != "Kafka":
            clusters = {r[2]["metadata"]["name"] for r in by_kind(docs, "Kafka")}
            if (meta.get("labels") or {}).get("strimzi.io/cluster") not in clusters:
                problems.add(where(ref), "strimzi.io/cluster must name the Kafka of 10-kafka.yaml")
    path = os.path.join(k8s_dir, "kustomization.yaml")
    try:
        kust = yaml.safe_load(open(path)) or {}
    except (OSError, yaml.YAMLError) as e:
        problems.add("kustomization.yaml", f"cannot be read: {e}")
        return
    files = sorted(f for f in os.listdir(k8s_dir) if f.endswith(".yaml") and f != "kustomization.yaml")
    listed = kust.get("resources") or []
    for f in files:
        if f not in listed:
            problems.add("kustomization.yaml", f"does not list {f}")
    for f in listed:
        if f not in files:
            problems.add("kustomization.yaml", f"lists {f}, which does not exist")
    if IMAGE not in [i.get("name") for i in kust.get("images") or []]:
        problems.add("kustomization.yaml", f"images must map '{IMAGE}' to a registry and tag")


def settings_of(docs):
    for ref in by_kind(docs, "ConfigMap"):
        if ref[2]["metadata"]["name"] == "kam-settings":
            return ref[2].get("data") or {}
    return {}


def validate_k8s(k8s_dir, repo, binaries, problems):
    docs = load_yaml_docs(k8s_dir, problems)
    cache = os.path.join(repo, "tests/deploy/.cache")
    k8s = [KubernetesSchemas(v) for v in K8S_VERSIONS]
    strimzi = StrimziSchemas(os.path.join(cache, "strimzi-crds/crds/v1"))
    check_schemas(docs, k8s, strimzi, problems)
    settings = settings_of(docs)
    if not settings.get("KAM_PARTITIONS", "").isdigit():
        problems.add("20-config.yaml", "ConfigMap kam-settings needs KAM_PARTITIONS")
    check_common(docs, k8s_dir, problems)
    topics = check_topics(docs, repo, settings, problems)
    check_users(docs, topics, problems)
    check_workloads(docs, binaries, repo, problems)
    check_image(os.path.join(k8s_dir, "Dockerfile"), binaries, problems)
    return len(docs), strimzi.cel_rules


IMAGE_BINARIES = ("kam-programme-service", "kam-metrics-service", "kam-history-projection",
                  "kam-board", "kamctl")
BASE_PACKAGES = {"libc6", "libgcc-s1"}  # Essential: in every Debian image


def check_image(dockerfile, binaries, problems):
    """The runtime stage copies every binary and installs the Debian package of every shared
    library they load (ldd of the built binaries, dpkg -S)."""
    if not os.path.exists(dockerfile):
        problems.add("deploy/k8s", "no Dockerfile for the image kam-platform")
        return
    text = open(dockerfile).read()
    stage = text[text.rfind("\nFROM "):]
    packages = set(re.findall(r"^\s+([a-z0-9][a-z0-9.+-]+) \\$", stage, re.M))
    joined = re.sub(r"\\\n", " ", stage)
    copied = " ".join(re.findall(r"^COPY --from=build (.*)$", joined, re.M))
    if not (shutil.which("ldd") and shutil.which("dpkg")):
        print("SKIP the image's library check: ldd or dpkg is not installed")
        return
    needed = {}
    for b in IMAGE_BINARIES:
        if f"/bin/{b}" not in copied:
            problems.add("Dockerfile", f"the runtime stage does not copy {b}")
        path = os.path.join(binaries.directory or "", b)
        if not os.access(path, os.X_OK):
            problems.add("Dockerfile", f"cannot check {b}'s libraries: not built in "
                                       f"{binaries.directory}")
            continue
        out = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30).stdout
        for lib in re.findall(r"=> (/\S+)", out):
            if os.path.dirname(lib) == os.path.join(os.path.dirname(
                    os.path.abspath(binaries.directory)), "lib"):
                continue  # the project's own libraries, copied from build/lib
            needed.setdefault(lib, set()).add(b)
    # dpkg -S once for all of them (it reads its whole database each time): each library by
    # the path ldd gives, its real path, and both without /usr (Debian's merged /usr).
    candidates = {lib: [lib, os.path.realpath(lib), re.sub(r"^/usr/lib/", "/lib/", lib),
                        re.sub(r"^/usr/lib/", "/lib/", os.path.realpath(lib))]
                  for lib in needed}
    paths = sorted({c for cs in candidates.values() for c in cs})
    out = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True, timeout=60)
    owners = {}
    for line in out.stdout.splitlines():
        pkg, _, path = line.partition(": ")
        owners[path.strip()] = pkg.split(":")[0]
    for lib, users in sorted(needed.items()):
        owner = next((owners[c] for c in candidates[lib] if c in owners), None)
        if owner is None:
            problems.add("Dockerfile", f"{lib} (loaded by {', '.join(sorted(users))}) belongs "
                                       "to no Debian package")
        elif owner not in packages and owner not in BASE_PACKAGES:
            problems.add("Dockerfile", f"the runtime stage does not install {owner} "
                                       f"({lib}, loaded by {', '.join(sorted(users))})")


# ---------------------------------------------------------------------------------------
# systemd


def parse_unit(path):
    """{section: [(key, value)]}, continuation lines joined."""
    sections, current, pending = {}, None, ""
    for raw in open(path).read().splitlines():
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            current = s[1:-1]
            sections.setdefault(current, [])
            continue
        key, _, value = s.partition("=")
        sections.setdefault(current, []).append((key.strip(), value.strip()))
    return sections


def parse_env(path):
    env = {}
    for line in open(path).read().splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        key, eq, value = s.partition("=")
        if not eq:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def resolve_env(value, env):
    """A unit's argument with the environment file's $VAR and ${VAR} put in."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""),
                  value or "")


def validate_systemd(directory, binaries, problems):
    units = sorted(f for f in os.listdir(directory) if f.endswith(".service"))
    key_dirs, key_users = {}, {}  # {--key-dir: [units]}, {user: [units]}
    platform_units = [u for u in units if u[:-len(".service")] in
                      GRPC_SERVERS | {"kam-board"}]
    for binary in sorted(GRPC_SERVERS | {"kam-board"}):
        if f"{binary}.service" not in units:
            problems.add("deploy/systemd", f"no unit for {binary}")
    for unit in platform_units:
        name = unit[:-len(".service")]
        sections = parse_unit(os.path.join(directory, unit))
        service = sections.get("Service", [])
        keys = {}
        for k, v in service:
            keys.setdefault(k, []).append(v)
        one = lambda k: (keys.get(k) or [None])[-1]  # noqa: E731
        for key, want in (("Restart", "on-failure"), ("ProtectSystem", "strict"),
                          ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes")):
            if one(key) != want:
                problems.add(unit, f"{key}={want} is required (it is {one(key)})")
        if one("DynamicUser") != "yes" and not one("User"):
            problems.add(unit, "DynamicUser=yes or a dedicated User= is required")
        env_files = [os.path.basename(e.lstrip("-")) for e in keys.get("EnvironmentFile", [])]
        if env_files != [f"{name}.env"]:
            problems.add(unit, f"EnvironmentFile must be /etc/kam/{name}.env")
        env_path = os.path.join(directory, f"{name}.env")
        env = parse_env(env_path) if os.path.exists(env_path) else {}
        if not os.path.exists(env_path):
            problems.add(unit, f"deploy/systemd/{name}.env is missing")
        words = shlex.split(one("ExecStart") or "")
        if not words or words[0] != BIN_DIR + name:
            problems.add(unit, f"ExecStart must run {BIN_DIR}{name}")
            continue
        # Variables: every one the command uses is set by the environment file.
        for var in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", one("ExecStart")):
            if var not in env:
                problems.add(unit, f"ExecStart uses ${var}, which {name}.env does not set")
        argv = [w for w in words[1:] if not re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", w)]
        values = check_flags(unit, name, argv, binaries, problems)
        if name in WRITERS:
            check_unit_ownership(unit, name, values, env, problems)
        creds = {v.split(":", 1)[0] for v in keys.get("LoadCredential", [])}
        for flag in PRIVATE_FILE_FLAGS:
            v = values.get(flag)
            if v and not (v.startswith("%d/") and v[3:] in creds):
                problems.add(unit, f"{flag} must be a LoadCredential= file (%d/NAME): systemd "
                                   "gives the service a copy only it can read")
        state = [s for v in keys.get("StateDirectory", []) for s in v.split()]
        for flag in ("--data-dir", "--snapshot-dir", "--key-dir"):
            v = resolve_env(values.get(flag), env)
            if v and not any(v == f"/var/lib/{s}" or v.startswith(f"/var/lib/{s}/") for s in state):
                problems.add(unit, f"{flag} {v} must be under a StateDirectory= (ProtectSystem="
                                   "strict leaves nothing else writable)")
        if name in ("kam-history-projection", "kam-metrics-service") and not state:
            problems.add(unit, "needs a StateDirectory= for its RocksDB / snapshots")
        if name in KEY_DIR_BINARIES:
            # One directory for the three units, one user: a dynamic user per unit would get
            # the shared StateDirectory= chown'ed to it at each start, and it is owner-only.
            key_users.setdefault(one("User") or (name if one("DynamicUser") == "yes" else "root"),
                                 []).append(unit)
            key_dir = resolve_env(values.get("--key-dir"), env).rstrip("/")
            if not key_dir:
                problems.add(unit, "ExecStart must pass --key-dir (the persons' data keys, the "
                                   "same StateDirectory= in the three units): without it "
                                   + without_keys(name))
                continue
            key_dirs.setdefault(key_dir, []).append(unit)
            if (one("StateDirectoryMode") or "0755").lstrip("0") != "700":
                problems.add(unit, f"StateDirectoryMode=0700 is required (it is "
                                   f"{one('StateDirectoryMode') or 'not set: 0755'}): systemd sets "
                                   "the mode of the key directory at each start, and the keys are "
                                   "owner-only")
    if len(key_dirs) > 1:
        problems.add("deploy/systemd", "the units pass different --key-dir: " + "; ".join(
            f"{d} in {', '.join(u)}" for d, u in sorted(key_dirs.items())) + " (every instance "
            "must see the same keys)")
    if len(key_users) > 1:
        problems.add("deploy/systemd", "the units sharing the key directory must run as one user "
                     "(User=kam with DynamicUser=yes; the directory is owner-only), not " +
                     "; ".join(f"{u} ({', '.join(n)})" for u, n in sorted(key_users.items())))
    return units


def check_unit_ownership(unit, name, values, env, problems):
    """A writer's unit passes --ownership and --advertise from its environment file, so that
    the same unit runs one VM's instance or several sharing the partitions (group)."""
    resolve = lambda v: re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?",  # noqa: E731
                               lambda m: env.get(m.group(1), ""), v or "")
    for flag in ("--ownership", "--advertise"):
        if flag not in values:
            problems.add(unit, f"ExecStart must pass {flag} (from {name}.env), e.g. "
                               f"{flag} ${{KAM_{flag[2:].upper()}}}")
    ownership = resolve(values.get("--ownership", "static"))
    advertise = resolve(values.get("--advertise"))
    if ownership not in ("static", "group"):
        problems.add(unit, f"--ownership is '{ownership}' ({name}.env): static or group")
        return
    if ownership == "static":
        if advertise:
            problems.add(unit, f"--advertise {advertise} with --ownership static: the binary "
                               "refuses it (empty KAM_ADVERTISE, or ownership group)")
        return
    if resolve(values.get("--owned-partitions")):
        problems.add(unit, "--owned-partitions with --ownership group: the binary refuses both "
                           f"(empty KAM_OWNED_PARTITIONS in {name}.env)")
    listen = resolve(values.get("--listen"))
    host, _, port = (advertise or listen).rpartition(":")
    if not advertise and host in ("", "0.0.0.0", "[::]", "::"):
        problems.add(unit, f"--ownership group needs --advertise (KAM_ADVERTISE in {name}.env): "
                           f"--listen {listen} names no address the other instances' clients "
                           "can dial; give this VM's address:port")
    elif host in ("0.0.0.0", "[::]", "::", "localhost") or host.startswith("127.") or \
            host == "[::1]":
        problems.add(unit, f"--advertise {advertise}: clients on other machines are sent there; "
                           "give this VM's address")
    elif port != listen.rpartition(":")[2]:
        problems.add(unit, f"--advertise {advertise}: its port is not --listen's ({listen})")


def systemd_analyze(directory, units, problems):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        print("SKIP systemd-analyze verify: systemd-analyze is not installed (Debian package "
              "systemd); the units were checked by the rules above only")
        return False
    with tempfile.TemporaryDirectory() as tmp:
        stub = os.path.join(tmp, "bin")
        os.mkdir(stub)
        copies = []
        for unit in units:
            text = open(os.path.join(directory, unit)).read()
            # verify wants every Exec*= program to exist: stand-ins for the platform's own
            # (/opt/kam is not installed here); /usr/bin/java and /bin/sh are the machine's.
            for exe in set(re.findall(r"^Exec\w+=[-@:+!]*(/opt/\S+)", text, re.M)):
                target = os.path.join(stub, exe.strip("/").replace("/", "_"))
                with open(target, "w") as f:
                    f.write("#!/bin/sh\n")
                os.chmod(target, 0o755)
                text = re.sub(r"^(Exec\w+=[-@:+!]*)" + re.escape(exe), lambda m: m.group(1) + target,
                              text, flags=re.M)
            path = os.path.join(tmp, unit)
            with open(path, "w") as f:
                f.write(text)
            copies.append(path)
        out = subprocess.run([tool, "verify", *copies], capture_output=True, text=True,
                             timeout=60, cwd=tmp)
        lines = [l for l in (out.stdout + out.stderr).splitlines() if l.strip()]
        for line in lines:
            problems.add("systemd-analyze verify", line.replace(tmp + "/", "deploy/systemd/"))
        if out.returncode != 0 and not lines:
            problems.add("systemd-analyze verify", f"exit status {out.returncode}")
    return True


# ---------------------------------------------------------------------------------------
# The self-test: the validator must refuse known breakages.


def edit_yaml(path, kind, name, change):
    with open(path) as f:
        docs = list(yaml.safe_load_all(f))
    hit = False
    for d in docs:
        if d and d.get("kind") == kind and d["metadata"]["name"] == name:
            change(d)
            hit = True
    assert hit, f"self-test: no {kind}/{name} in {path}"
    with open(path, "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def container(d, name):
    for c in d["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return c
    raise AssertionError(name)


def self_test(args):
    """Breaks copies of the files in known ways; every breakage must be refused for its
    reason. Breakages that would hide each other (a writer with static ownership is not
    checked for --advertise) go into separate rounds: fresh copies, validated in parallel."""
    tmp = tempfile.mkdtemp(prefix="kam-deploy-selftest.")
    try:
        rounds = []  # [(k8s dir, systemd dir, [(description, expected words)])]

        def new_round():
            base = os.path.join(tmp, f"round{len(rounds)}")
            k8s, sysd = os.path.join(base, "k8s"), os.path.join(base, "systemd")
            shutil.copytree(args.k8s, k8s)
            shutil.copytree(args.systemd, sysd)
            rounds.append((k8s, sysd, []))

        j = lambda f: os.path.join(rounds[-1][0], f)  # noqa: E731
        s = lambda f: os.path.join(rounds[-1][1], f)  # noqa: E731

        def case(expect, description, action):
            action()
            rounds[-1][2].append((description, expect))

        def writer(d):
            return container(d, d["metadata"]["name"])

        new_round()
        case("Kubernetes 1.30 schema: spec.template.spec.containers.0: Additional properties",
             "a misspelt container field (imagePulPolicy)",
             lambda: edit_yaml(j("50-board.yaml"), "Deployment", "kam-board", lambda d: container(
                 d, "kam-board").__setitem__("imagePulPolicy", container(d, "kam-board").pop(
                     "imagePullPolicy"))))
        case("containerPort: '50061' is not of type 'integer'",
             "a port given as a string",
             lambda: edit_yaml(j("40-history-projection.yaml"), "StatefulSet",
                               "kam-history-projection", lambda d: container(
                                   d, "kam-history-projection")["ports"][0].__setitem__(
                                       "containerPort", "50061")))
        case("Strimzi kafka.strimzi.io/v1 schema: spec.partitions: 'three' is not of type 'integer'",
             "a KafkaTopic's partitions as a word",
             lambda: edit_yaml(j("11-topics.yaml"), "KafkaTopic", "kam-checkpoints-v1",
                               lambda d: d["spec"].__setitem__("partitions", "three")))
        case("'Destroy' is not one of",
             "a KafkaUser ACL operation Kafka does not have",
             lambda: edit_yaml(j("12-users.yaml"), "KafkaUser", "kam-publisher-hr",
                               lambda d: d["spec"]["authorization"]["acls"][0].__setitem__(
                                   "operations", ["Destroy"])))
        case("Strimzi kafka.strimzi.io/v1 schema: spec.kafka.listeners.0: Additional properties",
             "an unknown field in a Kafka listener",
             lambda: edit_yaml(j("10-kafka.yaml"), "Kafka", "kam-kafka",
                               lambda d: d["spec"]["kafka"]["listeners"][0].__setitem__(
                                   "tlsVersion", "1.3")))
        case("--inbound-keyrng is not a flag of kam-metrics-service",
             "a misspelt flag of a writer",
             lambda: edit_yaml(j("31-metrics-service.yaml"), "Deployment", "kam-metrics-service",
                               lambda d: set_arg(writer(d), "--inbound-keyring",
                                                 "--inbound-keyrng")))
        case("kam.inbound.people.v1: retention.ms must be -1",
             "an inbound topic with a finite retention",
             lambda: edit_yaml(j("11-topics.yaml"), "KafkaTopic", "kam-inbound-people-v1",
                               lambda d: d["spec"]["config"].__setitem__("retention.ms", 604800000)))
        case("--tokens /etc/kam/secrets/tokens/tokens: must be on an emptyDir",
             "the tokens file straight from its Secret volume (group-readable under fsGroup)",
             lambda: edit_yaml(j("30-programme-service.yaml"), "Deployment",
                               "kam-programme-service", lambda d: set_arg(
                                   writer(d), "/run/kam/private/tokens",
                                   "/etc/kam/secrets/tokens/tokens")))
        case("kam-publisher-crm may write kam.programme.v1",
             "a publisher allowed to write an event topic",
             lambda: edit_yaml(j("12-users.yaml"), "KafkaUser", "kam-publisher-crm",
                               lambda d: d["spec"]["authorization"]["acls"].append(
                                   {"resource": {"type": "topic", "name": "kam.programme.v1",
                                                 "patternType": "literal"},
                                    "operations": ["Write"]})))
        case("the runtime stage does not install librocksdb7.8",
             "an image without a library the binaries load",
             lambda: replace(j("Dockerfile"), "      librocksdb7.8 \\\n", ""))
        case("is not YAML", "a file that does not parse",
             lambda: open(j("99-broken.yaml"), "w").write("kind: Service\n  metadata: [\n"))
        # The writers' failover (--ownership group).
        case("--advertise kam-metrics-service.kam.svc:50052: must be $(VAR):50052",
             "a writer advertising its Service instead of its pod (clients would loop)",
             lambda: edit_yaml(j("31-metrics-service.yaml"), "Deployment", "kam-metrics-service",
                               lambda d: set_arg(writer(d), "$(POD_IP):50052",
                                                 "kam-metrics-service.kam.svc:50052")))
        case("POD_IP comes from status.hostIP",
             "a writer advertising its node's address",
             lambda: edit_yaml(j("30-programme-service.yaml"), "Deployment",
                               "kam-programme-service", lambda d: [
                                   e["valueFrom"]["fieldRef"].__setitem__("fieldPath",
                                                                          "status.hostIP")
                                   for e in writer(d)["env"] if e["name"] == "POD_IP"]))
        case("kam-metrics-service needs Read on group kam.metrics-writer.owners",
             "a writer's KafkaUser without Read on its owners group",
             lambda: edit_yaml(j("12-users.yaml"), "KafkaUser", "kam-metrics-service",
                               lambda d: d["spec"]["authorization"].__setitem__("acls", [
                                   a for a in d["spec"]["authorization"]["acls"]
                                   if a["resource"]["name"] != "kam.metrics-writer.owners"])))
        case("3 replicas and no PodDisruptionBudget selects them",
             "a writer without a PodDisruptionBudget",
             lambda: drop_doc(j("30-programme-service.yaml"), "PodDisruptionBudget",
                              "kam-programme-service"))
        case("its rolling update may stop 2 of 3 replicas at once",
             "a writer rollout that may leave one pod up",
             lambda: edit_yaml(j("31-metrics-service.yaml"), "Deployment", "kam-metrics-service",
                               lambda d: d["spec"]["strategy"]["rollingUpdate"].update(
                                   maxSurge=0, maxUnavailable=2)))
        case("ExecStart uses $KAM_DATA_DIRECTORY, which kam-history-projection.env does not set",
             "a unit using a variable its environment file lacks",
             lambda: replace(s("kam-history-projection.service"),
                             "--data-dir /var/lib/kam/history",
                             "--data-dir ${KAM_DATA_DIRECTORY}"))
        case("--ownership group needs --advertise (KAM_ADVERTISE in kam-programme-service.env)",
             "a VM's writer in the group without its address",
             lambda: replace(s("kam-programme-service.env"),
                             "\nKAM_ADVERTISE=kam-1.example.internal:50051\n",
                             "\nKAM_ADVERTISE=\n"))
        case("ExecStart must pass --ownership (from kam-metrics-service.env)",
             "a writer's unit that does not pass --ownership",
             lambda: replace(s("kam-metrics-service.service"),
                             "  --ownership ${KAM_OWNERSHIP} \\\n", ""))
        if shutil.which("systemd-analyze"):
            case("Unknown key 'RestartSecs'",
                 "a unit with a key systemd does not know",
                 lambda: replace(s("kam-board.service"), "RestartSec=", "RestartSecs="))
        new_round()
        case("3 replicas without --ownership group",
             "a writer Deployment of 3 replicas with static ownership (all would own everything)",
             lambda: edit_yaml(j("30-programme-service.yaml"), "Deployment",
                               "kam-programme-service", lambda d: drop_flag(writer(d),
                                                                            "--ownership")))
        case("--ownership group needs --advertise $(POD_IP):<gRPC port>",
             "a writer Deployment in the group without --advertise",
             lambda: edit_yaml(j("31-metrics-service.yaml"), "Deployment", "kam-metrics-service",
                               lambda d: drop_flag(writer(d), "--advertise")))
        # The persons' data keys (--key-dir): one directory for every instance.
        new_round()
        case("Deployment/kam-programme-service kam-programme-service: must pass --key-dir",
             "a writer without the persons' keys (it would write personal data unsealed)",
             lambda: edit_yaml(j("30-programme-service.yaml"), "Deployment",
                               "kam-programme-service", lambda d: drop_flag(writer(d),
                                                                            "--key-dir")))
        case("StatefulSet/kam-history-projection catch-up: must pass --key-dir",
             "the read side's catch-up folding without the keys",
             lambda: edit_yaml(j("40-history-projection.yaml"), "StatefulSet",
                               "kam-history-projection", lambda d: drop_flag(
                                   init_container(d, "catch-up"), "--key-dir")))
        case("kam-history-projection: --key-dir /var/lib/kam/keys: kam-keys is mounted read-only",
             "the read side with the keys read-only (it destroys erased persons' keys)",
             lambda: edit_yaml(j("40-history-projection.yaml"), "StatefulSet",
                               "kam-history-projection", lambda d: volume_mount(
                                   container(d, "kam-history-projection"), "keys").__setitem__(
                                       "readOnly", True)))
        case("the containers' --key-dir are different directories of kam-keys",
             "a writer mounting another directory of the key volume (a person would get two keys)",
             lambda: edit_yaml(j("31-metrics-service.yaml"), "Deployment", "kam-metrics-service",
                               lambda d: volume_mount(writer(d), "keys").__setitem__(
                                   "subPath", "keys-metrics")))
        case("PersistentVolumeClaim/kam-keys: accessModes must be ReadWriteMany",
             "the key volume ReadWriteOnce (replicas on other machines could not mount it)",
             lambda: edit_yaml(j("25-personal-data-keys.yaml"), "PersistentVolumeClaim",
                               "kam-keys", lambda d: d["spec"].__setitem__("accessModes",
                                                                           ["ReadWriteOnce"])))
        case("kam-history-projection.service: ExecStart must pass --key-dir",
             "a VM's read side without the persons' keys",
             lambda: replace(s("kam-history-projection.service"),
                             "  --key-dir /var/lib/kam/keys \\\n", ""))
        case("the units sharing the key directory must run as one user",
             "a VM's unit with a dynamic user of its own (the shared directory is owner-only)",
             lambda: replace(s("kam-metrics-service.service"), "User=kam\n", ""))
        case("the units pass different --key-dir",
             "a VM's unit with a key directory of its own",
             lambda: replace(s("kam-programme-service.service"), "--key-dir /var/lib/kam/keys \\",
                             "--key-dir /var/lib/kam/keys/programme \\"))
        new_round()
        case("no PersistentVolumeClaim kam-keys",
             "no claim for the persons' keys",
             lambda: drop_doc(j("25-personal-data-keys.yaml"), "PersistentVolumeClaim", "kam-keys"))
        case("--key-dir /var/lib/kam/keys: must be on the PersistentVolumeClaim kam-keys",
             "a writer with the keys on an emptyDir of its pod",
             lambda: edit_yaml(j("31-metrics-service.yaml"), "Deployment", "kam-metrics-service",
                               lambda d: set_volume(d, "keys", {"emptyDir": {}})))
        case("no init container makes keys on kam-keys with mkdir -m 0700",
             "a key directory left for the kubelet to make (root's)",
             lambda: replace(j("30-programme-service.yaml"),
                             "              mkdir -p -m 0700 /var/lib/kam/key-volume/keys\n", ""))
        case("--key-dir /var/lib/kam/keys must be under a StateDirectory=",
             "a VM's unit whose key directory systemd does not make writable",
             lambda: replace(s("kam-programme-service.service"), "StateDirectory=kam/keys\n", ""))
        case("StateDirectoryMode=0700 is required",
             "a VM's key directory with systemd's default mode 0755",
             lambda: replace(s("kam-metrics-service.service"), "StateDirectoryMode=0700\n", ""))
        runs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--repo", args.repo,
                                  "--k8s", k8s, "--systemd", sysd, "--binaries",
                                  args.binaries or ""], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
                 for k8s, sysd, _ in rounds]
        failed = total = 0
        for run, (_, _, cases) in zip(runs, rounds):
            stdout, stderr = run.communicate(timeout=300)
            total += len(cases)
            round_failed = 0
            if run.returncode != 1:
                print(f"FAIL self-test: the validator exited {run.returncode} on broken files "
                      "(want 1)")
                round_failed += 1
            for description, expect in cases:
                if expect in stdout:
                    print(f"refused as it must be: {description}")
                else:
                    print(f"FAIL self-test: {description} was not refused (wanted '{expect}')")
                    round_failed += 1
            if round_failed:
                print("--- the validator's output on the broken files ---")
                print(stdout + stderr)
            failed += round_failed
        print(f"self-test: {max(total - failed, 0)} passed, {failed} failed")
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def init_container(d, name):
    for c in d["spec"]["template"]["spec"]["initContainers"]:
        if c["name"] == name:
            return c
    raise AssertionError(name)


def volume_mount(c, name):
    for m in c["volumeMounts"]:
        if m["name"] == name:
            return m
    raise AssertionError(name)


def set_volume(d, name, source):
    """Gives a pod's volume another source (e.g. {"emptyDir": {}})."""
    for v in d["spec"]["template"]["spec"]["volumes"]:
        if v["name"] == name:
            v.clear()
            v.update(name=name, **source)
            return
    raise AssertionError(name)


def set_arg(c, old, new):
    args = c["args"]
    args[args.index(old)] = new


def drop_flag(c, flag):
    args = c["args"]
    i = args.index(flag)
    del args[i:i + 2]


def drop_doc(path, kind, name):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    kept = [d for d in docs if not (d.get("kind") == kind and d["metadata"]["name"] == name)]
    assert len(kept) == len(docs) - 1, f"self-test: no {kind}/{name} in {path}"
    with open(path, "w") as f:
        yaml.safe_dump_all(kept, f, sort_keys=False)


def replace(path, old, new):
    text = open(path).read()
    assert old in text, f"self-test: '{old}' not in {path}"
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))


# ---------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--k8s")
    parser.add_argument("--systemd")
    parser.add_argument("--binaries", default="")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    args.k8s = args.k8s or os.path.join(args.repo, "deploy/k8s")
    args.systemd = args.systemd or os.path.join(args.repo, "deploy/systemd")
    if args.self_test:
        return self_test(args)
    problems = Problems()
    binaries = Binaries(args.binaries)
    count, cel = validate_k8s(args.k8s, args.repo, binaries, problems)
    units = validate_systemd(args.systemd, binaries, problems)
    analyzed = systemd_analyze(args.systemd, units, problems)
    for p in problems.items:
        print(p)
    if problems.items:
        print(f"{len(problems.items)} problem(s) in the deployment files")
        return 1
    print(f"deploy/k8s: {count} objects valid against Kubernetes {' and '.join(K8S_VERSIONS)} "
          f"(strict) and Strimzi's CRDs (strict; their {cel} CEL rule(s) not evaluated), and "
          f"the platform's rules; deploy/systemd: {len(units)} units"
          f"{', systemd-analyze verify clean' if analyzed else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
