"""A small Spark job (local mode), a Dask bag and a Ray Data pipeline (a local Ray cluster on
127.0.0.1), each piping recordings through `talktrace analyze --jsonl` the way users plug
TalkTrace into those engines.

usage: spark_job.py TALKTRACE SCHEMA.json RECORDINGS_DIR

Spark: RDD.pipe sends each partition's paths to one `talktrace analyze --jsonl` process and
reads its lines back; spark.read.json reads them with a Spark schema generated from TalkTrace's
JSON Schema, in FAILFAST mode (a line that does not fit fails the job). Dask: the same through
dask.bag.map_partitions and subprocess. Ray: Dataset.map_batches, one `talktrace analyze --jsonl`
process per batch of paths, in Ray's worker processes. Checks: one row per recording, errors as rows, the
figures equal `talktrace analyze --json` of the same file, every line valid against the JSON
Schema with floats as floats.
"""
import json
import os
import subprocess
import sys

talktrace, schema_path, recdir = sys.argv[1:4]
schema = json.load(open(schema_path))
defs = schema["$defs"]

paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(recdir) for f in fs if f.lower().endswith(".wav"))
assert len(paths) == 50, f"expected 50 recordings, found {len(paths)}"


def validate_lines(lines, label):
    import jsonschema
    from jsonschema import Draft202012Validator
    checker = Draft202012Validator.TYPE_CHECKER.redefine("number", lambda c, x: isinstance(x, float))
    V = jsonschema.validators.extend(Draft202012Validator, type_checker=checker)
    v = V({"$ref": "#/$defs/AnalysisLine", "$defs": defs})
    for i, line in enumerate(lines, 1):
        err = jsonschema.exceptions.best_match(v.iter_errors(json.loads(line)))
        assert err is None, f"{label}: line {i}: {err.message[:200]} at {list(err.absolute_path)}"


# The reference: the same paths through one `talktrace analyze --jsonl` with no engine between.
reference_lines = subprocess.run([talktrace, "analyze", "--jsonl"], input="".join(p + "\n" for p in paths).encode(),
                                 capture_output=True, check=True).stdout.decode().splitlines()
assert len(reference_lines) == 50
reference = {json.loads(l)["Path"]: json.loads(l) for l in reference_lines}


def without_nulls(x):
    """Spark's toJSON leaves out null members: compare without them."""
    if isinstance(x, dict):
        return {k: without_nulls(v) for k, v in x.items() if v is not None}
    if isinstance(x, list):
        return [without_nulls(v) for v in x]
    return x


def check_rows(rows, label):
    by_path = {r["Path"]: r for r in rows}
    assert len(rows) == 50 and set(by_path) == set(paths), f"{label}: {len(rows)} rows for 50 recordings"
    errors = [r for r in rows if r.get("Error") is not None]
    assert any(r["Path"].endswith("zz-damaged.wav") for r in errors), f"{label}: the damaged file is not an error row"
    assert all(r.get("Analysis") is None for r in errors)
    for p in paths:
        assert without_nulls(by_path[p]) == without_nulls(reference[p]), f"{label}: {p} differs from talktrace analyze --jsonl"
    # And the figures equal talktrace analyze --json of one file.
    sample = sorted(p for p in paths if reference[p]["Error"] is None)[7]
    ref = json.loads(subprocess.run([talktrace, "analyze", sample, "--json"], check=True, capture_output=True).stdout)
    got = by_path[sample]["Analysis"]
    for who in ("Agent", "Customer"):
        assert got[who]["TalkSeconds"] == ref[who]["TalkSeconds"], (label, who)
        assert [list(s) for s in got[who]["Segments"]] == ref[who]["Segments"], (label, who)
    return 50 - len(errors), len(errors)


# --- Spark ---------------------------------------------------------------------------------
from pyspark.sql import SparkSession
from pyspark.sql import types as T


def spark_type(node):
    if "$ref" in node:
        return spark_type(defs[node["$ref"].split("/")[-1]])
    if "anyOf" in node:
        rest = [n for n in node["anyOf"] if n.get("type") != "null"]
        return spark_type(rest[0])
    if "enum" in node:
        return T.StringType()
    t = node.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"][0]
    if t == "number":
        return T.DoubleType()
    if t == "integer":
        return T.LongType()
    if t == "boolean":
        return T.BooleanType()
    if t == "string":
        return T.StringType()
    if t == "array":
        item = node.get("items") or node["prefixItems"][0]
        return T.ArrayType(spark_type(item))
    if t == "object":
        props = node.get("properties", {})
        return T.StructType([T.StructField(k, spark_type(v), True) for k, v in props.items()])
    raise ValueError(f"no Spark type for {node}")


spark = (SparkSession.builder.master("local[2]").appName("talktrace-pipe")
         .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
sc = spark.sparkContext
lines_rdd = sc.parallelize(paths, 4).pipe(f"{talktrace} analyze --jsonl")
lines = lines_rdd.collect()
assert len(lines) == 50, f"spark: {len(lines)} lines for 50 recordings"
validate_lines(lines, "spark")
schema_type = spark_type(defs["AnalysisLine"])
df = spark.read.schema(schema_type).option("mode", "FAILFAST").json(sc.parallelize(lines))
assert df.count() == 50
rows = [json.loads(r) for r in df.toJSON(use_unicode=True).collect()]
n, failed = check_rows(rows, "spark")
talk = df.selectExpr("sum(Analysis.Agent.TalkSeconds) as a").collect()[0]["a"]
print(f"spark: OK: {df.count()} rows ({n} analyzed, {failed} error rows) through RDD.pipe into a DataFrame with the schema's types, equal to analyze --jsonl without Spark; agent talk {talk:.1f} s in all")
spark.stop()

# --- Dask ----------------------------------------------------------------------------------
try:
    import dask.bag as db
except ImportError:
    print("dask: not installed in this environment: skipped")
    sys.exit(0)


def pipe(partition):
    paths_in = "".join(p + "\n" for p in partition)
    out = subprocess.run([talktrace, "analyze", "--jsonl"], input=paths_in.encode(), capture_output=True, check=True).stdout
    return out.decode().splitlines()


dask_lines = db.from_sequence(paths, npartitions=4).map_partitions(pipe).compute(scheduler="threads", num_workers=2)  # the work is in the talktrace processes
assert len(dask_lines) == 50
validate_lines(dask_lines, "dask")
n, failed = check_rows([json.loads(l) for l in dask_lines], "dask")
print(f"dask: OK: {len(dask_lines)} rows ({n} analyzed, {failed} error rows) through bag.map_partitions")

# --- Ray Data ------------------------------------------------------------------------------
try:
    import ray
    import ray.data
except ImportError:
    print("ray: not installed in this environment: skipped")
    sys.exit(0)
import logging

# Its session files beside the recordings, so the caller's temporary directory takes them away.
ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
         logging_level=logging.WARNING, _temp_dir=os.path.join(os.path.dirname(os.path.abspath(recdir)), "ray"))
ray.data.DataContext.get_current().enable_progress_bars = False
logging.getLogger("ray.data").setLevel(logging.WARNING)


def pipe_batch(batch):
    """One `talktrace analyze --jsonl` process per batch (Dask's `pipe`): one line per path."""
    return {"line": pipe(str(p) for p in batch["path"])}


try:
    ds = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=4)
    ray_lines = [r["line"] for r in ds.map_batches(pipe_batch, batch_size=13, batch_format="numpy").take_all()]
finally:
    ray.shutdown()
assert len(ray_lines) == 50, f"ray: {len(ray_lines)} lines for 50 recordings"
validate_lines(ray_lines, "ray")
n, failed = check_rows([json.loads(l) for l in ray_lines], "ray")
print(f"ray: OK: {len(ray_lines)} rows ({n} analyzed, {failed} error rows) through Dataset.map_batches on a local Ray cluster")
