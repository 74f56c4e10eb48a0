#!/usr/bin/env python3
"""A minimal SCF event bootstrap for the `cargo scf dev` test: answers {"version": VERSION}.

The test edits VERSION and checks that the hosted function picks the edit up.
"""
import http.client
import json
import os

VERSION = 1

HOST = os.environ["SCF_RUNTIME_API"]
PORT = int(os.environ["SCF_RUNTIME_API_PORT"])


def call(method, path, body=None):
    conn = http.client.HTTPConnection(HOST, PORT)
    conn.request(method, path, body=body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return data


call("POST", "/runtime/init/ready", b"{}")
while True:
    call("GET", "/runtime/invocation/next")
    call("POST", "/runtime/invocation/response", json.dumps({"version": VERSION}).encode())
