"""A deploy/ manifest as podman 4.3 `kube play` can run it on one host (dev/image).

Reads the manifest, writes it to stdout with only these changes (each is what podman
4.3.1 or a single host needs; README "Container image" says why):
  * the proxy's configuration: listen and admin_listen on the given loopback ports,
    upstream endpoint and store the given ones (SeaweedFS instead of RGW);
  * the Deployment: 1 replica, no `ports` (the pod joins the host network, where podman
    refuses port mappings and replicas would share ports).
Everything else (image, args, mounts, security context, volumes) is as shipped.

usage: kube-play.py MANIFEST --listen A --admin A --endpoint URL --store NAME
"""

import argparse
import re
import sys

import yaml


def edit_config(text, args):
    for key, value in (
        ("listen", args.listen),
        ("admin_listen", args.admin),
        ("endpoint", args.endpoint),
        ("store", args.store),
    ):
        text, n = re.subn(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', text)
        if n != 1:
            sys.exit(f"kube-play.py: {key} appears {n} times in the configuration")
    return text


def main():
    p = argparse.ArgumentParser()
    p.add_argument("manifest")
    for flag in ("--listen", "--admin", "--endpoint", "--store"):
        p.add_argument(flag, required=True)
    args = p.parse_args()
    with open(args.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        if doc["kind"] == "ConfigMap" and "proxy.toml" in doc.get("data", {}):
            doc["data"]["proxy.toml"] = edit_config(doc["data"]["proxy.toml"], args)
        if doc["kind"] == "Deployment":
            doc["spec"]["replicas"] = 1
            pod = doc["spec"]["template"]["spec"]
            for c in pod.get("containers", []) + pod.get("initContainers", []):
                c.pop("ports", None)
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
