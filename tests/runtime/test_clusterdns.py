"""Cluster-local names resolve to the plane's ingress inside a replica."""

from __future__ import annotations

import socket
import subprocess
import sys


def test_cluster_local_names_resolve_to_the_ingress_in_a_replica_process() -> None:
    code = ("import socket\nfrom jupyter_knative.runtime import clusterdns\n"
            "assert clusterdns.install('http://127.0.0.1:18080')\n"
            "for host in ('hello.default.svc.cluster.local', 'broker-ingress.knative-eventing.svc', b'x.y.svc'):\n"
            "    print(socket.getaddrinfo(host, 80, proto=socket.IPPROTO_TCP)[0][4])\n"
            "print(socket.getaddrinfo('localhost', 80, proto=socket.IPPROTO_TCP)[0][4][1])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:3] == ["('127.0.0.1', 18080)"] * 3
    assert out[3] == "80"  # other names are left alone


def test_nothing_installed_without_an_ingress() -> None:
    code = ("import os\nos.environ.pop('JUPYTER_KNATIVE_INGRESS', None)\n"
            "from jupyter_knative.runtime import clusterdns\nprint(clusterdns.install())")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
    assert socket.getaddrinfo.__module__ == "_socket" or callable(socket.getaddrinfo)
