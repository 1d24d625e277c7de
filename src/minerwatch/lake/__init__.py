"""The chain as a Parquet lake, and the miner-cohort definitions as SQL that DuckDB and Spark both run.

export (blk files or node → Parquet parts) → layout (tables, schemas, manifest) → cohorts (the SQL,
run by duck.py on one machine or spark_job.py on a cluster). docs/lake.md has the schema.
"""
