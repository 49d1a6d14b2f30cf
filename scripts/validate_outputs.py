#!/usr/bin/env python3
"""Validate TalkTrace outputs against the published schema (talktrace schema).

usage: validate_outputs.py SCHEMA.json DEF=FILE [DEF=FILE ...]

DEF is a definition of the schema ($defs), e.g. RecordingLine=out/recordings.jsonl.
A .jsonl file is validated line by line (every line, none may be empty), anything else as one
JSON document. "number" is read strictly: a float in the text (12.0), never an integer (12),
because engines that infer column types from the data (Spark, Glue crawlers) would make such a
column an integer. Prints one line per file (lines validated) and exits 1 at the first invalid
line, naming the file, the line and the member.
"""
import json
import sys

import jsonschema
from jsonschema import Draft202012Validator


def strict_number(checker, instance):
    return isinstance(instance, float)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    checker = Draft202012Validator.TYPE_CHECKER.redefine("number", strict_number)
    Validator = jsonschema.validators.extend(Draft202012Validator, type_checker=checker)
    Validator.check_schema(schema)
    total = 0
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        sub = {"$ref": "#/$defs/" + name, "$defs": schema["$defs"]}
        validator = Validator(sub)
        with open(path) as f:
            text = f.read()
        docs = []
        if path.endswith(".jsonl"):
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            for i, line in enumerate(lines, 1):
                if not line.strip():
                    print(f"{path}: line {i}: empty line", file=sys.stderr)
                    return 1
                docs.append((i, line))
        else:
            docs.append((1, text))
        for i, line in docs:
            try:
                doc = json.loads(line)
            except ValueError as e:
                print(f"{path}: line {i}: not JSON ({e})", file=sys.stderr)
                return 1
            error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path)
                print(f"{path}: line {i}: {name} at {where or '(top)'}: {error.message[:300]}", file=sys.stderr)
                return 1
        total += len(docs)
        print(f"{path}: {len(docs)} valid {name}")
    print(f"{total} documents valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
