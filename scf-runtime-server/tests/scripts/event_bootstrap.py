#!/usr/bin/env python3
"""An event function for the trigger tests, speaking SCF's runtime API with a new connection per
request (as the official bash sample does).

MODE=junk    answers every event with text that is not an integrated response.
MODE=record  appends each event, one JSON line, to the file named by OUT, and answers {}.
MODE=reflect answers with an integrated response whose JSON body is the event it received.
"""
import json
import os
import urllib.request

BASE = "http://%s:%s" % (os.environ["SCF_RUNTIME_API"], os.environ["SCF_RUNTIME_API_PORT"])
MODE = os.environ.get("MODE", "junk")


def post(path, body):
    request = urllib.request.Request(BASE + path, data=body, method="POST")
    urllib.request.urlopen(request).read()


post("/runtime/init/ready", b" ")
while True:
    with urllib.request.urlopen(BASE + "/runtime/invocation/next") as response:
        event = response.read()
    if MODE == "record":
        with open(os.environ["OUT"], "a") as out:
            out.write(json.dumps(json.loads(event)) + "\n")
        print("recorded", event.decode(), flush=True)
        post("/runtime/invocation/response", b"{}")
    elif MODE == "reflect":
        reply = {
            "isBase64Encoded": False,
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": event.decode(),
        }
        post("/runtime/invocation/response", json.dumps(reply).encode())
    else:
        post("/runtime/invocation/response", b"this is not an integrated response")
