"""Drives `cargo scf serve`'s control plane with Tencent's official Python SDK, the way a user's
deploy script would against SCF: create from a zip, wait for Active, invoke, update the code,
publish, alias, invoke through the alias. Prints one JSON object with what it saw.

usage: sdk_deploy.py HOST:PORT SECRET_ID SECRET_KEY ZIP_V1 ZIP_V2
"""
import base64
import json
import sys
import time

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.scf.v20180416 import models, scf_client

endpoint, secret_id, secret_key, zip_v1, zip_v2 = sys.argv[1:6]
profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=endpoint))
client = scf_client.ScfClient(credential.Credential(secret_id, secret_key), "ap-guangzhou", profile)
seen = {}


def request(model, **params):
    req = model()
    req.from_json_string(json.dumps(params))
    return req


def b64(path):
    return base64.b64encode(open(path, "rb").read()).decode()


def wait_active(name):
    statuses = []
    # Identical requests signed in the same second carry the same signature, which the server
    # takes once (replay protection): poll a little over once a second, as SDK waiters do.
    for _ in range(60):
        time.sleep(1.05)
        got = client.GetFunction(request(models.GetFunctionRequest, FunctionName=name))
        if not statuses or statuses[-1] != got.Status:
            statuses.append(got.Status)
        if got.Status == "Active":
            return statuses
        if got.Status.endswith("Failed"):
            raise SystemExit("function failed: %s %s" % (got.Status, got.StatusReasons))
    raise SystemExit("never Active: %s" % statuses)


def invoke(name, qualifier=None):
    params = dict(FunctionName=name, InvocationType="RequestResponse", ClientContext='{"from": "sdk"}')
    if qualifier:
        params["Qualifier"] = qualifier
    got = client.Invoke(request(models.InvokeRequest, **params))
    return json.loads(got.Result.RetMsg)


name = "sdk-fn"
client.CreateFunction(request(
    models.CreateFunctionRequest, FunctionName=name, Runtime="CustomRuntime", Type="Event",
    Handler="index.main_handler", MemorySize=128, Timeout=3,
    Code={"ZipFile": b64(zip_v1)},
    Environment={"Variables": [{"Key": "STAGE", "Value": "test"}]},
))
seen["create_statuses"] = wait_active(name)
seen["first"] = invoke(name)
client.UpdateFunctionCode(request(models.UpdateFunctionCodeRequest, FunctionName=name, ZipFile=b64(zip_v2)))
seen["update_statuses"] = wait_active(name)
seen["second"] = invoke(name)
published = client.PublishVersion(request(models.PublishVersionRequest, FunctionName=name, Description="sdk"))
seen["version"] = published.FunctionVersion
client.CreateAlias(request(models.CreateAliasRequest, FunctionName=name, Name="prod",
                           FunctionVersion=published.FunctionVersion))
seen["alias"] = client.GetAlias(request(models.GetAliasRequest, FunctionName=name, Name="prod")).FunctionVersion
seen["through_alias"] = invoke(name, "prod")
seen["listed"] = [f.FunctionName for f in client.ListFunctions(request(models.ListFunctionsRequest)).Functions]
print(json.dumps(seen))
