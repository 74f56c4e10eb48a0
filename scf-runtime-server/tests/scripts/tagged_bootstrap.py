#!/usr/bin/env python3
"""A deployable bootstrap for the control-plane tests: answers every event with the code's tag
(tag.txt beside it, else BUILTIN_TAG), the version it runs as, its handler and the event.

INIT_SLEEP (seconds, from tag.txt's second line) delays ready, so a rollout stays Updating a
while; a first line of "crash" exits before ready.
"""
import http.client
import json
import os
import sys
import time

BUILTIN_TAG = "builtin"  # the tag when there is no tag.txt (tests rewrite this line)
HERE = os.path.dirname(os.path.abspath(__file__))
TAG_FILE = os.path.join(HERE, "tag.txt")
lines = open(TAG_FILE).read().split("\n") if os.path.exists(TAG_FILE) else [BUILTIN_TAG]
TAG = lines[0]
if TAG == "crash":
    print("tagged bootstrap: refusing to start", flush=True)
    sys.exit(3)
if len(lines) > 1 and lines[1].strip():
    time.sleep(float(lines[1]))

HOST = os.environ["SCF_RUNTIME_API"]
PORT = int(os.environ["SCF_RUNTIME_API_PORT"])


def call(method, path, body=None):
    conn = http.client.HTTPConnection(HOST, PORT)
    conn.request(method, path, body=body)
    response = conn.getresponse()
    data = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return headers, data


call("POST", "/runtime/init/ready", " ")
while True:
    headers, event = call("GET", "/runtime/invocation/next")
    answer = {
        "tag": TAG,
        "version": os.environ.get("SCF_FUNCTIONVERSION"),
        "handler": os.environ.get("_HANDLER"),
        "event": json.loads(event or b"{}"),
    }
    print("tagged", TAG, flush=True)
    call("POST", "/runtime/invocation/response", json.dumps(answer).encode())
