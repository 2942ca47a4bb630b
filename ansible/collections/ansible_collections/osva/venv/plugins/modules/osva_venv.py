#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0 (see the osva repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: osva_venv
short_description: Install, activate or remove a prebuilt OpenStack service venv with osva-install
version_added: "0.1.0"
description:
  - Runs C(osva-install ... --json) on the host and reports its result in Ansible's terms.
  - C(changed) is the installer's own answer, so a second identical run reports C(ok).
  - Check mode runs the installer with C(--dry-run) (nothing on the host changes; C(changed) says whether something would).
  - Diff mode shows each host file the activation would write or remove (systemd drop-ins, sudoers, rootwrap.conf, wrappers).
  - On failure the result carries the installer's error C(code) (such as C(OSVA-I012)) and C(hint).
options:
  service:
    description: Service name, such as C(nova).
    type: str
    required: true
  tag:
    description:
      - Tag to install, or an alias such as C(stable) that the store's index resolves.
      - For I(state=absent) it must be the tag itself, not an alias.
      - Required for every state but I(state=disabled), which needs none.
    type: str
  state:
    description:
      - C(present) installs the tag without activating it (C(osva-install install --no-activate)).
      - C(active) installs the tag if needed and points the service at it (C(osva-install install)).
      - C(absent) removes the installed tag (C(osva-install uninstall)); refused while the tag is active.
      - C(disabled) runs C(osva-install disable) so the service's units run from its distro packages again; every
        packaged file osva took over is put back byte for byte, the venvs stay installed, a later C(active) enables a tag again.
    type: str
    choices: [present, active, absent, disabled]
    default: active
  store:
    description: Directory, C(s3://bucket/prefix) or C(http://) or C(https://) mirror. Default is the store in C(/etc/osva/osva.conf).
    type: str
  s3_endpoint:
    description: S3 endpoint URL (else C(s3-endpoint) in C(/etc/osva/osva.conf), else C(AWS_ENDPOINT_URL_S3) / C(AWS_ENDPOINT_URL)).
    type: str
  trusted_keys:
    description: PEM public keys (ECDSA P-256) trusted besides the host's; the index and manifest must then be signed by one.
    type: list
    elements: path
    default: []
  install_path:
    description: Install the venv here instead of the path it was built for (the installer relocates it).
    type: path
  units:
    description: Extra systemd units, C(NAME) or C(NAME=CONSOLE_SCRIPT [ARGS]), besides those the artifact names.
    type: list
    elements: str
    default: []
  health_check:
    description: Command (exit 0) or http(s) URL (2xx) that must pass after activation, else the previous tag is restored.
    type: str
  health_timeout:
    description: Seconds the health check may take to pass (C(--health-timeout)).
    type: int
    default: 30
  platform:
    description: Platform to install, such as C(debian-12-x86_64-py3.11). Default is the host's.
    type: str
  root:
    description: File system root every host path is under; a scratch directory for tests and image builds.
    type: path
    default: /
  binary:
    description: Path of osva-install. Default is C(/usr/local/sbin/osva-install), else C(osva-install) on C(PATH).
    type: path
notes:
  - Needs only Python's standard library on the host, besides osva-install itself.
  - Credentials for an S3 store come from the usual AWS environment variables; set them with the task's C(environment).
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - osva maintainers
"""

EXAMPLES = r"""
- name: Install and activate nova 31.0.0 from the host's configured store
  osva.venv.osva_venv:
    service: nova
    tag: "31.0.0"

- name: Stage the candidate without switching to it
  osva.venv.osva_venv:
    service: nova
    tag: candidate
    state: present
    store: s3://osva-artifacts/prod
    trusted_keys:
      - /etc/osva/keys/release.pub

- name: Activate with a health check; a failing check restores the previous tag
  osva.venv.osva_venv:
    service: neutron
    tag: "{{ openstack_release }}"
    health_check: http://127.0.0.1:9696/
  register: neutron_venv

- name: Back to the distro packages for nova (the venvs stay for a later re-enable)
  osva.venv.osva_venv:
    service: nova
    state: disabled

- name: Remove an old tag
  osva.venv.osva_venv:
    service: nova
    tag: "30.1.0"
    state: absent
"""

RETURN = r"""
service:
  description: The service.
  returned: always
  type: str
  sample: nova
tag:
  description: The tag the installer resolved (an alias becomes its tag).
  returned: success
  type: str
  sample: 31.0.0
active:
  description: The service's active tag after the run (in check mode, before it).
  returned: success
  type: str
  sample: 31.0.0
previous:
  description: The tag that was active before the current one.
  returned: success
  type: str
  sample: 30.1.0
actions:
  description: What the installer did, or in check mode would do, one step a line.
  returned: success
  type: list
  elements: str
  sample: ["download nova-31.0.0-debian-12-x86_64-py3.11.tar.gz (52431 bytes) from /srv/osva", "write /etc/sudoers.d/nova_osva"]
files:
  description: Host files the activation wrote or removed (in check mode, would).
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: Path on the host (under I(root)).
      type: str
    change:
      description: C(write) or C(remove).
      type: str
code:
  description: The installer's stable error code (docs/exit-codes.md).
  returned: failure
  type: str
  sample: OSVA-I012
hint:
  description: How to fix the error, from the installer.
  returned: failure
  type: str
rc:
  description: The installer's exit code.
  returned: failure
  type: int
  sample: 6
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

DEFAULT_BINARY = "/usr/local/sbin/osva-install"


def find_binary(module):
    if module.params["binary"]:
        return module.params["binary"]
    if os.access(DEFAULT_BINARY, os.X_OK):
        return DEFAULT_BINARY
    return module.get_bin_path("osva-install", required=True)


def command_line(module, binary, dry_run):
    p = module.params
    if p["state"] == "absent":
        args = [binary, "uninstall", p["service"], p["tag"]]
    elif p["state"] == "disabled":
        args = [binary, "disable", p["service"]]
    else:
        args = [binary, "install", p["service"], p["tag"]]
        if p["state"] == "present":
            args.append("--no-activate")
        for flag, value in (("--store", p["store"]), ("--s3-endpoint", p["s3_endpoint"]), ("--install-path", p["install_path"]),
                            ("--health-check", p["health_check"]), ("--platform", p["platform"])):
            if value:
                args += [flag, value]
        args += ["--health-timeout", str(p["health_timeout"])]
        for key in p["trusted_keys"]:
            args += ["--trusted-key", key]
        for unit in p["units"]:
            args += ["--unit", unit]
    args += ["--root", p["root"], "--json"]
    if dry_run:
        args.append("--dry-run")
    return args


def run_installer(module, binary, dry_run):
    args = command_line(module, binary, dry_run)
    rc, stdout, stderr = module.run_command(args)
    try:
        result = json.loads(stdout)
    except ValueError:
        module.fail_json(msg="osva-install printed no JSON: %s" % (stderr.strip() or stdout.strip()),
                         rc=rc, stdout=stdout, stderr=stderr, cmd=args, service=module.params["service"])
    if rc != 0 or result.get("failed"):
        module.fail_json(msg=result.get("msg", stderr.strip()), code=result.get("code"), hint=result.get("hint"),
                         rc=rc, stderr=stderr, cmd=args, service=module.params["service"])
    return result


def read_host_file(root, path):
    full = os.path.join(root, path.lstrip("/"))
    try:
        with open(full, "r") as f:
            return f.read()
    except (IOError, OSError):
        return ""


def diff_of(before, result):
    """One diff per file, before from the host, after from the installer; the other steps (download, unpack) as text."""
    diffs = []
    for f in result.get("files") or []:
        path = f["path"]
        diffs.append({
            "before_header": path,
            "after_header": path,
            "before": before.get(path, ""),
            "after": (f.get("content") or "") if f["change"] == "write" else "",
        })
    other = [a for a in result.get("actions", []) if not a.startswith(("write ", "remove "))]
    if other and result.get("changed"):
        diffs.append({"prepared": "".join("%s%s\n" % ("would " if result.get("dryRun") else "", a) for a in other)})
    return diffs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            service=dict(type="str", required=True),
            tag=dict(type="str"),
            state=dict(type="str", default="active", choices=["present", "active", "absent", "disabled"]),
            store=dict(type="str"),
            s3_endpoint=dict(type="str"),
            trusted_keys=dict(type="list", elements="path", default=[]),
            install_path=dict(type="path"),
            units=dict(type="list", elements="str", default=[]),
            health_check=dict(type="str"),
            health_timeout=dict(type="int", default=30),
            platform=dict(type="str"),
            root=dict(type="path", default="/"),
            binary=dict(type="path"),
        ),
        required_if=[("state", "present", ["tag"]), ("state", "active", ["tag"]), ("state", "absent", ["tag"])],
        supports_check_mode=True,
    )
    p = module.params

    binary = find_binary(module)
    before = {}
    if module._diff:
        # The host files as they are now, for the paths a dry run says the activation would touch.
        preview = run_installer(module, binary, dry_run=True)
        before = dict((f["path"], read_host_file(p["root"], f["path"])) for f in preview.get("files") or [])
        result = preview if module.check_mode else run_installer(module, binary, dry_run=False)
    else:
        result = run_installer(module, binary, dry_run=module.check_mode)

    output = dict(
        changed=bool(result.get("changed")),
        service=result.get("service", p["service"]),
        tag=result.get("tag"),
        active=result.get("active"),
        previous=result.get("previous"),
        actions=result.get("actions", []),
        files=[dict(path=f["path"], change=f["change"]) for f in result.get("files") or []],
    )
    if module._diff:
        output["diff"] = diff_of(before, result)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
