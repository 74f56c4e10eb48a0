#!/usr/bin/env python3
"""A bootstrap for the sandbox tests, speaking SCF's runtime API.

Each event is a JSON object:
  "fds": true        answer the targets of every descriptor in /proc/self/fd
  "sleep_child": m   start `sleep 1000 m` (m a unique number: sleep adds it up), answer "started"
  "steal": s         for s seconds, scan /proc/net/tcp for loopback listeners and try each one but
                     this instance's own runtime API as a runtime API: take the next invocation,
                     answer it with a forged result. Answers {"seen": [ports], "tried": n,
                     "stolen": n, "forged": n}
anything else      answered unchanged
"""
import http.client
import json
import os
import subprocess
import time

HOST = os.environ["SCF_RUNTIME_API"]
PORT = int(os.environ["SCF_RUNTIME_API_PORT"])


def call(method, path, body=None, port=PORT, timeout=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    conn.request(method, path, body=body)
    response = conn.getresponse()
    data = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, headers, data


def loopback_listeners():
    ports = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port = fields[1].rsplit(":", 1)
            loopback = address in ("0100007F", "00000000000000000000000001000000")
            if fields[3] == "0A" and loopback:  # 0A: LISTEN
                ports.add(int(port, 16))
    return sorted(ports)


def steal(seconds):
    seen, tried, stolen, forged = set(), 0, 0, 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        ports = loopback_listeners()
        seen.update(ports)
        for port in ports:
            if port == PORT:
                continue
            tried += 1
            try:
                status, headers, _ = call("GET", "/runtime/invocation/next", port=port, timeout=0.3)
                if status == 200 and headers.get("request_id"):
                    stolen += 1
                    status, _, _ = call("POST", "/runtime/invocation/response", b'"forged"',
                                        port=port, timeout=0.3)
                    if status == 200:
                        forged += 1
            except (OSError, http.client.HTTPException):
                pass
        time.sleep(0.05)
    return {"seen": sorted(seen), "tried": tried, "stolen": stolen, "forged": forged}


call("POST", "/runtime/init/ready", b" ")
while True:
    status, headers, raw = call("GET", "/runtime/invocation/next")
    if status != 200:
        raise SystemExit(0)
    event = json.loads(raw)
    if event.get("fds"):
        targets = []
        for fd in sorted(os.listdir("/proc/self/fd"), key=int):
            try:
                targets.append(os.readlink("/proc/self/fd/" + fd))
            except OSError:
                pass
        answer = json.dumps(targets).encode()
    elif "sleep_child" in event:
        subprocess.Popen(["sleep", "1000", str(event["sleep_child"])])
        answer = b'"started"'
    elif "steal" in event:
        answer = json.dumps(steal(event["steal"])).encode()
    else:
        answer = raw
    call("POST", "/runtime/invocation/response", answer)
