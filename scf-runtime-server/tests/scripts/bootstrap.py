#!/usr/bin/env python3
"""A bootstrap for the host tests, speaking SCF's runtime API with a new connection per request.

Init, from the environment:
  INIT=crash  prints a line and exits 3 before ready      INIT=hang  never calls ready
  otherwise   prints "init pid=<pid>" and calls ready

<pid> is the process id as the server sees it: in a sandbox the bootstrap is PID 1 of its own PID
namespace, and /proc (the host's) still names it by the server's number.

Each event is a JSON object; without any of these keys the event is answered unchanged:
  "print": [..]        print each line (stdout), then "to stderr" on stderr
  "sleep": s           sleep s seconds before answering
  "exit": n            exit with status n instead of answering
  "alloc_mb": n        allocate and touch n MB, then sleep "hold" seconds, then answer
  "error": text        post text to /runtime/invocation/error
  "twice": path        answer, answer again, write the second post's HTTP status to path
  "late": path         fork a helper in its own session that posts a result after "after"
                       seconds (past the timeout) and writes the HTTP status (or the error) to
                       path; the instance itself never answers
  "pid": true          answer {"pid": <pid>}
  "env": true          answer the whole environment as a JSON object
  "big": n             answer n bytes of 'x'
"""
import http.client
import json
import os
import sys
import time

PID = int(os.readlink("/proc/self"))
HOST = os.environ["SCF_RUNTIME_API"]
PORT = int(os.environ["SCF_RUNTIME_API_PORT"])


def call(method, path, body=None):
    conn = http.client.HTTPConnection(HOST, PORT)
    conn.request(method, path, body=body)
    response = conn.getresponse()
    data = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, headers, data


init = os.environ.get("INIT", "")
if init == "crash":
    print("init failed: no config", file=sys.stderr, flush=True)
    sys.exit(3)
print("init pid=%d" % PID, flush=True)
if init == "hang":
    while True:
        time.sleep(60)
call("POST", "/runtime/init/ready", b" ")

while True:
    status, headers, raw = call("GET", "/runtime/invocation/next")
    if status != 200:
        sys.exit(0)
    request_id = headers.get("request_id", "")
    try:
        event = json.loads(raw)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        call("POST", "/runtime/invocation/response", raw)
        continue
    for line in event.get("print", []):
        print(line, flush=True)
    if event.get("print"):
        print("to stderr", file=sys.stderr, flush=True)
    if "sleep" in event:
        time.sleep(event["sleep"])
    if "exit" in event:
        sys.exit(event["exit"])
    if "alloc_mb" in event:
        hog = b"x" * (event["alloc_mb"] * 1024 * 1024)
        time.sleep(event.get("hold", 1))
        del hog
    if "error" in event:
        call("POST", "/runtime/invocation/error", event["error"].encode())
    elif "twice" in event:
        call("POST", "/runtime/invocation/response", b'"first"')
        second, _, body = call("POST", "/runtime/invocation/response", b'"second"')
        with open(event["twice"], "w") as out:
            out.write("%d %s" % (second, body.decode()))
    elif "late" in event:
        if os.fork() == 0:
            os.setsid()
            time.sleep(event.get("after", 1.5))
            try:
                late, _, body = call("POST", "/runtime/invocation/response", b'"late"')
                result = "%d %s" % (late, body.decode())
            except OSError as e:
                result = "error %s" % e
            with open(event["late"], "w") as out:
                out.write(result)
            os._exit(0)
        while True:
            time.sleep(60)
    elif event.get("pid"):
        call("POST", "/runtime/invocation/response", json.dumps({"pid": PID, "request_id": request_id}).encode())
    elif event.get("env"):
        call("POST", "/runtime/invocation/response", json.dumps(dict(os.environ)).encode())
    elif "big" in event:
        status, _, _ = call("POST", "/runtime/invocation/response", b"x" * event["big"])
    else:
        call("POST", "/runtime/invocation/response", raw)
