#!/usr/bin/env python3
"""Writes crates/sluice-protocol/model/sqs.json: the shapes of the SQS API that the wire layer needs.

The source is the pair of AWS service models (Apache-2.0) for SQS 2012-11-05: the AWS JSON 1.0 model is the
newer and decides which operations, members and shapes exist; the Query model adds the names each member and
list element takes in form requests and XML responses (locationName, flattened). Documentation is dropped.

usage: scripts/compact-model.py JSON_MODEL QUERY_MODEL > crates/sluice-protocol/model/sqs.json
"""
import json
import sys


def main():
    json_model = json.load(open(sys.argv[1]))
    query_model = json.load(open(sys.argv[2]))
    qshapes = query_model["shapes"]
    shapes = {}
    for name, shape in json_model["shapes"].items():
        q = qshapes.get(name, {})
        out = {"type": shape["type"]}
        if q.get("flattened", shape.get("flattened")):
            out["flattened"] = True
        if "locationName" in q:
            out["locationName"] = q["locationName"]
        if shape["type"] == "structure":
            qmembers = q.get("members", {})
            members = []
            for mname, ref in shape.get("members", {}).items():
                qref = qmembers.get(mname, {})
                member = {"name": mname, "shape": ref["shape"]}
                if "locationName" in qref:
                    member["locationName"] = qref["locationName"]
                if qref.get("flattened", ref.get("flattened")):
                    member["flattened"] = True
                members.append(member)
            out["members"] = members
            if shape.get("required"):
                out["required"] = shape["required"]
        elif shape["type"] == "list":
            out["member"] = {"shape": shape["member"]["shape"]}
            if "locationName" in q.get("member", {}):
                out["member"]["locationName"] = q["member"]["locationName"]
        elif shape["type"] == "map":
            for part in ("key", "value"):
                out[part] = {"shape": shape[part]["shape"]}
                if "locationName" in q.get(part, {}):
                    out[part]["locationName"] = q[part]["locationName"]
        shapes[name] = out
    operations = {}
    for name, op in json_model["operations"].items():
        entry = {"input": op["input"]["shape"]}
        if "output" in op:
            entry["output"] = op["output"]["shape"]
        operations[name] = entry
    json.dump({"source": "AWS service models sqs-2012-11-05 (json and query), Apache-2.0",
               "operations": operations, "shapes": shapes}, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
