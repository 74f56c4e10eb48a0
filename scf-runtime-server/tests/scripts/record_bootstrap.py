#!/usr/bin/env python3
"""A bootstrap for the async tests: records every event it runs, then answers.

Each event's line `<request id> <event JSON>` is appended to $RECORD_FILE (one write, O_APPEND,
so lines from several instances never interleave) before the result is posted: a delivery that
the host did not see finish is recorded anyway, which is how duplicates after a crash show up.

Event keys:
  "fail": text    post text to /runtime/invocation/error (a function error, 430)
  "sleep": s      sleep s seconds first
"""
import http.client
import json
import os
import time

HOST = os.environ["SCF_RUNTIME_API"]
PORT = int(os.environ["SCF_RUNTIME_API_PORT"])
RECORD = os.open(os.environ["RECORD_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
conn = http.client.HTTPConnection(HOST, PORT)


def call(method, path, body=None):
    global conn
    for attempt in range(2):
        try:
            conn.request(method, path, body=body)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        except (ConnectionError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(HOST, PORT)
            if attempt == 1:
                raise


call("POST", "/runtime/init/ready", b" ")
while True:
    status, headers, raw = call("GET", "/runtime/invocation/next")
    if status != 200:
        raise SystemExit(0)
    request_id = headers.get("request_id", "")
    event = json.loads(raw)
    if "sleep" in event:
        time.sleep(event["sleep"])
    os.write(RECORD, ("%s %s\n" % (request_id, json.dumps(event, separators=(",", ":")))).encode())
    if "fail" in event:
        call("POST", "/runtime/invocation/error", str(event["fail"]).encode())
    else:
        call("POST", "/runtime/invocation/response", b'{"ok":true}')
