#!/usr/bin/env python3
"""A web function for the trigger tests: serves HTTP on 0.0.0.0:$PORT.

Every request is held for SLEEP_MS (default 300) and answered with JSON naming this process, how
many requests it was serving at once (the most seen while this one ran), the X-Scf-* headers it
received and the request's method, path and body length.
"""
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
IN_FLIGHT = 0
SLEEP = int(os.environ.get("SLEEP_MS", "300")) / 1000.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        global IN_FLIGHT
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        with LOCK:
            IN_FLIGHT += 1
            peak = IN_FLIGHT
        time.sleep(SLEEP)
        with LOCK:
            peak = max(peak, IN_FLIGHT)
            IN_FLIGHT -= 1
        answer = json.dumps({
            # As the server sees it (in a sandbox os.getpid() is 1).
            "pid": int(os.readlink("/proc/self")),
            "concurrent": peak,
            "scf": {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-scf-")},
            "method": self.command,
            "path": self.path,
            "body_len": len(body),
            "port": os.environ.get("PORT"),
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = handle_any
    do_POST = handle_any

    def log_message(self, fmt, *args):
        print("request", fmt % args, flush=True)


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "9000"))), Handler).serve_forever()
